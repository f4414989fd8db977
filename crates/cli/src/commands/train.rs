//! `tandem train`: pretrain an encoder with a self-supervised method; flags override `--config`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use tandem_train::monitor::{ProbeSplit, compare_with_random};
use tandem_train::{Event, RunDir, Stop, TrainConfig, Trainer, checkpoint, run};

use super::data_args::DataSpec;

/// Arguments of `tandem train`.
#[derive(clap::Args)]
pub struct Args {
    /// TOML configuration file (unknown keys are errors); flags override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Run folder: config.toml, metrics.jsonl, checkpoints/, encoder.safetensors (default: a new
    /// runs/<method>-<unix time>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue from the newest valid checkpoint in --out (with none there, start the run).
    #[arg(long)]
    pub resume: bool,
    /// Stop after this many steps of this invocation (resume later with --resume).
    #[arg(long)]
    pub max_steps: Option<u64>,
    /// Dataset: a file, a folder, or builtin[:train|:test][:N] (default: builtin).
    #[arg(long)]
    pub data: Option<String>,
    /// npy, idx, cifar10, cifar100, folder or builtin.
    #[arg(long)]
    pub format: Option<String>,
    /// Labels file (NPY or IDX data).
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Layout of 4-D NPY images: nchw or nhwc.
    #[arg(long)]
    pub layout: Option<String>,
    /// Side that image-folder images are resized to.
    #[arg(long)]
    pub image_size: Option<usize>,
    /// Skip undecodable images in folders.
    #[arg(long)]
    pub skip_bad: bool,
    /// simclr, vicreg, barlow-twins, byol, simsiam or dae.
    #[arg(long)]
    pub method: Option<String>,
    /// mlp:H1,...,OUT (hidden widths, then the feature width).
    #[arg(long)]
    pub encoder: Option<String>,
    /// Projector widths, hidden then output, comma-separated (dae: decoder hidden widths).
    #[arg(long, value_delimiter = ',')]
    pub projector: Option<Vec<usize>>,
    /// Predictor widths (byol, simsiam), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub predictor: Option<Vec<usize>>,
    /// Epochs.
    #[arg(long)]
    pub epochs: Option<u64>,
    /// Pairs per step.
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Base learning rate (for batch 256).
    #[arg(long)]
    pub lr: Option<f64>,
    /// linear, sqrt or none.
    #[arg(long)]
    pub lr_scaling: Option<String>,
    /// Warmup epochs.
    #[arg(long)]
    pub warmup_epochs: Option<f64>,
    /// sgd, adamw or lars.
    #[arg(long)]
    pub optimizer: Option<String>,
    /// Weight decay.
    #[arg(long)]
    pub weight_decay: Option<f32>,
    /// Momentum (sgd, lars).
    #[arg(long)]
    pub momentum: Option<f32>,
    /// Nesterov momentum (sgd).
    #[arg(long)]
    pub nesterov: bool,
    /// Clip the global gradient norm (0: off).
    #[arg(long)]
    pub clip_grad: Option<f32>,
    /// Seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Augmentation preset (default: the method's).
    #[arg(long)]
    pub augment: Option<String>,
    /// info-nce temperature.
    #[arg(long)]
    pub temperature: Option<f32>,
    /// Loader threads.
    #[arg(long)]
    pub workers: Option<usize>,
    /// Checkpoint every N steps (0: every epoch).
    #[arg(long)]
    pub checkpoint_every: Option<u64>,
    /// Checkpoints kept.
    #[arg(long)]
    pub keep_checkpoints: Option<usize>,
    /// Metrics line every N steps.
    #[arg(long)]
    pub log_every: Option<u64>,
    /// Collapse metrics every N steps (0: off).
    #[arg(long)]
    pub collapse_every: Option<u64>,
    /// Stop the run when the collapse alarm fires (effective rank or mean std below a fraction of the
    /// start, `collapse_alarm` in the config).
    #[arg(long)]
    pub stop_on_collapse: bool,
    /// Online kNN on a held-out slice every N epochs when the data has labels (0: off).
    #[arg(long)]
    pub knn_every: Option<u64>,
    /// On a NaN or infinite loss or gradient: stop (default), or rollback to the last good checkpoint with
    /// the learning rate times `nan_lr_factor` (at most `nan_retries` times).
    #[arg(long)]
    pub on_nan: Option<String>,
    /// How weights and activations enter the Linear layers' and convolutions' products: f32, or f16 (mixed
    /// precision: f16 operands, f32 accumulation; master weights, gradients, normalisation and energies
    /// stay f32).
    #[arg(long)]
    pub precision: Option<String>,
}

