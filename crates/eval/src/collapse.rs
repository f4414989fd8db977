//! Collapse metrics of an embedding matrix z (n × d) on the device: the mean per-dimension standard
//! deviation of the L2-normalised rows (healthy ≈ 1/√d, collapsed → 0); RankMe's effective rank (Garrido
//! et al. 2023) from the singular values of z itself (uncentred; the Gram matrix is formed on the device
//! and its eigenvalues taken on the host); Wang & Isola's uniformity log E_{i≠j} exp(−2‖z_i − z_j‖²); and,
//! with a second view, alignment E‖a_i − b_i‖² and the mean energy ‖a_i − b_j‖² of positive and negative
//! pairs, all on normalised rows.

use tandem_gpu::{Gpu, Recorder, Tensor};
use tandem_kernels::Gemm;
use tandem_kernels::l2_normalize::l2_normalize_forward;
use tandem_kernels::probe::pair_exp_rows;
use tandem_kernels::reduce::{Axis, ReduceOp, reduce_forward};
use tandem_objectives::Objective;

use crate::error::{EvalError, Result};

/// The metrics of one embedding matrix (and its pair, when given).
#[derive(Clone, Debug, PartialEq)]
pub struct CollapseMetrics {
    /// Mean over dimensions of the (unbiased) std of the normalised rows.
    pub mean_std: f64,
    /// RankMe: exp of the entropy of σ_k / Σσ (+ 1e-7).
    pub effective_rank: f64,
    /// log of the mean over distinct pairs of exp(−2‖z_i − z_j‖²).
    pub uniformity: f64,
    /// Mean ‖a_i − b_i‖² over positive pairs (with a second view), = the mean positive-pair energy.
    pub alignment: Option<f64>,
    /// Mean ‖a_i − b_j‖², i ≠ j, over negative pairs (with a second view).
    pub negative_energy: Option<f64>,
}

/// RankMe from eigenvalues of zᵀz (or zzᵀ): σ = √max(λ, 0).
pub fn effective_rank_from_gram(gram: &[f32], side: usize) -> f64 {
    let m = nalgebra::DMatrix::from_fn(side, side, |i, j| f64::from(gram[i * side + j]));
    let eig = m.symmetric_eigenvalues();
    let sigma: Vec<f64> = eig.iter().map(|l| l.max(0.0).sqrt()).collect();
    let total = sigma.iter().sum::<f64>().max(1e-300);
    sigma.iter().map(|s| s / total + 1e-7).map(|p| -p * p.ln()).sum::<f64>().exp()
}

/// The metrics of `z` (n × d), and of the pairs `(z_i, pairs_i)` when `pairs` (n × d) is given.
pub fn collapse_metrics(gpu: &Gpu, z: &Tensor, pairs: Option<&Tensor>) -> Result<CollapseMetrics> {
    let (n, d) = z.dims2();
    if n < 2 {
        return Err(EvalError::Input(format!("collapse metrics need at least 2 rows, got {n}")));
    }
    if let Some(p) = pairs
        && p.shape() != z.shape()
    {
        return Err(EvalError::Input(format!(
            "pairs {:?} differ in shape from the embeddings {:?}",
            p.shape(),
            z.shape()
        )));
    }
    let side = n.min(d);
    gpu.check_fits("the Gram matrix for the effective rank", (side * side * 4) as u64)?;
    let budget = ((gpu.limits().max_storage_buffer_binding_size / 4) as usize).min(1 << 24);
    let rows = (budget / n).clamp(1, n);
    let (zn, norms, var) = (gpu.empty(&[n, d])?, gpu.empty(&[n])?, gpu.empty(&[d])?);
    let gram = gpu.empty(&[side, side])?;
    let (block, sims, row_sums) = (gpu.empty(&[rows, d])?, gpu.empty(&[rows, n])?, gpu.empty(&[n])?);
    let mut rec = Recorder::new(gpu);
    l2_normalize_forward(&mut rec, 1e-12, z, &zn, &norms)?;
    reduce_forward(&mut rec, ReduceOp::Var { correction: 1 }, Axis::Cols, &zn, &var)?;
    if d <= n {
        Gemm::tn().record(&mut rec, z, z, &gram)?;
    } else {
        Gemm::nt().record(&mut rec, z, z, &gram)?;
    }
    for r0 in (0..n).step_by(rows) {
        let b = rows.min(n - r0);
        rec.copy_range(&zn, r0 * d, &block, 0, b * d);
        let s = sims.prefix(&[b, n]);
        Gemm::nt().record(&mut rec, &block.prefix(&[b, d]), &zn, &s)?;
        pair_exp_rows(&mut rec, &s, &row_sums, r0, 4.0, -4.0)?;
    }
    let pair_parts = match pairs {
        Some(p) => {
            let (pn, pnorm) = (gpu.empty(&[n, d])?, gpu.empty(&[n])?);
            l2_normalize_forward(&mut rec, 1e-12, p, &pn, &pnorm)?;
            let plan = Objective::L2.plan(gpu, n, d)?;
            plan.record(&mut rec, &zn, &pn)?;
            let (sa, sb) = (gpu.empty(&[d])?, gpu.empty(&[d])?);
            reduce_forward(&mut rec, ReduceOp::Sum, Axis::Cols, &zn, &sa)?;
            reduce_forward(&mut rec, ReduceOp::Sum, Axis::Cols, &pn, &sb)?;
            Some((plan, sa, sb))
        }
        None => None,
    };
    rec.submit()?;
    let var = gpu.download(&var)?;
    let mean_std = var.iter().map(|v| f64::from(v.max(0.0)).sqrt()).sum::<f64>() / d as f64;
    let effective_rank = effective_rank_from_gram(&gpu.download(&gram)?, side);
    let pairs_count = (n * (n - 1)) as f64;
    let uniformity = (gpu.download(&row_sums)?.iter().map(|&v| f64::from(v)).sum::<f64>() / pairs_count).ln();
    let (alignment, negative_energy) = match pair_parts {
        Some((plan, sa, sb)) => {
            let align = f64::from(gpu.download(plan.values())?[0]);
            let (sa, sb) = (gpu.download(&sa)?, gpu.download(&sb)?);
            let all: f64 = sa.iter().zip(&sb).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
            // ‖a − b‖² = 2 − 2 a·b on unit rows; the positive pairs' dot products sum to n (1 − align / 2).
            let positive_dots = n as f64 * (1.0 - align / 2.0);
            (Some(align), Some(2.0 - 2.0 * (all - positive_dots) / pairs_count))
        }
        None => (None, None),
    };
    Ok(CollapseMetrics { mean_std, effective_rank, uniformity, alignment, negative_energy })
}
