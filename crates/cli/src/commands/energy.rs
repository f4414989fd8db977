//! `tandem energy`: one joint-embedding energy on the device for two NPY embedding matrices, printed as
//! JSON, with the gradients optionally written as NPY.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use serde_json::json;
use tandem_gpu::Recorder;
use tandem_objectives::Objective;

use crate::npy::{read_matrix, write_matrix};

/// Arguments of `tandem energy`.
#[derive(clap::Args)]
pub struct Args {
    /// info-nce, vicreg, barlow-twins, neg-cosine or l2.
    #[arg(long)]
    pub objective: String,
    /// First view's embeddings: N x D float32/float64 NPY, C order.
    #[arg(long)]
    pub a: PathBuf,
    /// Second view's embeddings, same shape.
    #[arg(long)]
    pub b: PathBuf,
    /// info-nce temperature.
    #[arg(long, default_value_t = 0.1)]
    pub temperature: f32,
    /// vicreg invariance weight.
    #[arg(long, default_value_t = 25.0)]
    pub sim_coeff: f32,
    /// vicreg variance weight.
    #[arg(long, default_value_t = 25.0)]
    pub std_coeff: f32,
    /// vicreg covariance weight.
    #[arg(long, default_value_t = 1.0)]
    pub cov_coeff: f32,
    /// barlow-twins off-diagonal weight.
    #[arg(long, default_value_t = 0.0051)]
    pub lambda: f32,
    /// Write grad_a.npy and grad_b.npy (float32, N x D) into this directory.
    #[arg(long)]
    pub grad_out: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// The objective named on the command line, with its hyper-parameters.
pub fn objective(name: &str, args: &Args) -> Result<Objective> {
    Ok(match Objective::from_name(name) {
        Some(Objective::InfoNce { .. }) => Objective::InfoNce { temperature: args.temperature },
        Some(Objective::Vicreg { .. }) => {
            Objective::Vicreg { sim: args.sim_coeff, std: args.std_coeff, cov: args.cov_coeff }
        }
        Some(Objective::BarlowTwins { .. }) => Objective::BarlowTwins { lambda: args.lambda },
        Some(other) => other,
        None => bail!("unknown objective '{name}': use one of {}", Objective::NAMES.join(", ")),
    })
}

/// Runs `tandem energy`.
pub fn run(args: &Args) -> Result<()> {
    let obj = objective(&args.objective, args)?;
    let a = read_matrix(&args.a)?;
    let b = read_matrix(&args.b)?;
    if (a.rows, a.cols) != (b.rows, b.cols) {
        bail!("shape mismatch: --a is {}x{} but --b is {}x{}", a.rows, a.cols, b.rows, b.cols);
    }
    let (n, d) = (a.rows, a.cols);
    let gpu = super::open_gpu()?;
    let plan = obj.plan(&gpu, n, d)?;
    // The embeddings may exceed one storage binding: the plan processes them in row windows.
    let (ta, tb) = (gpu.empty_large(&[n, d])?, gpu.empty_large(&[n, d])?);
    gpu.write(&ta, &a.data);
    gpu.write(&tb, &b.data);
    let mut rec = Recorder::new(&gpu);
    plan.record(&mut rec, &ta, &tb)?;
    rec.submit()?;
    let values = gpu.download(plan.values())?;
    let terms: serde_json::Map<String, serde_json::Value> =
        obj.term_names().iter().zip(&values[1..]).map(|(k, v)| (k.to_string(), json!(v))).collect();
    if let Some(dir) = &args.grad_out {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        write_matrix(&dir.join("grad_a.npy"), n, d, &gpu.download(plan.grad_a())?)?;
        write_matrix(&dir.join("grad_b.npy"), n, d, &gpu.download(plan.grad_b())?)?;
    }
    let out = json!({ "objective": obj.name(), "n": n, "d": d, "value": values[0], "terms": terms });
    if args.json {
        println!("{out}");
    } else {
        println!("{} over {n}x{d}: {} {terms:?}", obj.name(), values[0]);
    }
    Ok(())
}
