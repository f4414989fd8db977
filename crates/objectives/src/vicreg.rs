//! `vicreg`: 25·invariance + 25·(var_a + var_b)/2 + 1·(cov_a + cov_b), as facebookresearch/vicreg
//! `main_vicreg.py` (Bardes, Ponce & LeCun, ICLR 2022).
//!
//! The covariance term takes whichever of two exact routes costs less. With C = xcᵀxc/(n − 1) (d×d) and
//! the Gram matrix G = xc xcᵀ/(n − 1) (n×n): Σ_{i≠j} C_ij² = ‖G‖²_F − Σ_j C_jj² (trace(C²) = trace(G²))
//! and xc·offdiag(C) = G·xc − xc·diag(C), with C_jj the column variances. So when n < d (a batch narrower
//! than the embedding, as in most VICReg runs: 256 rows of 1024 or 8192 columns) the term and its gradient
//! cost 4n²d FLOP through G instead of 4nd² through C, provided G fits one binding and the embeddings one
//! row window. Otherwise C is formed one column block at a time (`blocks::fit`), so d×d never has to fit
//! one binding.

use tandem_gpu::{Gpu, Recorder, Result, Tensor};
use tandem_kernels::Gemm;
use tandem_kernels::energy::{
    ColumnSum, CrossBlock, PairKind, VicregVariance, centre_cols, column_sums, combine, cross_block, gather_cols,
    pair_rows, scatter_add_cols, sum_to, vicreg_std,
};

use crate::Outputs;
use crate::blocks::{column_sums_over, fit, spans};

/// Variance floor inside the square root.
const EPS: f32 = 1e-4;

pub(crate) struct Scratch {
    rows: Tensor,
    stats: Tensor,
    xc: Tensor,
    terms: Tensor,
    /// G (n, n) when the covariance goes through the Gram matrix.
    gram: Option<Tensor>,
    xc_block: Tensor,
    c_block: Tensor,
    g_block: Tensor,
    width: usize,
}

impl Scratch {
    /// Whether the Gram route was chosen.
    pub fn uses_gram(&self) -> bool {
        self.gram.is_some()
    }

    pub fn new(gpu: &Gpu, n: usize, d: usize, budget: usize) -> Result<Self> {
        let use_gram = n < d && n * d <= budget && n * n <= budget;
        // Column blocks only when the covariance is formed directly.
        let width = if use_gram { 1 } else { fit(budget, d, d.max(n)) };
        Ok(Self {
            rows: gpu.empty(&[n])?,
            // [column means | unbiased column variances] of the branch being processed.
            stats: gpu.empty(&[2 * d])?,
            xc: gpu.empty_large(&[n, d])?,
            // [relu(1 − std) a | same for b | covariance a | covariance b], each covariance part being
            // [off-diagonal sums per column of C (direct) or ‖G‖² per column of G (Gram) | −C_jj² (Gram)];
            // slots a route does not write stay zero.
            terms: gpu.zeros(&[6 * d])?,
            gram: use_gram.then(|| gpu.empty(&[n, n])).transpose()?,
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
    // d cov_term / dx = alpha · xc · offdiag(C).
    let alpha = cov * 4.0 / (d as f32 * nm1);
    for (branch, (x, grad)) in [(a, out.grad_a), (b, out.grad_b)].into_iter().enumerate() {
        let cov_at = 2 * d + 2 * branch * d;
        column_sums_over(rec, windows, ColumnSum::Sum, x, &s.stats, 0, 1.0 / n as f32)?;
        column_sums_over(rec, windows, ColumnSum::CentredSq { mean_at: 0 }, x, &s.stats, d, 1.0 / nm1)?;
        let variance = VicregVariance {
            n,
            eps: EPS,
            coef: std / (2.0 * d as f32),
            at: branch * d,
            gram_diagonal: s.gram.as_ref().map(|_| (cov_at + d, alpha)),
        };
        for &(r0, r) in windows {
            let (xc_w, grad_w) = (s.xc.rows(r0, r), grad.rows(r0, r));
            centre_cols(rec, &x.rows(r0, r), &mean, &xc_w)?;
            vicreg_std(rec, &xc_w, &s.stats, &s.terms, &grad_w, &variance)?;
        }
        match &s.gram {
            Some(g) => {
                // One window: G = xc xcᵀ / (n − 1); ‖G‖² per column; grad += alpha · G xc (the diagonal
                // part, −alpha · xc · diag(C), was applied with the variance term).
                Gemm { alpha: 1.0 / nm1, ..Gemm::nt() }.record(rec, &s.xc, &s.xc, g)?;
                column_sums(rec, ColumnSum::Dot(g), g, &s.terms, cov_at, 1.0, false)?;
                Gemm { alpha, beta: 1.0, ..Gemm::nn() }.record(rec, g, &s.xc, grad)?;
            }
            None => covariance_by_column_blocks(rec, windows, s, cov_at, alpha, grad)?,
        }
    }
    sum_to(rec, &s.terms, 0..2 * d, out.values, 2, 1.0 / (2.0 * d as f32))?;
    sum_to(rec, &s.terms, 2 * d..6 * d, out.values, 3, 1.0 / d as f32)?;
    combine(rec, out.values, &[sim, std, cov])
}

/// The covariance term of the branch whose centred columns are in `s.xc`, through C one column block at a
/// time: off-diagonal sums per column into `terms[cov_at ..]`, `grad += alpha · xc · offdiag(C)`.
fn covariance_by_column_blocks(
    rec: &mut Recorder<'_>,
    windows: &[(usize, usize)],
    s: &Scratch,
    cov_at: usize,
    alpha: f32,
    grad: &Tensor,
) -> Result<()> {
    let (n, d) = s.xc.dims2();
    let nm1 = (n - 1) as f32;
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
        cross_block(rec, CrossBlock::Cov, &c_j, &s.terms, j0, cov_at)?;
        for &(r0, r) in windows {
            let g_w = g_j.rows(r0, r);
            Gemm { alpha, ..Gemm::nn() }.record(rec, &s.xc.rows(r0, r), &c_j, &g_w)?;
            scatter_add_cols(rec, &g_w, &grad.rows(r0, r), j0, 1.0)?;
        }
    }
    Ok(())
}
