//! The pair loader: seeded and thread-independent, drop-last epochs, resume from a position, bounded
//! read-ahead; and the device views of a loaded batch against the reference.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tandem::data::{
    Augmentation, ChannelStats, Dataset, DeviceViews, Layout, Loader, LoaderConfig, Pixels, Position, open,
};
use tandem::gpu::Recorder;
use tandem::reference::augment::{Image, view};

use crate::common::*;

fn config(ds: &dyn Dataset, preset: &str, batch: usize, workers: usize) -> LoaderConfig {
    LoaderConfig {
        batch,
        seed: 7,
        shuffle: true,
        workers,
        prefetch: 2,
        augment: Augmentation::preset(preset, ds.layout()).unwrap(),
        noise_scale: 1.0,
    }
}

fn builtin(n: usize) -> Arc<dyn Dataset> {
    open(&format!("builtin:train:{n}"), None, &Default::default()).unwrap().dataset
}

/// Position, indices, raw bytes and the parameter rows as bits (a seed field can be a NaN pattern).
type Fingerprint = (Position, Vec<u32>, Vec<u8>, Vec<u32>);

fn stream(ds: &Arc<dyn Dataset>, cfg: LoaderConfig, start: Position, count: usize) -> Vec<Fingerprint> {
    let mut loader = Loader::new(ds.clone(), cfg, start).unwrap();
    (0..count)
        .map(|_| {
            let b = loader.next_batch().unwrap();
            let bits = b.params.iter().flatten().map(|v| v.to_bits()).collect();
            (b.position, b.indices, b.raw, bits)
        })
        .collect()
}

#[test]
fn stream_is_seeded_thread_independent_and_resumable() {
    let ds = builtin(103);
    let one = stream(&ds, config(&*ds, "simclr", 10, 1), Position::default(), 25);
    let three = stream(&ds, config(&*ds, "simclr", 10, 3), Position::default(), 25);
    assert!(one == three, "the stream depends on the number of workers");
    let resumed = stream(&ds, config(&*ds, "simclr", 10, 2), Position { epoch: 1, batch: 3 }, 12);
    assert!(resumed[..] == one[13..], "resuming at epoch 1 batch 3 differs from the uninterrupted stream");
    let mut other = config(&*ds, "simclr", 10, 1);
    other.seed = 8;
    assert!(stream(&ds, other, Position::default(), 1)[0].1 != one[0].1);
    // Drop-last epochs of 10 batches: each sample at most once per epoch, a new order each epoch.
    for epoch in 0..2 {
        let mut seen: Vec<u32> = one[epoch * 10..(epoch + 1) * 10].iter().flat_map(|b| b.1.clone()).collect();
        assert_eq!(one[epoch * 10].0, Position { epoch: epoch as u64, batch: 0 });
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 100);
    }
    assert_ne!(one[0].1, one[10].1);
}

#[test]
fn batch_larger_than_the_dataset_is_refused() {
    let ds = builtin(5);
    let e = Loader::new(ds.clone(), config(&*ds, "none", 6, 1), Position::default()).err().unwrap();
    assert!(e.to_string().contains("batch_size = 6"), "{e}");
}

/// Counts sample reads, to see how far the workers run ahead.
struct Counting(Arc<dyn Dataset>, AtomicUsize);

impl Dataset for Counting {
    fn source(&self) -> &std::path::Path {
        self.0.source()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn layout(&self) -> Layout {
        self.0.layout()
    }
    fn pixels(&self) -> Pixels {
        self.0.pixels()
    }
    fn labels(&self) -> Option<&[u32]> {
        self.0.labels()
    }
    fn copy_sample(&self, i: usize, out: &mut [u8]) {
        self.1.fetch_add(1, Ordering::Relaxed);
        self.0.copy_sample(i, out)
    }
}

#[test]
fn workers_stop_reading_ahead_when_the_queue_is_full() {
    let counting = Arc::new(Counting(builtin(200), AtomicUsize::new(0)));
    let ds: Arc<dyn Dataset> = counting.clone();
    let mut loader = Loader::new(ds.clone(), config(&*ds, "none", 4, 2), Position::default()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    // Each worker holds at most `prefetch` queued batches plus the one it is blocked sending.
    let bound = 2 * (2 + 1) * 4;
    let read = counting.1.load(Ordering::Relaxed);
    assert!(read <= bound, "workers read {read} samples ahead (bound {bound})");
    loader.next_batch().unwrap();
    assert!(read > 0);
}

#[test]
fn device_views_of_a_loaded_batch_match_the_reference() {
    let ds = builtin(40);
    let cfg = config(&*ds, "byol", 6, 1);
    let mut aug = cfg.augment.clone();
    aug.views.iter_mut().for_each(|v| v.blur_p = 0.5); // exercise blur on these small images too
    let cfg = LoaderConfig { augment: aug.clone(), ..cfg };
    let stats = ChannelStats::measure(&*ds, 64);
    let gpu = gpu();
    let mut views = DeviceViews::new(gpu, &*ds, 6, &aug, &stats).unwrap();
    let mut loader = Loader::new(ds.clone(), cfg, Position::default()).unwrap();
    let batch = loader.next_batch().unwrap();
    views.stage(gpu, &batch);
    let mut rec = Recorder::new(gpu);
    views.record(&mut rec).unwrap();
    rec.submit().unwrap();
    let img = Image { c: 3, h: 32, w: 32 };
    let (mean, std) = (f64s(&stats.mean), f64s(&stats.std));
    for (v, t) in views.views().iter().enumerate() {
        let got = down(t);
        for s in 0..6 {
            let x: Vec<f64> = batch.raw[s * 3072..(s + 1) * 3072].iter().map(|&b| f64::from(b) / 255.0).collect();
            let row: [f32; 16] = batch.params[v][s * 16..(s + 1) * 16].try_into().unwrap();
            let want = view(&x, img, img, &row, false, &mean, &std, aug.mask_patch);
            assert_close(&format!("view {v} sample {s}"), &got[s * 3072..(s + 1) * 3072], &want, 3e-4, 3e-4);
        }
    }
}
