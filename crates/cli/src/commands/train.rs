//! `tandem train`: pretrain an encoder with a self-supervised method; flags override `--config`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use tandem_train::{RunDir, Stop, TrainConfig, Trainer, checkpoint, run};

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
        set!(checkpoint_every, keep_checkpoints, log_every);
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
        Ok(c)
    }
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
    let total = trainer.total_steps();
    let per_epoch = trainer.steps_per_epoch();
    let bar = ProgressBar::new(total).with_position(trainer.step_count());
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps {msg} [{elapsed} < {eta}]").expect("a valid template"),
    );
    let epochs = trainer.config().epochs;
    let result = run(&mut trainer, &mut dir, Stop { after_steps: args.max_steps }, |r| {
        bar.set_position(r.step + 1);
        bar.set_message(format!(
            "epoch {}/{epochs} loss {:.4} lr {:.3e} {:.0} pairs/s",
            r.epoch + 1,
            r.loss,
            r.lr,
            r.pairs_per_s
        ));
    });
    bar.finish_and_clear();
    let encoder = result.with_context(|| format!("training stopped (run folder {})", out.display()))?;
    match encoder {
        Some(path) => println!(
            "trained {} for {epochs} epochs ({total} steps of {per_epoch} per epoch); encoder saved to {}",
            trainer.config().method,
            path.display()
        ),
        None => println!(
            "stopped after step {} of {total}; continue with: tandem train --out {} --resume",
            trainer.step_count(),
            out.display()
        ),
    }
    Ok(())
}
