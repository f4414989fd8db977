//! [`Trainer`]: one training step recorded into one command encoder and submitted once — both views
//! made on the device, forward, energy, backward, optimizer and EMA updates — with the loss, its terms and
//! the gradient norms copied into a readback ring and checked a few steps later. Nothing is allocated on
//! the device after the first step.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tandem_data::loader::{draw_params, mix_seed};
use tandem_data::{
    Augmentation, ChannelStats, Dataset, DeviceViews, HostBatch, Layout, Loader, LoaderConfig, Pixels, Position,
};
use tandem_gpu::{Gpu, ReadbackRing, Recorder, Tensor};

use crate::checkpoint::{self, CheckpointMeta, HostTensor};
use crate::config::TrainConfig;
use crate::error::{Result, TrainError};
use crate::method::Method;
use crate::optimizer::Optimizer;
use crate::schedule::{LrSchedule, byol_tau};

/// Steps the readback may lag behind the submissions.
const RING: usize = 4;

/// Fraction of a step spent waiting for data above which the log says so (once per epoch).
const SLOW_DATA: f64 = 0.2;

/// What one step reported, once its values came back.
#[derive(Clone, Debug, PartialEq)]
pub struct StepReport {
    /// Step number (from 0).
    pub step: u64,
    /// Its epoch.
    pub epoch: u64,
    /// The loss.
    pub loss: f64,
    /// Named loss terms.
    pub terms: Vec<(String, f64)>,
    /// Learning rate used.
    pub lr: f64,
    /// Pairs per second of the host loop around this step.
    pub pairs_per_s: f64,
    /// Fraction of the step's wall time spent waiting for data.
    pub data_wait_fraction: f64,
    /// Host time spent encoding the step's commands (everything up to the submit), in milliseconds.
    pub record_ms: f64,
}

struct Pending {
    step: u64,
    epoch: u64,
    lr: f64,
    wall: Duration,
    wait: Duration,
    record: Duration,
}

/// A training run in progress.
pub struct Trainer<'g> {
    gpu: &'g Gpu,
    config: TrainConfig,
    stats: ChannelStats,
    method: Method,
    optimizer: Optimizer,
    views: DeviceViews,
    loader: Loader,
    ring: ReadbackRing,
    schedule: LrSchedule,
    per_epoch: u64,
    total: u64,
    step: u64,
    pending: VecDeque<Pending>,
    param_names: Vec<String>,
    last_step_end: Option<Instant>,
    augment: Augmentation,
    layout: Layout,
    pixels: Pixels,
    wait_warned: Option<u64>,
    dataset: Arc<dyn Dataset>,
}

impl<'g> Trainer<'g> {
    /// A fresh run of `config` (resolved) on `dataset`.
    pub fn new(gpu: &'g Gpu, config: TrainConfig, dataset: Arc<dyn Dataset>) -> Result<Self> {
        let stats = ChannelStats::measure(&*dataset, 2048);
        Self::build(gpu, config, dataset, stats, Position::default(), 0)
    }

    /// Continues the run a checkpoint recorded, on the same data.
    pub fn resume(gpu: &'g Gpu, meta: &CheckpointMeta, weights: &Path, dataset: Arc<dyn Dataset>) -> Result<Self> {
        let (mean, std, overall_std) = meta.data_stats;
        let stats = ChannelStats { mean, std, overall_std };
        let trainer = Self::build(gpu, meta.config.clone(), dataset, stats, meta.position(), meta.step)?;
        trainer.load_tensors(weights)?;
        Ok(trainer)
    }

