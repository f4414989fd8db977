//! `barlow-twins`: Σ_i (1 − C_ii)² + λ Σ_{i≠j} C_ij², C = âᵀb̂ / n of the per-branch standardised
//! embeddings, as facebookresearch/barlowtwins `main.py` (Zbontar et al., ICML 2021). C is formed one
//! column block at a time.

use tandem_gpu::{Gpu, Recorder, Result, Tensor};
use tandem_kernels::Gemm;
use tandem_kernels::batch_norm::{
    BatchNormConfig, BatchNormSaved, BatchNormState, batch_norm_backward, batch_norm_forward,
};
use tandem_kernels::energy::{CrossBlock, combine, cross_block, gather_cols, scatter_add_cols, sum_to};

use crate::Outputs;
use crate::blocks::{fit, spans};

/// BatchNorm without affine, eps 1e-5; momentum 0 leaves the (unused) running statistics alone.
const STANDARDISE: BatchNormConfig = BatchNormConfig { eps: 1e-5, momentum: 0.0, affine: false };

/// One branch's standardised embeddings and statistics.
struct Branch {
    hat: Tensor,
    mean: Tensor,
    invstd: Tensor,
    dhat: Tensor,
}

pub(crate) struct Scratch {
    a: Branch,
    b: Branch,
    running_mean: Tensor,
    running_var: Tensor,
    terms: Tensor,
    b_block: Tensor,
    c_block: Tensor,
    db_block: Tensor,
    width: usize,
}

impl Scratch {
    pub fn new(gpu: &Gpu, n: usize, d: usize, budget: usize) -> Result<Self> {
        let branch = || -> Result<Branch> {
            Ok(Branch {
                hat: gpu.empty(&[n, d])?,
                mean: gpu.empty(&[d])?,
                invstd: gpu.empty(&[d])?,
                dhat: gpu.empty(&[n, d])?,
            })
        };
        let width = fit(budget, d, d.max(n));
        Ok(Self {
            a: branch()?,
            b: branch()?,
            running_mean: gpu.zeros(&[d])?,
            running_var: gpu.zeros(&[d])?,
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
    let state = BatchNormState { gamma: None, beta: None, running_mean: &s.running_mean, running_var: &s.running_var };
    for (x, br) in [(a, &s.a), (b, &s.b)] {
        batch_norm_forward(
            rec,
            STANDARDISE,
            true,
            x,
            &state,
            &br.hat,
            &BatchNormSaved { mean: &br.mean, invstd: &br.invstd },
        )?;
    }
    rec.clear(&s.b.dhat);
    let inv_n = 1.0 / n as f32;
    for (j0, w) in spans(d, s.width) {
        let b_j = s.b_block.prefix(&[n, w]);
        let c_j = s.c_block.prefix(&[d, w]);
        let db_j = s.db_block.prefix(&[n, w]);
        gather_cols(rec, &s.b.hat, &b_j, j0, 1.0)?;
        // C[:, J] = âᵀ b̂[:, J] / n, then rewritten as G[:, J] = dvalue/dC[:, J].
        Gemm { alpha: inv_n, ..Gemm::tn() }.record(rec, &s.a.hat, &b_j, &c_j)?;
        cross_block(rec, CrossBlock::Barlow { lambda }, &c_j, &s.terms, j0, 0)?;
        // dvalue/dâ = Σ_J b̂[:, J] G[:, J]ᵀ / n; dvalue/db̂[:, J] = â G[:, J] / n.
        let beta = if j0 == 0 { 0.0 } else { 1.0 };
        Gemm { alpha: inv_n, beta, ..Gemm::nt() }.record(rec, &b_j, &c_j, &s.a.dhat)?;
        Gemm { alpha: inv_n, ..Gemm::nn() }.record(rec, &s.a.hat, &c_j, &db_j)?;
        scatter_add_cols(rec, &db_j, &s.b.dhat, j0, 1.0)?;
    }
    for (x, br, grad) in [(a, &s.a, out.grad_a), (b, &s.b, out.grad_b)] {
        let saved = BatchNormSaved { mean: &br.mean, invstd: &br.invstd };
        batch_norm_backward(rec, STANDARDISE, true, &br.dhat, x, &saved, None, grad, None)?;
    }
    sum_to(rec, &s.terms, d..2 * d, out.values, 1, 1.0)?;
    sum_to(rec, &s.terms, 0..d, out.values, 2, 1.0)?;
    combine(rec, out.values, &[1.0, lambda])
}
