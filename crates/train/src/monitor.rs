//! Watching a run: collapse metrics of the backbone and head outputs every few steps with an alarm
//! relative to the first reading, and kNN / linear probes on a labelled split (online during training, and
//! against a randomly initialised encoder at the end).

use std::sync::Arc;

use tandem_data::{ChannelStats, Dataset, Subset};
use tandem_eval::linear::LinearProbe;
use tandem_eval::{CollapseMetrics, knn_top1, linear_top1};
use tandem_gpu::Gpu;
use tandem_nn::Network;

use crate::encoder::embed_dataset;
use crate::error::Result;

/// Collapse metrics of one step's embeddings, per network output.
#[derive(Clone, Debug)]
pub struct CollapseReading {
    /// The step they were read after.
    pub step: u64,
    /// `(output name, metrics)`: `backbone`, and the last head (`projector`, `predictor`) where there is
    /// one.
    pub outputs: Vec<(String, CollapseMetrics)>,
}

/// Fires when an output's effective rank or mean std falls below `fraction` of its first reading.
pub struct CollapseAlarm {
    fraction: f64,
    baseline: Vec<(String, f64, f64)>,
}

impl CollapseAlarm {
    /// An alarm at `fraction` (e.g. 0.25) of the first reading.
    pub fn new(fraction: f64) -> Self {
        Self { fraction, baseline: Vec::new() }
    }

    /// The first reading becomes the baseline; later ones return a message when a metric has fallen
    /// below the threshold.
    pub fn check(&mut self, r: &CollapseReading) -> Option<String> {
        if self.baseline.is_empty() {
            self.baseline = r.outputs.iter().map(|(n, m)| (n.clone(), m.effective_rank, m.mean_std)).collect();
            return None;
        }
        for ((name, m), (_, rank0, std0)) in r.outputs.iter().zip(&self.baseline) {
            for (metric, now, start) in [("effective rank", m.effective_rank, *rank0), ("mean std", m.mean_std, *std0)]
            {
                if now < self.fraction * start || !now.is_finite() {
                    return Some(format!(
                        "collapse at step {}: {name} {metric} fell to {now:.4} from {start:.4} (alarm below {:.0}% of the start)",
                        r.step,
                        100.0 * self.fraction
                    ));
                }
            }
        }
        None
    }
}

/// A labelled split for probes: a bank of training samples and a query set.
pub struct ProbeSplit {
    /// Samples the probes are fitted on.
    pub bank: Arc<dyn Dataset>,
    /// Samples they are tested on.
    pub query: Arc<dyn Dataset>,
}

impl ProbeSplit {
    /// The last tenth of `data` (at most 1,024 samples) as the query, up to 4,096 of the others as the
    /// bank; None without labels or with fewer than 20 samples.
    pub fn holdout(data: &Arc<dyn Dataset>) -> Option<Self> {
        data.labels()?;
        let n = data.len();
        if n < 20 {
            return None;
        }
        let q = (n / 10).clamp(1, 1024);
        let bank = (0..(n - q).min(4096)).collect();
        Some(Self {
            bank: Arc::new(Subset::new(data.clone(), bank)),
            query: Arc::new(Subset::new(data.clone(), (n - q..n).collect())),
        })
    }

    /// Up to 4,096 samples of `train` as the bank and all of `test` as the query.
    pub fn with_test(train: &Arc<dyn Dataset>, test: Arc<dyn Dataset>) -> Option<Self> {
        train.labels()?;
        test.labels()?;
        let bank = (0..train.len().min(4096)).collect();
        Some(Self { bank: Arc::new(Subset::new(train.clone(), bank)), query: test })
    }
}

/// kNN and linear top-1 of a backbone's features on a split.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProbeAccuracy {
    /// Weighted kNN (k = 20, T = 0.07).
    pub knn: f64,
    /// Linear probe (None when only kNN was asked for).
    pub linear: Option<f64>,
}

/// Probes `backbone`'s features on `split`.
pub fn probe(
    gpu: &Gpu,
    backbone: &Network,
    stats: &ChannelStats,
    split: &ProbeSplit,
    linear: bool,
) -> Result<ProbeAccuracy> {
    let d = backbone.d_out();
    let bank = embed_dataset(gpu, backbone, stats, &split.bank)?;
    let query = embed_dataset(gpu, backbone, stats, &split.query)?;
    let (bl, ql) = (split.bank.labels().unwrap(), split.query.labels().unwrap());
    let knn = knn_top1(gpu, &bank, bl, &query, ql, d, 20, 0.07).map_err(eval_error)?;
    let linear = linear
        .then(|| linear_top1(gpu, &LinearProbe::default(), &bank, bl, &query, ql, d).map_err(eval_error))
        .transpose()?;
    Ok(ProbeAccuracy { knn, linear })
}

pub(crate) fn eval_error(e: tandem_eval::EvalError) -> crate::TrainError {
    match e {
        tandem_eval::EvalError::Gpu(g) => crate::TrainError::Gpu(g),
        tandem_eval::EvalError::Energy(g) => crate::TrainError::Energy(g),
        tandem_eval::EvalError::Input(m) => crate::TrainError::Config(m),
    }
}

/// kNN and linear probes of the trained backbone and of a randomly initialised one of the same shape and
/// seed (the run's starting point), on `split`: whether learning happened, in two numbers each.
pub fn compare_with_random(trainer: &crate::Trainer<'_>, split: &ProbeSplit) -> Result<(ProbeAccuracy, ProbeAccuracy)> {
    let gpu = trainer.gpu();
    let trained = trainer.method().backbone();
    let random = Network::new(gpu, &trained.config())?;
    let stats = trainer.data_stats();
    Ok((probe(gpu, trained, &stats, split, true)?, probe(gpu, &random, &stats, split, true)?))
}
