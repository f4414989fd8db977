//! `barlow-twins`: Σ_i (1 − C_ii)² + λ Σ_{i≠j} C_ij², C = âᵀb̂ / n of the per-branch standardised
//! embeddings, as facebookresearch/barlowtwins `main.py` (Zbontar et al., ICML 2021). C is formed one
//! column block at a time.

use tandem_gpu::{Gpu, Recorder, Result, Tensor};
use tandem_kernels::Gemm;
use tandem_kernels::energy::{
    ColumnSum, CrossBlock, combine, cross_block, gather_cols, scatter_add_cols, standardise_backward,
    standardise_forward, sum_to,
};

use crate::Outputs;
use crate::blocks::{column_sums_over, fit, spans};

/// The standardisation's variance floor (BatchNorm1d without affine, eps 1e-5).
const EPS: f32 = 1e-5;

/// One branch's standardised embeddings, their gradient, and its column statistics.
struct Branch {
    hat: Tensor,
    dhat: Tensor,
    /// [mean | biased variance | mean(dhat) | mean(dhat · hat)] per column (4d).
    stats: Tensor,
}

pub(crate) struct Scratch {
    a: Branch,
    b: Branch,
    terms: Tensor,
    b_block: Tensor,
    c_block: Tensor,
    db_block: Tensor,
    width: usize,
}

impl Scratch {
    pub fn new(gpu: &Gpu, n: usize, d: usize, budget: usize) -> Result<Self> {
        let branch = || -> Result<Branch> {
            Ok(Branch { hat: gpu.empty_large(&[n, d])?, dhat: gpu.empty_large(&[n, d])?, stats: gpu.empty(&[4 * d])? })
        };
        let width = fit(budget, d, d.max(n));
        Ok(Self {
            a: branch()?,
            b: branch()?,
            terms: gpu.empty(&[2 * d])?,
            b_block: gpu.empty(&[n, width])?,
            c_block: gpu.empty(&[d, width])?,
            db_block: gpu.empty(&[n, width])?,
            width,
        })
    }
}

pub(crate) fn record(
    rec: &mut Recorder<'_>,
    a: &Tensor,
    b: &Tensor,
    s: &Scratch,
    lambda: f32,
    out: &Outputs<'_>,
) -> Result<()> {
    let (n, d) = a.dims2();
    let windows = out.windows;
    let inv_n = 1.0 / n as f32;
    for (x, br) in [(a, &s.a), (b, &s.b)] {
        column_sums_over(rec, windows, ColumnSum::Sum, x, &br.stats, 0, inv_n)?;
        column_sums_over(rec, windows, ColumnSum::CentredSq { mean_at: 0 }, x, &br.stats, d, inv_n)?;
        for &(r0, r) in windows {
            standardise_forward(rec, &x.rows(r0, r), &br.stats, EPS, &br.hat.rows(r0, r))?;
        }
    }
    rec.clear(&s.b.dhat);
    for (j0, w) in spans(d, s.width) {
        let b_j = s.b_block.prefix(&[n, w]);
        let c_j = s.c_block.prefix(&[d, w]);
        let db_j = s.db_block.prefix(&[n, w]);
        for &(r0, r) in windows {
            gather_cols(rec, &s.b.hat.rows(r0, r), &b_j.rows(r0, r), j0, 1.0)?;
        }
        // C[:, J] = âᵀ b̂[:, J] / n summed over row windows, then rewritten as G[:, J] = dvalue/dC[:, J].
        for (i, &(r0, r)) in windows.iter().enumerate() {
            let op = Gemm { alpha: inv_n, beta: if i == 0 { 0.0 } else { 1.0 }, ..Gemm::tn() };
            op.record(rec, &s.a.hat.rows(r0, r), &b_j.rows(r0, r), &c_j)?;
        }
        cross_block(rec, CrossBlock::Barlow { lambda }, &c_j, &s.terms, j0, 0)?;
        // dvalue/dâ = Σ_J b̂[:, J] G[:, J]ᵀ / n; dvalue/db̂[:, J] = â G[:, J] / n.
        let beta = if j0 == 0 { 0.0 } else { 1.0 };
        for &(r0, r) in windows {
            let (b_w, db_w) = (b_j.rows(r0, r), db_j.rows(r0, r));
            Gemm { alpha: inv_n, beta, ..Gemm::nt() }.record(rec, &b_w, &c_j, &s.a.dhat.rows(r0, r))?;
            Gemm { alpha: inv_n, ..Gemm::nn() }.record(rec, &s.a.hat.rows(r0, r), &c_j, &db_w)?;
            scatter_add_cols(rec, &db_w, &s.b.dhat.rows(r0, r), j0, 1.0)?;
        }
    }
    for (br, grad) in [(&s.a, out.grad_a), (&s.b, out.grad_b)] {
        column_sums_over(rec, windows, ColumnSum::Sum, &br.dhat, &br.stats, 2 * d, inv_n)?;
        column_sums_over(rec, windows, ColumnSum::Dot(&br.hat), &br.dhat, &br.stats, 3 * d, inv_n)?;
        for &(r0, r) in windows {
            let (dhat_w, hat_w) = (br.dhat.rows(r0, r), br.hat.rows(r0, r));
            standardise_backward(rec, &dhat_w, &hat_w, &br.stats, EPS, &grad.rows(r0, r))?;
        }
    }
    sum_to(rec, &s.terms, d..2 * d, out.values, 1, 1.0)?;
    sum_to(rec, &s.terms, 0..d, out.values, 2, 1.0)?;
    combine(rec, out.values, &[1.0, lambda])
}
