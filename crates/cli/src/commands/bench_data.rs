//! `tandem bench data`: pairs per second of the feeding pipeline alone (loader threads, upload, both
//! views made on the device), and of the host side alone for comparison.

use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use serde_json::json;
use tandem_data::{Augmentation, ChannelStats, DeviceViews, Loader, LoaderConfig, Position};
use tandem_gpu::Recorder;

use super::bench::emit;
use super::data_args::DataArgs;

/// Arguments of `tandem bench data`.
#[derive(Args)]
pub struct DataBenchArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Augmentation preset.
    #[arg(long, default_value = "simclr")]
    pub preset: String,
    /// Pairs per batch.
    #[arg(long, default_value_t = 256)]
    pub batch_size: usize,
    /// Batches timed (after two untimed).
    #[arg(long, default_value_t = 40)]
    pub batches: usize,
    /// Loader worker threads (default: available cores).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Runs the benchmark.
pub fn run(args: &DataBenchArgs) -> Result<()> {
    let opened = args.data.open()?;
    let ds = opened.dataset;
    let augment = Augmentation::preset(&args.preset, ds.layout()).with_context(|| {
        format!("unknown --preset '{}': use one of {}", args.preset, Augmentation::PRESETS.join(", "))
    })?;
    let stats = ChannelStats::measure(&*ds, 1024);
    let workers = args.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let config = LoaderConfig {
        batch: args.batch_size,
        seed: 0,
        shuffle: true,
        workers,
        prefetch: 4,
        augment: augment.clone(),
        noise_scale: stats.overall_std,
    };
    let warm = 2;
    // Host side alone: the loader's batches as fast as they come.
    let mut loader = Loader::new(ds.clone(), config.clone(), Position::default())?;
    for _ in 0..warm {
        loader.next_batch()?;
    }
    let t = Instant::now();
    for _ in 0..args.batches {
        loader.next_batch()?;
    }
    let host_s = t.elapsed().as_secs_f64();
    drop(loader);
    // The whole feed: loader, upload and both views on the device, one submit per batch.
    let gpu = super::open_gpu()?;
    let mut views = DeviceViews::new(&gpu, &*ds, args.batch_size, &augment, &stats)?;
    let mut loader = Loader::new(ds.clone(), config, Position::default())?;
    let step = |views: &mut DeviceViews, loader: &mut Loader| -> Result<()> {
        let batch = loader.next_batch()?;
        views.stage(&gpu, &batch);
        let mut rec = Recorder::new(&gpu);
        views.record(&mut rec)?;
        rec.submit()?;
        Ok(())
    };
    for _ in 0..warm {
        step(&mut views, &mut loader)?;
    }
    gpu.synchronize()?;
    let t = Instant::now();
    for _ in 0..args.batches {
        step(&mut views, &mut loader)?;
    }
    gpu.synchronize()?;
    let full_s = t.elapsed().as_secs_f64();
    let pairs = (args.batches * args.batch_size) as f64;
    let out = json!({
        "data": ds.source().display().to_string(),
        "n": ds.len(),
        "layout": format!("{:?}", ds.layout()),
        "preset": augment.name,
        "batch_size": args.batch_size,
        "batches": args.batches,
        "workers": workers,
        "pairs_per_s": pairs / full_s,
        "host_pairs_per_s": pairs / host_s,
        "adapter": gpu.describe(),
    });
    emit(args.json, &out, || {
        format!(
            "{} ({:?}, preset {}): {:.0} pairs/s with views on the device; host side alone {:.0} pairs/s",
            ds.source().display(),
            ds.layout(),
            augment.name,
            pairs / full_s,
            pairs / host_s
        )
    });
    Ok(())
}
