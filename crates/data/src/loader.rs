//! [`Loader`]: the Siamese-pair scheduler. Worker threads shuffle (seeded, per epoch), cut drop-last
//! batches, copy the raw samples and draw both views' augmentation parameters, ahead of the trainer, into
//! bounded queues (a full queue blocks the workers: back-pressure, not memory growth). Batch `g` depends
//! only on the seed and `g`, so the stream is the same whatever the thread timing, and a run resumes
//! mid-epoch from a [`Position`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use tandem_kernels::augment::PARAMS_PER_SAMPLE;

use crate::augment::Augmentation;
use crate::dataset::{Dataset, Layout};
use crate::error::{DataError, Result};

/// Where the stream stands: the next batch to deliver.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    /// Epoch, from 0.
    pub epoch: u64,
    /// Batch within the epoch, from 0.
    pub batch: u64,
}

/// How to batch and feed.
#[derive(Clone, Debug)]
pub struct LoaderConfig {
    /// Pairs per batch.
    pub batch: usize,
    /// Seed of the shuffle and the augmentation draws.
    pub seed: u64,
    /// Shuffle each epoch (otherwise dataset order).
    pub shuffle: bool,
    /// Worker threads.
    pub workers: usize,
    /// Batches each worker may hold ready.
    pub prefetch: usize,
    /// The views to draw.
    pub augment: Augmentation,
    /// Converts the policies' noise (in data standard deviations) into device units.
    pub noise_scale: f32,
}

/// One batch ready for upload.
pub struct HostBatch {
    /// Its place in the stream.
    pub position: Position,
    /// Dataset indices of its samples (empty for batches an application supplies).
    pub indices: Vec<u32>,
    /// Their labels, if the dataset has labels.
    pub labels: Option<Vec<u32>>,
    /// The raw samples back to back, padded with zeros to a multiple of four bytes.
    pub raw: Vec<u8>,
    /// Per-sample parameter rows of view 1 and view 2.
    pub params: [Vec<f32>; 2],
}

/// The scheduler; dropping it stops its workers.
pub struct Loader {
    receivers: Vec<Receiver<HostBatch>>,
    workers: Vec<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    delivered: u64,
    start: u64,
    per_epoch: u64,
    waited: Duration,
}

/// A seed mixed from several numbers (SplitMix64 finaliser over each).
pub fn mix_seed(parts: &[u64]) -> u64 {
    parts.iter().fold(0x853c_49e6_748f_ea9b, |acc, &p| {
        let mut z = acc ^ p.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    })
}

/// The order of epoch `epoch`'s samples.
pub fn epoch_order(seed: u64, epoch: u64, n: usize, shuffle: bool) -> Vec<u32> {
    let mut order: Vec<u32> = (0..n as u32).collect();
    if shuffle {
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(mix_seed(&[seed, epoch, 1])));
    }
    order
}