    fn build(
        gpu: &'g Gpu,
        config: TrainConfig,
        dataset: Arc<dyn Dataset>,
        stats: ChannelStats,
        start: Position,
        step: u64,
    ) -> Result<Self> {
        let config = config.resolve()?;
        let batch = config.batch_size;
        let augment_name = config.augment.clone().unwrap_or_default();
        let augment = Augmentation::preset(&augment_name, dataset.layout()).ok_or_else(|| {
            TrainError::Config(format!(
                "unknown augmentation preset '{augment_name}': use one of {}",
                Augmentation::PRESETS.join(", ")
            ))
        })?;
        let views = DeviceViews::new(gpu, &*dataset, batch, &augment, &stats)?;
        let shape = views.shape();
        let backbone = config.backbone_config((shape.c, shape.h_out, shape.w_out))?;
        let method = Method::new(gpu, &config.method_config()?, &backbone, batch, config.seed)?;
        let params: Vec<_> = method.params();
        let param_names = params.iter().map(|(n, _)| n.clone()).collect();
        let values: Vec<_> = params.iter().map(|(_, p)| *p).collect();
        let optimizer = Optimizer::new(gpu, &config.optimizer_config(), method.arena(), &values)?;
        let workers = config.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        let loader_augment = augment.clone();
        let loader_config = LoaderConfig {
            batch,
            seed: config.seed,
            shuffle: true,
            workers,
            prefetch: 4,
            augment,
            noise_scale: stats.overall_std,
        };
        let loader = Loader::new(dataset.clone(), loader_config, start)?;
        let per_epoch = loader.batches_per_epoch();
        let total = per_epoch * config.epochs;
        let peak = config.lr_scaling.unwrap().peak(config.lr.unwrap(), batch);
        let warmup = (config.warmup_epochs.unwrap() * per_epoch as f64).round() as u64;
        let schedule = LrSchedule { peak, warmup: warmup.min(total), total, end: peak * config.final_lr_fraction };
        let ring_floats = method.values_len() + optimizer.grad_norms().len();
        let ring = ReadbackRing::new(gpu, RING, ring_floats);
        tracing::info!(
            "training {} on {} ({} samples, views of {}), backbone {} ({} parameters), {} steps",
            config.method,
            dataset.source().display(),
            dataset.len(),
            views.view_len(),
            config.encoder,
            method.backbone().params().iter().map(|p| p.value.len()).sum::<usize>(),
            total
        );
        Ok(Self {
            gpu,
            config,
            stats,
            method,
            optimizer,
            views,
            loader,
            ring,
            schedule,
            per_epoch,
            total,
            step,
            pending: VecDeque::new(),
            param_names,
            last_step_end: None,
            augment: loader_augment,
            layout: dataset.layout(),
            pixels: dataset.pixels(),
            wait_warned: None,
            dataset,
        })
    }

    /// The resolved configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Steps completed.
    pub fn step_count(&self) -> u64 {
        self.step
    }

    /// Steps in the whole run.
    pub fn total_steps(&self) -> u64 {
        self.total
    }

    /// Steps per epoch.
    pub fn steps_per_epoch(&self) -> u64 {
        self.per_epoch
    }

    /// Whether every step has run.
    pub fn is_done(&self) -> bool {
        self.step >= self.total
    }

    /// The method (networks and energies).
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The normalisation the views use.
    pub fn data_stats(&self) -> ChannelStats {
        self.stats
    }

    /// Collapse metrics of the last step's embeddings (waits for the device).
    pub fn collapse_reading(&self) -> Result<crate::monitor::CollapseReading> {
        let mut outputs = Vec::new();
        for (name, a, b) in self.method.embeddings() {
            let m = tandem_eval::collapse_metrics(self.gpu, a, b).map_err(crate::monitor::eval_error)?;
            outputs.push((name.to_string(), m));
        }
        Ok(crate::monitor::CollapseReading { step: self.step.saturating_sub(1), outputs })
    }

    /// The dataset being trained on.
    pub fn dataset(&self) -> &Arc<dyn Dataset> {
        &self.dataset
    }