impl Args {
    /// The configuration: the file (or defaults), then every flag given.
    fn config(&self) -> Result<TrainConfig> {
        let mut c = match &self.config {
            Some(p) => TrainConfig::from_toml_file(p)?,
            None => TrainConfig::default(),
        };
        macro_rules! set {
            ($($field:ident),*) => { $( if let Some(v) = &self.$field { c.$field = v.clone(); } )* };
        }
        macro_rules! set_opt {
            ($($field:ident),*) => { $( if let Some(v) = &self.$field { c.$field = Some(v.clone()); } )* };
        }
        set!(data, image_size, method, encoder, epochs, batch_size, momentum, clip_grad, seed, temperature);
        set!(checkpoint_every, keep_checkpoints, log_every, collapse_every, knn_every, on_nan, precision);
        set_opt!(format, labels, layout, projector, predictor, lr, warmup_epochs, optimizer, weight_decay);
        set_opt!(augment, workers);
        if let Some(s) = &self.lr_scaling {
            c.lr_scaling = Some(
                serde_json::from_value(serde_json::json!(s))
                    .map_err(|_| anyhow::anyhow!("unknown --lr-scaling '{s}': use linear, sqrt or none"))?,
            );
        }
        c.skip_bad |= self.skip_bad;
        c.nesterov |= self.nesterov;
        c.stop_on_collapse |= self.stop_on_collapse;
        Ok(c)
    }
}

/// Probes the trained encoder and a randomly initialised one on held-out labelled data (the built-in test
/// split for built-in data, else the last tenth of the data), prints both and records them.
fn final_probes(trainer: &Trainer<'_>, dir: &mut RunDir) -> Result<()> {
    let data = &trainer.config().data;
    let split = if data.starts_with("builtin") && !data.contains(":test") {
        let test = tandem_data::open("builtin:test", None, &Default::default())?.dataset;
        ProbeSplit::with_test(trainer.dataset(), test)
    } else {
        ProbeSplit::holdout(trainer.dataset())
    };
    let Some(split) = split else { return Ok(()) };
    let (trained, random) = compare_with_random(trainer, &split)?;
    let pct = |v: Option<f64>| v.map_or("-".into(), |a| format!("{:.1}%", 100.0 * a));
    println!(
        "probes on {} held-out samples: kNN top-1 {} (random encoder {}), linear top-1 {} (random encoder {})",
        split.query.len(),
        pct(Some(trained.knn)),
        pct(Some(random.knn)),
        pct(trained.linear),
        pct(random.linear)
    );
    let fields = serde_json::json!({
        "knn_top1": trained.knn, "linear_top1": trained.linear,
        "random_knn_top1": random.knn, "random_linear_top1": random.linear,
        "n_bank": split.bank.len(), "n_query": split.query.len(),
    });
    let (step, epochs) = (trainer.step_count(), trainer.config().epochs);
    dir.log_event("final_probe", step, epochs, fields.clone())?;
    tandem_train::checkpoint::write_atomic(&dir.path().join("probes.json"), fields.to_string().as_bytes())?;
    Ok(())
}