/// Both views' parameter rows for `n` samples of `layout`, from a generator seeded with `seed`.
pub fn draw_params(augment: &Augmentation, seed: u64, n: usize, layout: Layout, noise_scale: f32) -> [Vec<f32>; 2] {
    let (w, h) = match layout {
        Layout::Image { h, w, .. } => (w, h),
        Layout::Vector { d } => (d, 1),
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut params = [Vec::with_capacity(n * PARAMS_PER_SAMPLE), Vec::with_capacity(n * PARAMS_PER_SAMPLE)];
    for _ in 0..n {
        let [v1, v2] = augment.draw(&mut rng, w, h, noise_scale);
        params[0].extend_from_slice(&v1.to_row());
        params[1].extend_from_slice(&v2.to_row());
    }
    params
}

impl Loader {
    /// Starts the workers at `start`. Fails when the batch does not fit the dataset.
    pub fn new(dataset: Arc<dyn Dataset>, config: LoaderConfig, start: Position) -> Result<Self> {
        let n = dataset.len();
        if config.batch == 0 || config.batch > n {
            return Err(DataError::Config(format!(
                "batch_size = {}: does not fit {} ({n} samples; batches drop the remainder)",
                config.batch,
                dataset.source().display()
            )));
        }
        let per_epoch = (n / config.batch) as u64;
        let workers_n = config.workers.max(1);
        let stop = Arc::new(AtomicBool::new(false));
        let start_g = start.epoch * per_epoch + start.batch;
        let config = Arc::new(config);
        let mut receivers = Vec::with_capacity(workers_n);
        let mut workers = Vec::with_capacity(workers_n);
        for w in 0..workers_n {
            let (tx, rx) = sync_channel(config.prefetch.max(1));
            receivers.push(rx);
            let (dataset, config, stop) = (dataset.clone(), config.clone(), stop.clone());
            let job =
                Worker { dataset, config, stop, tx, first: start_g + w as u64, stride: workers_n as u64, per_epoch };
            let handle = std::thread::Builder::new()
                .name(format!("tandem-loader-{w}"))
                .spawn(move || job.run())
                .map_err(|e| DataError::Config(format!("cannot start a loader thread: {e}")))?;
            workers.push(handle);
        }
        Ok(Self { receivers, workers, stop, delivered: 0, start: start_g, per_epoch, waited: Duration::ZERO })
    }

    /// Batches per epoch (drop-last).
    pub fn batches_per_epoch(&self) -> u64 {
        self.per_epoch
    }

    /// The position of the next batch [`Loader::next`] returns.
    pub fn position(&self) -> Position {
        let g = self.start + self.delivered;
        Position { epoch: g / self.per_epoch, batch: g % self.per_epoch }
    }

    /// The next batch, waiting for the workers if none is ready (the wait is added to
    /// [`Loader::take_wait`]).
    pub fn next_batch(&mut self) -> Result<HostBatch> {
        let rx = &self.receivers[(self.delivered % self.receivers.len() as u64) as usize];
        let t = Instant::now();
        let batch = rx.recv().map_err(|_| DataError::Config("a loader worker stopped unexpectedly".into()))?;
        self.waited += t.elapsed();
        self.delivered += 1;
        Ok(batch)
    }

    /// Time spent waiting for data since the last call.
    pub fn take_wait(&mut self) -> Duration {
        std::mem::take(&mut self.waited)
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.receivers.clear();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

struct Worker {
    dataset: Arc<dyn Dataset>,
    config: Arc<LoaderConfig>,
    stop: Arc<AtomicBool>,
    tx: SyncSender<HostBatch>,
    first: u64,
    stride: u64,
    per_epoch: u64,
}

impl Worker {
    fn run(self) {
        let mut order: Option<(u64, Vec<u32>)> = None;
        let mut g = self.first;
        while !self.stop.load(Ordering::Relaxed) {
            let (epoch, b) = (g / self.per_epoch, g % self.per_epoch);
            if order.as_ref().is_none_or(|(e, _)| *e != epoch) {
                order = Some((epoch, epoch_order(self.config.seed, epoch, self.dataset.len(), self.config.shuffle)));
            }
            let perm = &order.as_ref().unwrap().1;
            let bs = self.config.batch;
            let indices = perm[b as usize * bs..(b as usize + 1) * bs].to_vec();
            let batch = self.pack(Position { epoch, batch: b }, g, indices);
            if self.tx.send(batch).is_err() {
                return;
            }
            g += self.stride;
        }
    }

    fn pack(&self, position: Position, g: u64, indices: Vec<u32>) -> HostBatch {
        let ds = &*self.dataset;
        let sample_bytes = ds.layout().values() * ds.pixels().bytes();
        let mut raw = vec![0u8; (indices.len() * sample_bytes).next_multiple_of(4)];
        for (k, &i) in indices.iter().enumerate() {
            ds.copy_sample(i as usize, &mut raw[k * sample_bytes..(k + 1) * sample_bytes]);
        }
        let labels = ds.labels().map(|l| indices.iter().map(|&i| l[i as usize]).collect());
        let params = draw_params(
            &self.config.augment,
            mix_seed(&[self.config.seed, g, 2]),
            indices.len(),
            ds.layout(),
            self.config.noise_scale,
        );
        HostBatch { position, indices, labels, raw, params }
    }
}
