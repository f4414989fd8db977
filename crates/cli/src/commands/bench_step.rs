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
    /// Projector widths (default: the method's).
    #[arg(long, value_delimiter = ',')]
    pub projector: Option<Vec<usize>>,
    /// Optimizer (default: the method's).
    #[arg(long)]
    pub optimizer: Option<String>,
    /// Precision of the Linear layers' and convolutions' products: f32 or f16 (f16 operands, f32
    /// accumulation).
    #[arg(long, default_value = "f32")]
    pub precision: String,
    /// A named configuration that overrides the flags above: `mlp-a` = input 3072 (the built-in images),
    /// encoder mlp 1024-1024-256, projector 1024-1024, batch 256, VICReg, SGD with momentum.
    #[arg(long)]
    pub preset: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Model FLOPs of one step: for every Linear and convolution of the online networks and each view, 2·MACs
/// forward and twice that backward (weight and input gradients; the first layer's input gradient is not
/// formed).
fn step_flops(trainer: &Trainer<'_>, batch: usize) -> f64 {
    let views = if trainer.config().method == "dae" { 1.0 } else { 2.0 };
    let stages = &trainer.method().online().stages;
    let forward: f64 = stages.iter().map(|s| s.net.flops_per_sample()).sum();
    let skipped = stages.first().map_or(0.0, |s| s.net.first_layer_flops_per_sample());
    (3.0 * forward - skipped) * batch as f64 * views
}

/// The kernel family a kernel (by its key) belongs to: `gemm` (with its operand packing and the
/// convolutions' im2col/col2im staging), `normalisation`, `activation`, `energy`, `optimizer`, or `other`
/// (augmentation, bias, reductions, pooling, vector updates).
fn kernel_family(kernel: &str) -> &'static str {
    if kernel.starts_with("gemm") || kernel.starts_with("im2col") || kernel.starts_with("conv_col2im") {
        "gemm"
    } else if ["batch_norm", "layer_norm", "l2_normalize"].iter().any(|k| kernel.contains(k)) {
        "normalisation"
    } else if kernel.contains("relu") || kernel.contains("gelu") {
        "activation"
    } else if kernel.starts_with("energy") {
        "energy"
    } else if kernel.starts_with("optim") {
        "optimizer"
    } else {
        "other"
    }
}

/// One more step with every dispatch timed: the share of device time per kernel family, with the
/// dispatch count and the profiled milliseconds; `null` where the adapter cannot time inside passes.
fn profile_fractions(gpu: &tandem_gpu::Gpu, trainer: &mut Trainer<'_>) -> Result<serde_json::Value> {
    if !gpu.profile_next_recording() {
        return Ok(serde_json::Value::Null);
    }
    trainer.step()?;
    trainer.finish()?;
    let Some(times) = gpu.take_profile()? else {
        return Ok(serde_json::Value::Null);
    };
    let total: f64 = times.iter().map(|(_, ms)| ms).sum();
    let mut by_family = serde_json::Map::new();
    for family in ["gemm", "normalisation", "activation", "energy", "optimizer", "other"] {
        let ms: f64 = times.iter().filter(|(k, _)| kernel_family(k) == family).map(|(_, ms)| ms).sum();
        by_family.insert(family.into(), json!(if total > 0.0 { ms / total } else { 0.0 }));
    }
    by_family.insert("dispatches".into(), json!(times.len()));
    by_family.insert("profiled_ms".into(), json!(total));
    // The kernels that take the most device time: [kernel, ms, dispatches], largest first.
    let mut per_kernel: std::collections::BTreeMap<&str, (f64, usize)> = Default::default();
    for (k, ms) in &times {
        let e = per_kernel.entry(k).or_default();
        *e = (e.0 + ms, e.1 + 1);
    }
    let mut top: Vec<_> = per_kernel.into_iter().collect();
    top.sort_by(|a, b| b.1.0.total_cmp(&a.1.0));
    by_family.insert(
        "top_kernels".into(),
        json!(top.iter().take(8).map(|(k, (ms, n))| json!([k, ms, n])).collect::<Vec<_>>()),
    );
    Ok(serde_json::Value::Object(by_family))
}

/// Runs the benchmark.
pub fn run(args: &StepBenchArgs) -> Result<()> {
    let opened = args.data.open()?;
    let gpu = super::open_gpu()?;
    let warm = 3;
    let mut config = TrainConfig {
        method: args.method.clone(),
        encoder: args.encoder.clone(),
        batch_size: args.batch_size,
        projector: args.projector.clone(),
        optimizer: args.optimizer.clone(),
        precision: args.precision.clone(),
        epochs: 1_000_000,
        collapse_every: 0,
        knn_every: 0,
        ..TrainConfig::default()
    };
    match args.preset.as_deref() {
        None => {}
        Some("mlp-a") => {
            config = TrainConfig {
                method: "vicreg".into(),
                encoder: "mlp:1024,1024,256".into(),
                projector: Some(vec![1024, 1024]),
                batch_size: 256,
                optimizer: Some("sgd".into()),
                ..config
            };
        }
        Some(other) => anyhow::bail!("unknown --preset '{other}': use mlp-a"),
    }
    let config = config.resolve()?;
    let batch = config.batch_size;
    let before = gpu.allocated_bytes();
    let mut trainer = Trainer::new(&gpu, config.clone(), opened.dataset)?;
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
    let step_ms = median(reports.iter().map(|r| 1e3 * batch as f64 / r.pairs_per_s).collect());
    let wait = reports.iter().map(|r| r.data_wait_fraction).sum::<f64>() / reports.len().max(1) as f64;
    // Encoding the step's commands on the host (the device runs the previous step meanwhile).
    let record_ms = median(reports.iter().map(|r| r.record_ms).collect());
    let pairs_per_s = (args.steps * batch) as f64 / secs;
    let gflops = step_flops(&trainer, batch) / (step_ms * 1e-3) / 1e9;
    let peak = gpu.allocated_bytes() - before;
    let fractions = profile_fractions(&gpu, &mut trainer)?;
    let out = json!({
        "preset": args.preset, "method": config.method, "encoder": config.encoder, "projector": config.projector,
        "optimizer": config.optimizer, "precision": config.precision, "batch_size": batch, "steps": args.steps,
        "pairs_per_s": pairs_per_s, "step_ms": step_ms, "gflops": gflops, "data_wait_fraction": wait,
        "host_record_ms": record_ms, "host_record_fraction": record_ms / step_ms,
        "peak_device_bytes": peak, "last_loss": reports.last().map(|r| r.loss), "adapter": gpu.describe(),
        "time_fractions": fractions,
    });
    emit(args.json, &out, || {
        format!(
            "{} {} {} batch {batch}: {pairs_per_s:.0} pairs/s, median step {step_ms:.1} ms, {gflops:.1} GFLOP/s, \
             {:.0} MiB on the device, waiting for data {:.1}%",
            config.method,
            config.encoder,
            config.precision,
            peak as f64 / (1 << 20) as f64,
            100.0 * wait
        )
    });
    Ok(())
}
