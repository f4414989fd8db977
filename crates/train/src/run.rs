//! [`RunDir`] and [`run`]: a run folder (config.toml, metrics.jsonl, checkpoints/, encoder.safetensors)
//! and the loop that trains to the end, logging, checkpointing on schedule and exporting the encoder.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::checkpoint::{self, HostTensor};
use crate::error::{Result, TrainError};
use crate::monitor::{CollapseAlarm, CollapseReading, ProbeSplit, probe};
use crate::trainer::{StepReport, Trainer};

/// What [`run`] reports as it goes.
#[derive(Debug)]
pub enum Event<'a> {
    /// A step's values arrived.
    Step(&'a StepReport),
    /// Collapse metrics were read; `alarm` holds the message when the alarm fired.
    Collapse(&'a CollapseReading, Option<&'a str>),
    /// The online kNN probe's top-1 on the held-out slice, at the end of an epoch.
    Knn {
        /// Epochs completed.
        epoch: u64,
        /// Top-1 accuracy.
        top1: f64,
    },
}

/// A run folder.
pub struct RunDir {
    path: PathBuf,
    metrics: std::fs::File,
    epoch: Option<(u64, f64, u64)>,
}

impl RunDir {
    /// Opens (creating if needed) the folder; metrics are appended.
    pub fn open(path: &Path) -> Result<Self> {
        std::fs::create_dir_all(path).map_err(|e| TrainError::io(path, e))?;
        let file = path.join("metrics.jsonl");
        let metrics =
            std::fs::OpenOptions::new().create(true).append(true).open(&file).map_err(|e| TrainError::io(&file, e))?;
        Ok(Self { path: path.to_path_buf(), metrics, epoch: None })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where checkpoints go.
    pub fn checkpoints(&self) -> PathBuf {
        self.path.join("checkpoints")
    }

    /// Writes config.toml (atomically).
    pub fn write_config(&self, toml: &str) -> Result<()> {
        checkpoint::write_atomic(&self.path.join("config.toml"), toml.as_bytes())
    }

    fn line(&mut self, v: serde_json::Value) -> Result<()> {
        writeln!(self.metrics, "{v}").map_err(|e| TrainError::io(self.path.join("metrics.jsonl"), e))
    }

    /// Records a step: a metrics line every `every` steps, and the epoch's running mean.
    pub fn log_step(&mut self, r: &StepReport, every: u64) -> Result<()> {
        match self.epoch {
            Some((e, _, _)) if e != r.epoch => {
                self.flush_epoch()?;
                self.epoch = Some((r.epoch, r.loss, 1));
            }
            Some((e, sum, n)) => self.epoch = Some((e, sum + r.loss, n + 1)),
            None => self.epoch = Some((r.epoch, r.loss, 1)),
        }
        if r.step.is_multiple_of(every.max(1)) {
            let mut v = json!({
                "kind": "step", "step": r.step, "epoch": r.epoch, "loss": r.loss, "lr": r.lr,
                "pairs_per_s": r.pairs_per_s, "data_wait_fraction": r.data_wait_fraction,
            });
            for (name, value) in &r.terms {
                v[name] = json!(value);
            }
            self.line(v)?;
        }
        Ok(())
    }

    /// Records a collapse reading: one line with `<output>.<metric>` keys.
    pub fn log_collapse(&mut self, r: &CollapseReading, alarm: Option<&str>) -> Result<()> {
        let mut v = json!({"kind": "collapse", "step": r.step});
        for (name, m) in &r.outputs {
            v[format!("{name}.mean_std")] = json!(m.mean_std);
            v[format!("{name}.effective_rank")] = json!(m.effective_rank);
            v[format!("{name}.uniformity")] = json!(m.uniformity);
            if let (Some(a), Some(neg)) = (m.alignment, m.negative_energy) {
                v[format!("{name}.alignment")] = json!(a);
                v[format!("{name}.negative_energy")] = json!(neg);
            }
        }
        if let Some(a) = alarm {
            v["alarm"] = json!(a);
        }
        self.line(v)
    }

    /// Records an event line (probe results, rollbacks) of `kind` with `fields`.
    pub fn log_event(&mut self, kind: &str, step: u64, epoch: u64, fields: serde_json::Value) -> Result<()> {
        let mut v = json!({"kind": kind, "step": step, "epoch": epoch});
        if let serde_json::Value::Object(map) = fields {
            for (k, x) in map {
                v[k] = x;
            }
        }
        self.line(v)
    }

    /// Writes the epoch line of the epoch in progress.
    pub fn flush_epoch(&mut self) -> Result<()> {
        if let Some((epoch, sum, n)) = self.epoch.take() {
            self.line(json!({"kind": "epoch", "epoch": epoch, "mean_loss": sum / n as f64, "steps": n}))?;
        }
        Ok(())
    }

    /// Writes the backbone's weights and BatchNorm statistics as encoder.safetensors, under the
    /// backbone's own names (for ResNet-18, torchvision's: the file loads into
    /// `torchvision.models.resnet18()` with `strict=False`, which leaves out `fc` and
    /// `num_batches_tracked`).
    pub fn export_encoder(&self, trainer: &Trainer<'_>) -> Result<PathBuf> {
        let tensors: Vec<HostTensor> = trainer
            .host_tensors()?
            .into_iter()
            .filter_map(|t| {
                let name = t.name.strip_prefix("backbone.")?.to_string();
                Some(HostTensor { name, ..t })
            })
            .collect();
        let path = self.path.join("encoder.safetensors");
        checkpoint::write_atomic(&path, &checkpoint::safetensors_bytes(&tensors, None)?)?;
        Ok(path)
    }
}

/// When to stop a call to [`run`] early: after a number of steps (tests, time-boxed jobs), or when a
/// flag is raised (SIGINT/SIGTERM), in which case a checkpoint is written first.
#[derive(Clone, Debug, Default)]
pub struct Stop {
    /// Stop after this many steps in this call.
    pub after_steps: Option<u64>,
    /// Stop (after a checkpoint) once this becomes true.
    pub interrupt: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl Stop {
    fn interrupted(&self) -> bool {
        self.interrupt.as_ref().is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed))
    }
}

