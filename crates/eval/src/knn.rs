//! The weighted kNN probe (k = 20, T = 0.07 by default, as in Wu et al. 2018 and solo-learn): cosine
//! similarities of L2-normalised features formed one block of test rows at a time with the GEMM, the vote
//! in `shaders/eval/knn_vote.wgsl`.

use tandem_gpu::{Gpu, Recorder};
use tandem_kernels::Gemm;
use tandem_kernels::l2_normalize::l2_normalize_forward;
use tandem_kernels::probe::{MAX_CLASSES, knn_vote};

use crate::error::{EvalError, Result};

/// Check that `data` holds `n` rows of `d` and `labels` one per row.
pub(crate) fn check_rows(what: &str, data: &[f32], d: usize, labels: Option<&[u32]>) -> Result<usize> {
    if d == 0 || data.is_empty() || !data.len().is_multiple_of(d) {
        return Err(EvalError::Input(format!("{what}: {} values are not rows of width {d}", data.len())));
    }
    let n = data.len() / d;
    if let Some(l) = labels
        && l.len() != n
    {
        return Err(EvalError::Input(format!("{what}: {} labels for {n} rows", l.len())));
    }
    Ok(n)
}

/// The kNN class of every test row (`test`: m × d) from the training rows (`train`: n × d, `labels`).
pub fn knn_predict(
    gpu: &Gpu,
    train: &[f32],
    labels: &[u32],
    test: &[f32],
    d: usize,
    k: usize,
    temperature: f32,
) -> Result<Vec<u32>> {
    let n = check_rows("training features", train, d, Some(labels))?;
    let m = check_rows("test features", test, d, None)?;
    let classes = *labels.iter().max().unwrap() as usize + 1;
    if classes > MAX_CLASSES {
        return Err(EvalError::Input(format!("{classes} classes: the kNN probe handles at most {MAX_CLASSES}")));
    }
    if k == 0 || temperature.is_nan() || temperature <= 0.0 {
        return Err(EvalError::Input(format!("k must be >= 1 and the temperature > 0 (got {k}, {temperature})")));
    }
    for (what, rows) in [("training features", n), ("test features", m)] {
        gpu.check_fits(what, (rows * d * 4) as u64)?;
    }
    // The vote's threads each scan a 64th of the bank once per neighbour, then reduce
    // (shaders/eval/knn_vote.wgsl): a bound on their loop iterations, checked against llvmpipe at k = 200.
    let iterations = (k * (n.div_ceil(64) + 16) + 64) as u64;
    if let Some(budget) = gpu.loop_budget().filter(|&b| iterations > b) {
        return Err(EvalError::Input(format!(
            "a kNN vote with k = {k} over {n} training rows needs {iterations} loop iterations per shader \
             invocation, over this device's {budget} (llvmpipe); use a smaller k or fewer training rows"
        )));
    }
    let budget = ((gpu.limits().max_storage_buffer_binding_size / 4) as usize).min(1 << 24);
    let rows = (budget / n).clamp(1, m);
    gpu.check_fits("a block of kNN similarities", (rows * n * 4) as u64)?;
    let tr = gpu.upload(&[n, d], train)?;
    let te = gpu.upload(&[m, d], test)?;
    let (trn, ten) = (gpu.empty(&[n, d])?, gpu.empty(&[m, d])?);
    let (norm_tr, norm_te) = (gpu.empty(&[n])?, gpu.empty(&[m])?);
    let label_values: Vec<f32> = labels.iter().map(|&l| l as f32).collect();
    let tl = gpu.upload(&[n], &label_values)?;
    let out = gpu.empty(&[m])?;
    let (block, sims) = (gpu.empty(&[rows, d])?, gpu.empty(&[rows, n])?);
    let mut rec = Recorder::new(gpu);
    l2_normalize_forward(&mut rec, 1e-12, &tr, &trn, &norm_tr)?;
    l2_normalize_forward(&mut rec, 1e-12, &te, &ten, &norm_te)?;
    for r0 in (0..m).step_by(rows) {
        let b = rows.min(m - r0);
        rec.copy_range(&ten, r0 * d, &block, 0, b * d);
        let s = sims.prefix(&[b, n]);
        Gemm::nt().record(&mut rec, &block.prefix(&[b, d]), &trn, &s)?;
        knn_vote(&mut rec, &s, &tl, &out, r0, k, classes, temperature)?;
    }
    rec.submit()?;
    Ok(gpu.download(&out)?.into_iter().map(|c| c as u32).collect())
}

/// Top-1 accuracy of the kNN probe.
#[allow(clippy::too_many_arguments)]
pub fn knn_top1(
    gpu: &Gpu,
    train: &[f32],
    labels: &[u32],
    test: &[f32],
    test_labels: &[u32],
    d: usize,
    k: usize,
    temperature: f32,
) -> Result<f64> {
    check_rows("test features", test, d, Some(test_labels))?;
    Ok(crate::top1(&knn_predict(gpu, train, labels, test, d, k, temperature)?, test_labels))
}
