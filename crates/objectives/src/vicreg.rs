//! `vicreg`: 25·invariance + 25·(var_a + var_b)/2 + 1·(cov_a + cov_b), as facebookresearch/vicreg
//! `main_vicreg.py` (Bardes, Ponce & LeCun, ICLR 2022). The d×d covariance is formed one column block at a
//! time (`blocks::fit`), so d×d never has to fit one binding.

use tandem_gpu::{Gpu, Recorder, Result, Tensor};
use tandem_kernels::Gemm;
use tandem_kernels::energy::{
    CrossBlock, PairKind, centre_cols, combine, cross_block, gather_cols, pair_rows, scatter_add_cols, sum_to,
    vicreg_std,
};
use tandem_kernels::reduce::{Axis, ReduceOp, reduce_forward};

use crate::Outputs;
use crate::blocks::{fit, spans};

/// Variance floor inside the square root.
const EPS: f32 = 1e-4;

pub(crate) struct Scratch {
    rows: Tensor,
    mean: Tensor,
    xc: Tensor,
    colterm: Tensor,
    covterms: Tensor,
    xc_block: Tensor,
    c_block: Tensor,
    g_block: Tensor,
    width: usize,
}

impl Scratch {
    pub fn new(gpu: &Gpu, n: usize, d: usize, budget: usize) -> Result<Self> {
        let width = fit(budget, d, d.max(n));
        Ok(Self {
            rows: gpu.empty(&[n])?,
            mean: gpu.empty(&[d])?,
            xc: gpu.empty(&[n, d])?,
            colterm: gpu.empty(&[2 * d])?,
            // [offdiag a | (unused) | offdiag b | (unused)]: the unused halves stay zero.
            covterms: gpu.zeros(&[4 * d])?,
            xc_block: gpu.empty(&[n, width])?,
            c_block: gpu.empty(&[d, width])?,
            g_block: gpu.empty(&[n, width])?,
            width,
        })
    }
}

pub(crate) fn record(
    rec: &mut Recorder<'_>,
    a: &Tensor,
    b: &Tensor,
    s: &Scratch,
    [sim, std, cov]: [f32; 3],
    out: &Outputs<'_>,
) -> Result<()> {
    let (n, d) = a.dims2();
    let nd = (n * d) as f32;
    let nm1 = (n - 1) as f32;
    // Invariance: its gradient initialises both gradients.
    pair_rows(rec, PairKind::L2, a, b, &s.rows, out.grad_a, out.grad_b, sim * 2.0 / nd, 0.0)?;
    sum_to(rec, &s.rows, 0..n, out.values, 1, 1.0 / nd)?;
    for (branch, (x, grad)) in [(a, out.grad_a), (b, out.grad_b)].into_iter().enumerate() {
        reduce_forward(rec, ReduceOp::Mean, Axis::Cols, x, &s.mean)?;
        centre_cols(rec, x, &s.mean, &s.xc)?;
        vicreg_std(rec, &s.xc, &s.colterm, grad, (EPS, std / (2.0 * d as f32)), branch * d)?;
        for (j0, w) in spans(d, s.width) {
            let xc_j = s.xc_block.prefix(&[n, w]);
            let c_j = s.c_block.prefix(&[d, w]);
            let g_j = s.g_block.prefix(&[n, w]);
            gather_cols(rec, &s.xc, &xc_j, j0, 1.0)?;
            // C[:, J] = xcᵀ xc[:, J] / (n − 1), then its diagonal zeroed: offdiag(C)[:, J].
            Gemm { alpha: 1.0 / nm1, ..Gemm::tn() }.record(rec, &s.xc, &xc_j, &c_j)?;
            cross_block(rec, CrossBlock::Cov, &c_j, &s.covterms, j0, 2 * branch * d)?;
            // d cov_term / dx[:, J] = 4 / (d (n − 1)) · xc · offdiag(C)[:, J].
            Gemm { alpha: cov * 4.0 / (d as f32 * nm1), ..Gemm::nn() }.record(rec, &s.xc, &c_j, &g_j)?;
            scatter_add_cols(rec, &g_j, grad, j0, 1.0)?;
        }
    }
    sum_to(rec, &s.colterm, 0..2 * d, out.values, 2, 1.0 / (2.0 * d as f32))?;
    sum_to(rec, &s.covterms, 0..4 * d, out.values, 3, 1.0 / d as f32)?;
    combine(rec, out.values, &[sim, std, cov])
}