/// Trains to the end (or to `stop`), logging into `dir`, checkpointing every `checkpoint_every` steps
/// (0: every epoch) and at the end, then exporting the encoder. Every `collapse_every` steps the collapse
/// metrics are read and logged, and the alarm checked (stopping the run with `stop_on_collapse`); every
/// `knn_every` epochs, when the data has labels, the kNN probe runs on a held-out slice. `on_event` sees
/// every step and reading. Returns the encoder's path when the run completed.
/// With `on_nan = "rollback"`, a NaN or infinite loss or gradient restores the newest valid checkpoint,
/// multiplies the learning rate by `nan_lr_factor` and continues, at most `nan_retries` times.
pub fn run(
    trainer: &mut Trainer<'_>,
    dir: &mut RunDir,
    stop: Stop,
    mut on_event: impl FnMut(Event<'_>),
) -> Result<Option<PathBuf>> {
    let mut rollbacks = 0;
    loop {
        match run_until(trainer, dir, &stop, &mut on_event) {
            Err(TrainError::NotFinite { step, what, value })
                if trainer.config().on_nan == "rollback" && rollbacks < trainer.config().nan_retries =>
            {
                let Some((meta, weights)) = checkpoint::latest(&dir.checkpoints())? else {
                    return Err(TrainError::NotFinite {
                        step,
                        what: format!("{what} (no checkpoint to roll back to)"),
                        value,
                    });
                };
                rollbacks += 1;
                let lr = trainer.config().lr.unwrap_or(0.0) * trainer.config().nan_lr_factor;
                let config = crate::TrainConfig { lr: Some(lr), ..meta.config.clone() };
                let meta = checkpoint::CheckpointMeta { config, ..meta };
                tracing::warn!(
                    "step {step}: {what} is {value}; rolling back to step {} with learning rate {lr:e} ({rollbacks} of {})",
                    meta.step,
                    trainer.config().nan_retries
                );
                dir.log_event(
                    "rollback",
                    step,
                    meta.epoch,
                    json!({"restored_step": meta.step, "lr": lr, "what": what}),
                )?;
                *trainer = Trainer::resume(trainer.gpu(), &meta, &weights, trainer.dataset().clone())?;
            }
            other => return other,
        }
    }
}

fn run_until(
    trainer: &mut Trainer<'_>,
    dir: &mut RunDir,
    stop: &Stop,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<Option<PathBuf>> {
    let every = match trainer.config().checkpoint_every {
        0 => trainer.steps_per_epoch(),
        n => n,
    };
    let (log_every, collapse_every, knn_every) =
        (trainer.config().log_every, trainer.config().collapse_every, trainer.config().knn_every);
    let mut alarm = CollapseAlarm::new(trainer.config().collapse_alarm);
    let split = if knn_every > 0 { ProbeSplit::holdout(trainer.dataset()) } else { None };
    let handle = |dir: &mut RunDir, reports: Vec<StepReport>, on_event: &mut dyn FnMut(Event<'_>)| -> Result<()> {
        for r in &reports {
            dir.log_step(r, log_every)?;
            on_event(Event::Step(r));
        }
        Ok(())
    };
    let mut taken = 0;
    while !trainer.is_done() && stop.after_steps.is_none_or(|s| taken < s) {
        let reports = trainer.step()?;
        handle(dir, reports, on_event)?;
        taken += 1;
        let step = trainer.step_count();
        if collapse_every > 0 && (step - 1).is_multiple_of(collapse_every) {
            let reading = trainer.collapse_reading()?;
            let message = alarm.check(&reading);
            dir.log_collapse(&reading, message.as_deref())?;
            on_event(Event::Collapse(&reading, message.as_deref()));
            if let Some(m) = message {
                tracing::warn!("{m}");
                if trainer.config().stop_on_collapse {
                    return Err(TrainError::Collapsed(m));
                }
            }
        }
        let epoch = step / trainer.steps_per_epoch();
        if let Some(split) = &split
            && step.is_multiple_of(trainer.steps_per_epoch())
            && epoch.is_multiple_of(knn_every)
        {
            let acc = probe(trainer.gpu(), trainer.method().backbone(), &trainer.data_stats(), split, false)?;
            dir.log_event("knn", step, epoch, json!({"knn_top1": acc.knn}))?;
            on_event(Event::Knn { epoch, top1: acc.knn });
        }
        if stop.interrupted() && !trainer.is_done() {
            let (reports, path) = trainer.save_checkpoint(&dir.checkpoints())?;
            handle(dir, reports, on_event)?;
            tracing::warn!("interrupted: checkpoint {} written", path.display());
            return Ok(None);
        }
        if trainer.step_count().is_multiple_of(every) || trainer.is_done() {
            let (reports, _) = trainer.save_checkpoint(&dir.checkpoints())?;
            handle(dir, reports, on_event)?;
        }
    }
    let reports = trainer.finish()?;
    handle(dir, reports, on_event)?;
    if !trainer.is_done() {
        return Ok(None);
    }
    dir.flush_epoch()?;
    Ok(Some(dir.export_encoder(trainer)?))
}
