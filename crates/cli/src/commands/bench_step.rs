//! `tandem bench step`: the whole training step (views, forward, energy, backward, optimizer) in steady
//! state: pairs per second, median step time, and the fraction of step time spent waiting for data.

use std::time::Instant;

use anyhow::Result;
use clap::Args;
use serde_json::json;
use tandem_train::{TrainConfig, Trainer};

use super::bench::{emit, median};
use super::data_args::DataArgs;

/// Arguments of `tandem bench step`.
#[derive(Args)]
pub struct StepBenchArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Method.
    #[arg(long, default_value = "simclr")]
    pub method: String,
    /// Encoder (mlp:H1,...,OUT).
    #[arg(long, default_value = "mlp:1024,1024,256")]
    pub encoder: String,
    /// Pairs per step.
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// Timed steps (after three untimed).
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Runs the benchmark.
pub fn run(args: &StepBenchArgs) -> Result<()> {
    let opened = args.data.open()?;
    let gpu = super::open_gpu()?;
    let warm = 3;
    let config = TrainConfig {
        method: args.method.clone(),
        encoder: args.encoder.clone(),
        batch_size: args.batch_size,
        epochs: 1_000_000,
        ..TrainConfig::default()
    }
    .resolve()?;
    let mut trainer = Trainer::new(&gpu, config, opened.dataset)?;
    for _ in 0..warm {
        trainer.step()?;
    }
    trainer.finish()?;
    let t = Instant::now();
    let mut reports = Vec::new();
    for _ in 0..args.steps {
        reports.extend(trainer.step()?);
    }
    reports.extend(trainer.finish()?);
    let secs = t.elapsed().as_secs_f64();
    let step_ms = median(reports.iter().map(|r| 1e3 * args.batch_size as f64 / r.pairs_per_s).collect());
    let wait = reports.iter().map(|r| r.data_wait_fraction).sum::<f64>() / reports.len().max(1) as f64;
    let pairs_per_s = (args.steps * args.batch_size) as f64 / secs;
    let out = json!({
        "method": args.method, "encoder": args.encoder, "batch_size": args.batch_size, "steps": args.steps,
        "pairs_per_s": pairs_per_s, "median_step_ms": step_ms, "data_wait_fraction": wait,
        "last_loss": reports.last().map(|r| r.loss), "adapter": gpu.describe(),
    });
    emit(args.json, &out, || {
        format!(
            "{} {} batch {}: {pairs_per_s:.0} pairs/s, median step {step_ms:.1} ms, waiting for data {:.1}%",
            args.method,
            args.encoder,
            args.batch_size,
            100.0 * wait
        )
    });
    Ok(())
}
