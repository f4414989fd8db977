//! `tandem collapse`: collapse metrics of an embedding matrix (and of positive pairs with a second view).

use std::path::PathBuf;

use anyhow::{Result, bail};
use serde_json::json;
use tandem_eval::collapse_metrics;

use crate::npy::read_matrix;

/// Arguments of `tandem collapse`.
#[derive(clap::Args)]
pub struct Args {
    /// Embeddings, N x D float NPY.
    #[arg(long)]
    pub embeddings: PathBuf,
    /// The second view's embeddings (row i pairs with row i), for alignment and pair energies.
    #[arg(long)]
    pub pairs: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Runs `tandem collapse`.
pub fn run(args: &Args) -> Result<()> {
    let z = read_matrix(&args.embeddings)?;
    let pairs = args.pairs.as_ref().map(|p| read_matrix(p)).transpose()?;
    if let Some(p) = &pairs
        && (p.rows, p.cols) != (z.rows, z.cols)
    {
        bail!("--pairs is {}x{} but --embeddings is {}x{}", p.rows, p.cols, z.rows, z.cols);
    }
    let gpu = super::open_gpu()?;
    let tz = gpu.upload(&[z.rows, z.cols], &z.data)?;
    let tp = pairs.map(|p| gpu.upload(&[p.rows, p.cols], &p.data)).transpose()?;
    let m = collapse_metrics(&gpu, &tz, tp.as_ref())?;
    let mut out = json!({
        "n": z.rows, "d": z.cols, "mean_std": m.mean_std, "healthy_std": 1.0 / (z.cols as f64).sqrt(),
        "effective_rank": m.effective_rank, "uniformity": m.uniformity,
    });
    if let (Some(a), Some(neg)) = (m.alignment, m.negative_energy) {
        out["alignment"] = json!(a);
        out["positive_energy"] = json!(a);
        out["negative_energy"] = json!(neg);
    }
    if args.json {
        println!("{out}");
    } else {
        println!(
            "mean std {:.4} (healthy ~{:.4}), effective rank {:.1} of {}, uniformity {:.3}{}",
            m.mean_std,
            1.0 / (z.cols as f64).sqrt(),
            m.effective_rank,
            z.cols.min(z.rows),
            m.uniformity,
            m.alignment.map_or(String::new(), |a| format!(
                ", alignment {a:.4}, negative-pair energy {:.4}",
                m.negative_energy.unwrap()
            ))
        );
    }
    Ok(())
}
