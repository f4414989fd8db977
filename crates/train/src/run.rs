//! [`RunDir`] and [`run`]: a run folder (config.toml, metrics.jsonl, checkpoints/, encoder.safetensors)
//! and the loop that trains to the end, logging, checkpointing on schedule and exporting the encoder.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::checkpoint::{self, HostTensor};
use crate::error::{Result, TrainError};
use crate::trainer::{StepReport, Trainer};

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

    /// Writes the epoch line of the epoch in progress.
    pub fn flush_epoch(&mut self) -> Result<()> {
        if let Some((epoch, sum, n)) = self.epoch.take() {
            self.line(json!({"kind": "epoch", "epoch": epoch, "mean_loss": sum / n as f64, "steps": n}))?;
        }
        Ok(())
    }

    /// Writes the backbone's weights and BatchNorm statistics as encoder.safetensors.
    pub fn export_encoder(&self, trainer: &Trainer<'_>) -> Result<PathBuf> {
        let tensors: Vec<HostTensor> =
            trainer.host_tensors()?.into_iter().filter(|t| t.name.starts_with("backbone.")).collect();
        let path = self.path.join("encoder.safetensors");
        checkpoint::write_atomic(&path, &checkpoint::safetensors_bytes(&tensors, None)?)?;
        Ok(path)
    }
}

/// When to stop a call to [`run`] early (an interruption, for tests and time-boxed jobs).
#[derive(Clone, Copy, Debug, Default)]
pub struct Stop {
    /// Stop after this many steps in this call.
    pub after_steps: Option<u64>,
}

/// Trains to the end (or to `stop`), logging into `dir`, checkpointing every `checkpoint_every` steps
/// (0: every epoch) and at the end, then exporting the encoder; `on_report` sees every step. Returns the
/// encoder's path when the run completed.
pub fn run(
    trainer: &mut Trainer<'_>,
    dir: &mut RunDir,
    stop: Stop,
    mut on_report: impl FnMut(&StepReport),
) -> Result<Option<PathBuf>> {
    let every = match trainer.config().checkpoint_every {
        0 => trainer.steps_per_epoch(),
        n => n,
    };
    let log_every = trainer.config().log_every;
    let mut handle = |dir: &mut RunDir, reports: Vec<StepReport>| -> Result<()> {
        for r in &reports {
            dir.log_step(r, log_every)?;
            on_report(r);
        }
        Ok(())
    };
    let mut taken = 0;
    while !trainer.is_done() && stop.after_steps.is_none_or(|s| taken < s) {
        let reports = trainer.step()?;
        handle(dir, reports)?;
        taken += 1;
        if trainer.step_count().is_multiple_of(every) || trainer.is_done() {
            let (reports, _) = trainer.save_checkpoint(&dir.checkpoints())?;
            handle(dir, reports)?;
        }
    }
    let reports = trainer.finish()?;
    handle(dir, reports)?;
    if !trainer.is_done() {
        return Ok(None);
    }
    dir.flush_epoch()?;
    Ok(Some(dir.export_encoder(trainer)?))
}