/// Runs `tandem train`.
pub fn run_train(args: &Args) -> Result<()> {
    let mut config = args.config()?.resolve()?;
    let out = match &args.out {
        Some(p) => p.clone(),
        None if args.resume => anyhow::bail!("--resume needs the run folder: --out RUN_DIR"),
        None => {
            let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
            PathBuf::from(format!("runs/{}-{secs}", config.method))
        }
    };
    let existing = checkpoint::latest(&out.join("checkpoints"))?;
    if existing.is_some() && !args.resume {
        anyhow::bail!("{} already holds a run; pass --resume to continue it, or choose another --out", out.display());
    }
    let mut dir = RunDir::open(&out)?;
    let resume_from = existing;
    if args.resume && resume_from.is_none() {
        eprintln!("no checkpoint in {}: starting the run", out.display());
    }
    if let Some((meta, _)) = &resume_from {
        // The run continues with its own configuration; only the number of epochs may grow.
        let epochs = args.epochs.unwrap_or(meta.config.epochs);
        config = TrainConfig { epochs, ..meta.config.clone() };
        eprintln!("resuming {} from step {} (epoch {})", out.display(), meta.step, meta.epoch);
    }
    let opened = DataSpec {
        data: &config.data,
        format: config.format.as_deref(),
        labels: config.labels.clone(),
        layout: config.layout.as_deref(),
        image_size: config.image_size,
        skip_bad: config.skip_bad,
    }
    .open()?;
    let gpu = super::open_gpu()?;
    let mut trainer = match &resume_from {
        Some((meta, weights)) => {
            let meta = tandem_train::checkpoint::CheckpointMeta { config: config.clone(), ..meta.clone() };
            Trainer::resume(&gpu, &meta, weights, opened.dataset)?
        }
        None => Trainer::new(&gpu, config, opened.dataset)?,
    };
    dir.write_config(&trainer.config().to_toml())?;
    let run_info = serde_json::json!({"adapter": gpu.describe(), "tandem_version": env!("CARGO_PKG_VERSION")});
    tandem_train::checkpoint::write_atomic(&dir.path().join("run.json"), run_info.to_string().as_bytes())?;
    let total = trainer.total_steps();
    let per_epoch = trainer.steps_per_epoch();
    let bar = ProgressBar::new(total).with_position(trainer.step_count());
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps {msg} [{elapsed} < {eta}]").expect("a valid template"),
    );
    let epochs = trainer.config().epochs;
    let mut status = String::new();
    // SIGINT / SIGTERM finish the step in flight, write a checkpoint and exit cleanly.
    let interrupt = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = interrupt.clone();
    ctrlc::set_handler(move || flag.store(true, std::sync::atomic::Ordering::Relaxed))
        .context("cannot install the interrupt handler")?;
    let stop = Stop { after_steps: args.max_steps, interrupt: Some(interrupt.clone()) };
    let result = run(&mut trainer, &mut dir, stop, |event| match event {
        Event::Step(r) => {
            bar.set_position(r.step + 1);
            bar.set_message(format!(
                "epoch {}/{epochs} loss {:.4} lr {:.3e} {:.0} pairs/s{status}",
                r.epoch + 1,
                r.loss,
                r.lr,
                r.pairs_per_s
            ));
        }
        Event::Collapse(_, Some(alarm)) => {
            bar.println(format!("warning: {alarm}"));
            status = " COLLAPSE?".into();
        }
        Event::Collapse(_, None) => {}
        Event::Knn { epoch, top1 } => {
            bar.println(format!("epoch {epoch}: online kNN top-1 on the held-out slice {:.1}%", 100.0 * top1));
        }
    });
    bar.finish_and_clear();
    let encoder = result.with_context(|| format!("training stopped (run folder {})", out.display()))?;
    match encoder {
        Some(path) => {
            println!(
                "trained {} for {epochs} epochs ({total} steps of {per_epoch} per epoch); encoder saved to {}",
                trainer.config().method,
                path.display()
            );
            final_probes(&trainer, &mut dir)?;
        }
        None => println!(
            "{} after step {} of {total}; continue with: tandem train --out {} --resume",
            if interrupt.load(std::sync::atomic::Ordering::Relaxed) {
                "interrupted, checkpoint written,"
            } else {
                "stopped"
            },
            trainer.step_count(),
            out.display()
        ),
    }
    Ok(())
}
