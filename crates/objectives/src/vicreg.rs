//! `vicreg`: 25·invariance + 25·(var_a + var_b)/2 + 1·(cov_a + cov_b), as facebookresearch/vicreg
//! `main_vicreg.py` (Bardes, Ponce & LeCun, ICLR 2022). The d×d covariance is formed one column block at a
//! time (`blocks::fit`), so d×d never has to fit one binding.

use tandem_gpu::{Gpu, Recorder, Result, Tensor};
use tandem_kernels::Gemm;
use tandem_kernels::energy::{
    ColumnSum, CrossBlock, PairKind, centre_cols, combine, cross_block, gather_cols, pair_rows, scatter_add_cols,
    sum_to, vicreg_std,
};

use crate::Outputs;
use crate::blocks::{column_sums_over, fit, spans};

/// Variance floor inside the square root.
const EPS: f32 = 1e-4;

pub(crate) struct Scratch {
    rows: Tensor,
    stats: Tensor,
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
            // [column means | unbiased column variances] of the branch being processed.
            stats: gpu.empty(&[2 * d])?,
            xc: gpu.empty_large(&[n, d])?,
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
    let windows = out.windows;
    let nd = (n * d) as f32;
    let nm1 = (n - 1) as f32;
    // Invariance: its gradient initialises both gradients.
    for &(r0, r) in windows {
        let (ga_w, gb_w) = (out.grad_a.rows(r0, r), out.grad_b.rows(r0, r));
        pair_rows(
            rec,
            PairKind::L2,
            &a.rows(r0, r),
            &b.rows(r0, r),
            &s.rows.rows(r0, r),
            &ga_w,
            &gb_w,
            sim * 2.0 / nd,
            0.0,
        )?;
    }
    sum_to(rec, &s.rows, 0..n, out.values, 1, 1.0 / nd)?;
    let mean = s.stats.prefix(&[d]);
    for (branch, (x, grad)) in [(a, out.grad_a), (b, out.grad_b)].into_iter().enumerate() {
        column_sums_over(rec, windows, ColumnSum::Sum, x, &s.stats, 0, 1.0 / n as f32)?;
        column_sums_over(rec, windows, ColumnSum::CentredSq { mean_at: 0 }, x, &s.stats, d, 1.0 / nm1)?;
        for &(r0, r) in windows {
            let xc_w = s.xc.rows(r0, r);
            centre_cols(rec, &x.rows(r0, r), &mean, &xc_w)?;
            vicreg_std(
                rec,
                &xc_w,
                &s.stats,
                n,
                &s.colterm,
                &grad.rows(r0, r),
                (EPS, std / (2.0 * d as f32)),
                branch * d,
            )?;
        }
        for (j0, w) in spans(d, s.width) {
            let xc_j = s.xc_block.prefix(&[n, w]);
            let c_j = s.c_block.prefix(&[d, w]);
            let g_j = s.g_block.prefix(&[n, w]);
            for &(r0, r) in windows {
                gather_cols(rec, &s.xc.rows(r0, r), &xc_j.rows(r0, r), j0, 1.0)?;
            }
            // C[:, J] = xcᵀ xc[:, J] / (n − 1), summed over row windows, then its diagonal zeroed.
            for (i, &(r0, r)) in windows.iter().enumerate() {
                let op = Gemm { alpha: 1.0 / nm1, beta: if i == 0 { 0.0 } else { 1.0 }, ..Gemm::tn() };
                op.record(rec, &s.xc.rows(r0, r), &xc_j.rows(r0, r), &c_j)?;
            }
            cross_block(rec, CrossBlock::Cov, &c_j, &s.covterms, j0, 2 * branch * d)?;
            // d cov_term / dx[:, J] = 4 / (d (n − 1)) · xc · offdiag(C)[:, J].
            let op = Gemm { alpha: cov * 4.0 / (d as f32 * nm1), ..Gemm::nn() };
            for &(r0, r) in windows {
                let g_w = g_j.rows(r0, r);
                op.record(rec, &s.xc.rows(r0, r), &c_j, &g_w)?;
                scatter_add_cols(rec, &g_w, &grad.rows(r0, r), j0, 1.0)?;
            }
        }
    }
    sum_to(rec, &s.colterm, 0..2 * d, out.values, 2, 1.0 / (2.0 * d as f32))?;
    sum_to(rec, &s.covterms, 0..4 * d, out.values, 3, 1.0 / d as f32)?;
    combine(rec, out.values, &[sim, std, cov])
}
