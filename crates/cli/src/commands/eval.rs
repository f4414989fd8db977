//! `tandem eval`: kNN and linear probes of frozen features, from a trained run (features computed on the
//! fly) or from feature files.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::json;
use tandem_eval::linear::LinearProbe;
use tandem_eval::{knn_top1, linear_top1};
use tandem_train::Encoder;

use super::data_args::DataSpec;
use crate::npy::read_matrix;

/// Arguments of `tandem eval`.
#[derive(clap::Args)]
pub struct Args {
    /// Run folder written by `tandem train` (with --train-data and --test-data).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Labelled training data for the probes (with --checkpoint).
    #[arg(long)]
    pub train_data: Option<String>,
    /// Labelled test data (with --checkpoint).
    #[arg(long)]
    pub test_data: Option<String>,
    /// Format of both datasets (inferred from the paths when absent).
    #[arg(long)]
    pub format: Option<String>,
    /// Side that image-folder images are resized to.
    #[arg(long, default_value_t = 32)]
    pub image_size: usize,
    /// Training features, N x D float NPY (instead of --checkpoint).
    #[arg(long)]
    pub train_features: Option<PathBuf>,
    /// Training labels, int32/int64 NPY of length N.
    #[arg(long)]
    pub train_labels: Option<PathBuf>,
    /// Test features, M x D float NPY.
    #[arg(long)]
    pub test_features: Option<PathBuf>,
    /// Test labels, int32/int64 NPY of length M.
    #[arg(long)]
    pub test_labels: Option<PathBuf>,
    /// knn, linear or both.
    #[arg(long, default_value = "both")]
    pub probe: String,
    /// Neighbours of the kNN probe.
    #[arg(long, default_value_t = 20)]
    pub k: usize,
    /// Temperature of the kNN vote weights exp(s / T).
    #[arg(long, default_value_t = 0.07)]
    pub temperature: f32,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Labelled features on the host.
pub struct Labelled {
    /// n × d values.
    pub features: Vec<f32>,
    /// n labels.
    pub labels: Vec<u32>,
}

fn from_files(features: &Path, labels: &Path) -> Result<(Labelled, usize)> {
    let m = read_matrix(features)?;
    let labels = tandem_data::formats::npy::read_labels(labels, m.rows)?;
    Ok((Labelled { features: m.data, labels }, m.cols))
}

fn from_run(gpu: &tandem_gpu::Gpu, run: &Path, data: &str, args: &Args) -> Result<(Labelled, usize)> {
    let spec = DataSpec {
        data,
        format: args.format.as_deref(),
        labels: None,
        layout: None,
        image_size: args.image_size,
        skip_bad: false,
    };
    let ds = spec.open()?.dataset;
    let Some(labels) = ds.labels().map(<[u32]>::to_vec) else { bail!("{data} has no labels to probe with") };
    let encoder =
        Encoder::load(gpu, run, &*ds).with_context(|| format!("cannot load the encoder from {}", run.display()))?;
    Ok((Labelled { features: encoder.embed(&ds)?, labels }, encoder.dim()))
}

/// Runs `tandem eval`.
pub fn run(args: &Args) -> Result<()> {
    let (do_knn, do_linear) = match args.probe.as_str() {
        "knn" => (true, false),
        "linear" => (false, true),
        "both" => (true, true),
        other => bail!("unknown --probe '{other}': use knn, linear or both"),
    };
    let gpu = super::open_gpu()?;
    let ((train, d), (test, d_test)) = match (&args.checkpoint, &args.train_features) {
        (Some(run), None) => {
            let (Some(tr), Some(te)) = (&args.train_data, &args.test_data) else {
                bail!("--checkpoint needs --train-data and --test-data");
            };
            (from_run(&gpu, run, tr, args)?, from_run(&gpu, run, te, args)?)
        }
        (None, Some(f)) => {
            let (Some(l), Some(tf), Some(tl)) = (&args.train_labels, &args.test_features, &args.test_labels) else {
                bail!("--train-features needs --train-labels, --test-features and --test-labels");
            };
            (from_files(f, l)?, from_files(tf, tl)?)
        }
        _ => bail!(
            "give either --checkpoint RUN_DIR (with --train-data, --test-data) or --train-features and the others"
        ),
    };
    if d != d_test {
        bail!("training features have {d} columns, test features {d_test}");
    }
    let knn = do_knn
        .then(|| {
            knn_top1(&gpu, &train.features, &train.labels, &test.features, &test.labels, d, args.k, args.temperature)
        })
        .transpose()?;
    let linear = do_linear
        .then(|| {
            linear_top1(&gpu, &LinearProbe::default(), &train.features, &train.labels, &test.features, &test.labels, d)
        })
        .transpose()?;
    let mut out = json!({"n_train": train.labels.len(), "n_test": test.labels.len(), "d": d});
    if let Some(a) = knn {
        out["knn_top1"] = json!(a);
    }
    if let Some(a) = linear {
        out["linear_top1"] = json!(a);
    }
    if args.json {
        println!("{out}");
    } else {
        let pct = |a: Option<f64>| a.map_or("-".to_string(), |v| format!("{:.2}%", 100.0 * v));
        println!(
            "kNN top-1 {} (k={}, T={}), linear top-1 {}; {} train / {} test samples, {d} features",
            pct(knn),
            args.k,
            args.temperature,
            pct(linear),
            train.labels.len(),
            test.labels.len()
        );
    }
    Ok(())
}
