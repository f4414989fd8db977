//! `tandem embed`: features of every sample of a dataset from a trained run's backbone, as NPY.

use std::path::PathBuf;

use anyhow::{Context, Result};
use tandem_train::Encoder;

use super::data_args::DataArgs;
use crate::npy::{write_labels, write_matrix};

/// Arguments of `tandem embed`.
#[derive(clap::Args)]
pub struct Args {
    /// Run folder written by `tandem train` (its newest valid checkpoint is used).
    #[arg(long)]
    pub checkpoint: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Output N x D float32 NPY; labels, when the data has them, go beside it as <stem>.labels.npy.
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `tandem embed`.
pub fn run(args: &Args) -> Result<()> {
    let opened = args.data.open()?;
    let gpu = super::open_gpu()?;
    let encoder = Encoder::load(&gpu, &args.checkpoint, &*opened.dataset)
        .with_context(|| format!("cannot load the encoder from {}", args.checkpoint.display()))?;
    let features = encoder.embed(&opened.dataset)?;
    let (n, d) = (opened.dataset.len(), encoder.dim());
    write_matrix(&args.out, n, d, &features)?;
    let mut written = format!("{n} x {d} features to {}", args.out.display());
    if let Some(labels) = opened.dataset.labels() {
        let path = args.out.with_extension("labels.npy");
        write_labels(&path, labels)?;
        written += &format!(", labels to {}", path.display());
    }
    println!("wrote {written}");
    Ok(())
}