    /// The device.
    pub fn gpu(&self) -> &'g Gpu {
        self.gpu
    }

    /// Runs one step; returns the reports of earlier steps whose values have arrived (checked for NaN).
    pub fn step(&mut self) -> Result<Vec<StepReport>> {
        let started = Instant::now();
        let position = self.loader.position();
        let batch = self.loader.next_batch()?;
        let wait = self.loader.take_wait();
        self.record_step(&batch, position.epoch, started, wait)
    }

    /// Runs one step on samples the application supplies instead of the loader's: `raw` holds
    /// `batch_size` samples in the training dataset's layout and storage type, back to back (uint8, or
    /// little-endian float32). Both views are drawn with the run's augmentation from a generator seeded by
    /// (seed, step). The loader's position does not move, so a checkpoint's data position ignores these.
    pub fn step_on(&mut self, raw: &[u8]) -> Result<Vec<StepReport>> {
        let started = Instant::now();
        let (batch, layout, pixels) = (self.config.batch_size, self.layout, self.pixels);
        let want = batch * layout.values() * pixels.bytes();
        if raw.len() != want {
            return Err(TrainError::Config(format!(
                "step_on: {} bytes for a batch of {batch} samples of {layout:?} ({want} bytes)",
                raw.len()
            )));
        }
        let seed = mix_seed(&[self.config.seed, self.step, 3]);
        let noise = self.stats.overall_std;
        let mut padded = raw.to_vec();
        padded.resize(want.next_multiple_of(4), 0);
        let host = HostBatch {
            position: self.loader.position(),
            indices: Vec::new(),
            labels: None,
            raw: padded,
            params: draw_params(&self.augment, seed, batch, layout, noise),
        };
        self.record_step(&host, self.step / self.per_epoch.max(1), started, Duration::ZERO)
    }

    fn record_step(
        &mut self,
        batch: &HostBatch,
        epoch: u64,
        started: Instant,
        wait: Duration,
    ) -> Result<Vec<StepReport>> {
        let gpu = self.gpu;
        self.views.stage(gpu, batch);
        let k = self.step;
        let lr = self.schedule.lr(k);
        self.optimizer.set_step(gpu, lr, k + 1, byol_tau(self.config.tau_base, k, self.total));
        let recording = Instant::now();
        let mut rec = Recorder::new(gpu);
        self.views.record(&mut rec)?;
        let [v1, v2] = self.views.views();
        self.method.record(&mut rec, [v1, v2])?;
        self.optimizer.record(&mut rec, self.method.arena())?;
        if let Some(target) = self.method.target_arena() {
            self.optimizer.record_ema(&mut rec, target, self.method.arena())?;
        }
        let norms = self.optimizer.grad_norms();
        let mut sources: Vec<&Tensor> = self.method.values();
        sources.push(&norms);
        self.ring.record(&mut rec, k, &sources)?;
        // The host's share: encoding (submit itself may wait for the device to accept more work).
        let record = recording.elapsed();
        rec.submit()?;
        self.ring.submitted();
        let now = Instant::now();
        let wall = self.last_step_end.map_or(now - started, |t| now - t);
        self.last_step_end = Some(now);
        self.pending.push_back(Pending { step: k, epoch, lr, wall, wait, record });
        self.step += 1;
        self.collect(false)
    }

    /// Waits for every submitted step and returns their reports.
    pub fn finish(&mut self) -> Result<Vec<StepReport>> {
        self.collect(true)
    }

    fn collect(&mut self, wait: bool) -> Result<Vec<StepReport>> {
        let arrived = self.ring.poll(self.gpu, wait)?;
        let mut out = Vec::with_capacity(arrived.len());
        let n_values = self.method.values_len();
        for (tag, raw) in arrived {
            let info = self.pending.pop_front().expect("a pending step per readback");
            debug_assert_eq!(info.step, tag);
            let (loss, terms) = self.method.loss(&raw[..n_values]);
            let names = self.method.kind().term_names();
            if !loss.is_finite() {
                let (what, value) = names
                    .iter()
                    .zip(&terms)
                    .find(|(_, v)| !v.is_finite())
                    .map_or(("loss".to_string(), loss), |(n, v)| (format!("loss term {n}"), *v));
                return Err(TrainError::NotFinite { step: tag, what, value: value as f32 });
            }
            let norms = &raw[n_values + 1..n_values + 1 + self.param_names.len()];
            if let Some((name, v)) = self.param_names.iter().zip(norms).find(|(_, v)| !v.is_finite()) {
                return Err(TrainError::NotFinite { step: tag, what: format!("the gradient of {name}"), value: *v });
            }
            let secs = info.wall.as_secs_f64().max(1e-9);
            let waiting = (info.wait.as_secs_f64() / secs).min(1.0);
            if waiting > SLOW_DATA && self.wait_warned != Some(info.epoch) {
                self.wait_warned = Some(info.epoch);
                tracing::warn!(
                    "step {tag}: {:.0}% of the step spent waiting for data ({:.1} ms); the data pipeline is slower \
                     than the device (more --workers, or a lighter augmentation preset)",
                    100.0 * waiting,
                    info.wait.as_secs_f64() * 1e3
                );
            }
            out.push(StepReport {
                step: tag,
                epoch: info.epoch,
                loss,
                terms: names.into_iter().zip(terms).collect(),
                lr: info.lr,
                pairs_per_s: self.config.batch_size as f64 / secs,
                data_wait_fraction: waiting,
                record_ms: info.record.as_secs_f64() * 1e3,
            });
        }
        Ok(out)
    }

    /// Every tensor of the run (weights, BatchNorm statistics, target network, optimizer state), named.
    pub fn named_tensors(&self) -> Vec<(String, &Tensor)> {
        let mut out: Vec<(String, &Tensor)> =
            self.method.online().params().into_iter().map(|(n, p)| (n, &p.value)).collect();
        out.extend(self.method.online().buffers());
        if let Some(t) = self.method.target() {
            out.extend(t.params().into_iter().map(|(n, p)| (format!("target.{n}"), &p.value)));
            out.extend(t.buffers().into_iter().map(|(n, b)| (format!("target.{n}"), b)));
        }
        out.extend(self.optimizer.state_tensors(&self.param_names));
        out
    }

    /// Downloads every named tensor.
    pub fn host_tensors(&self) -> Result<Vec<HostTensor>> {
        self.named_tensors()
            .into_iter()
            .map(|(name, t)| Ok(HostTensor { name, shape: t.shape().to_vec(), data: self.gpu.download(t)? }))
            .collect()
    }

    fn load_tensors(&self, weights: &Path) -> Result<()> {
        let mut saved = checkpoint::read_safetensors(weights)?;
        for (name, t) in self.named_tensors() {
            let bad = |m: String| TrainError::Checkpoint { path: weights.to_path_buf(), message: m };
            let h = saved.remove(&name).ok_or_else(|| bad(format!("tensor {name} is missing")))?;
            if h.shape != t.shape() {
                return Err(bad(format!("tensor {name} has shape {:?}, the run needs {:?}", h.shape, t.shape())));
            }
            self.gpu.write(t, &h.data);
        }
        Ok(())
    }

    /// Waits for every step, checks them, and writes a checkpoint into `dir` (keeping the configured
    /// number); returns the reports that arrived on the way and the metadata path.
    pub fn save_checkpoint(&mut self, dir: &Path) -> Result<(Vec<StepReport>, std::path::PathBuf)> {
        let reports = self.finish()?;
        let position = self.loader.position();
        let mut meta = CheckpointMeta {
            tandem_version: env!("CARGO_PKG_VERSION").to_string(),
            step: self.step,
            epoch: position.epoch,
            batch: position.batch,
            seed: self.config.seed,
            data_stats: (self.stats.mean, self.stats.std, self.stats.overall_std),
            config: self.config.clone(),
            weights: String::new(),
            weights_bytes: 0,
            weights_crc32: 0,
        };
        let tensors = self.host_tensors()?;
        if let Some((t, v)) = tensors.iter().find_map(|t| t.data.iter().find(|v| !v.is_finite()).map(|v| (t, *v))) {
            return Err(TrainError::NotFinite { step: self.step, what: format!("tensor {}", t.name), value: v });
        }
        let path = checkpoint::save(dir, &tensors, &mut meta, self.config.keep_checkpoints)?;
        Ok((reports, path))
    }
}
