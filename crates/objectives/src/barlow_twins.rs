//! `barlow-twins`: Σ_i (1 − C_ii)² + λ Σ_{i≠j} C_ij², C = âᵀb̂ / n of the per-branch standardised
//! embeddings, as facebookresearch/barlowtwins `main.py` (Zbontar et al., ICML 2021).
//!
//! Two exact routes. With the Gram matrices Ga = ââᵀ and Gb = b̂b̂ᵀ (n×n): ‖C‖²_F = Σ Ga∘Gb / n², so the
//! off-diagonal sum is that minus Σ_j C_jj²; and with dvalue/dC = 2λC + diag(D), D_jj = −2(1 − C_jj) − 2λC_jj,
//! dvalue/dâ = (2λ/n²) Gb â + b̂ diag(D)/n and dvalue/db̂ = (2λ/n²) Ga b̂ + â diag(D)/n. That costs 8n²d FLOP
//! against 6nd² for forming C, so it is taken when 4n < 3d (Barlow Twins' usual 2048 rows of 8192 columns:
//! 3× fewer), the Gram matrices fit one binding and the embeddings one row window. Otherwise C is formed one
//! column block at a time.

use tandem_gpu::{Gpu, Recorder, Result, Tensor};
use tandem_kernels::Gemm;
use tandem_kernels::energy::{
    ColumnSum, CrossBlock, barlow_diagonal, barlow_scale_add, column_sums, combine, cross_block, gather_cols,
    scatter_add_cols, standardise_backward, standardise_forward, sum_to,
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

/// The Gram route's buffers.
struct Gram {
    ga: Tensor,
    gb: Tensor,
    /// [C_jj | D_jj] (2d).
    diag: Tensor,
}

pub(crate) struct Scratch {
    a: Branch,
    b: Branch,
    /// [−C_jj² (Gram route) | off-diagonal sums | on-diagonal terms], d each; the off-diagonal part is
    /// per column of C (direct) or of the Gram matrices (the first n slots); unwritten slots stay zero.
    terms: Tensor,
    gram: Option<Gram>,
    b_block: Tensor,
    c_block: Tensor,
    db_block: Tensor,
    width: usize,
}

impl Scratch {
    /// Whether the Gram route was chosen.
    pub fn uses_gram(&self) -> bool {
        self.gram.is_some()
    }

    pub fn new(gpu: &Gpu, n: usize, d: usize, budget: usize) -> Result<Self> {
        let branch = || -> Result<Branch> {
            Ok(Branch { hat: gpu.empty_large(&[n, d])?, dhat: gpu.empty_large(&[n, d])?, stats: gpu.empty(&[4 * d])? })
        };
        let use_gram = 4 * n < 3 * d && n * d <= budget && n * n <= budget;
        let gram = || -> Result<Gram> {
            Ok(Gram { ga: gpu.empty(&[n, n])?, gb: gpu.empty(&[n, n])?, diag: gpu.empty(&[2 * d])? })
        };
        // Column blocks only when C is formed.
        let width = if use_gram { 1 } else { fit(budget, d, d.max(n)) };
        Ok(Self {
            a: branch()?,
            b: branch()?,
            terms: gpu.zeros(&[3 * d])?,
            gram: use_gram.then(gram).transpose()?,
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
    match &s.gram {
        Some(g) => gram_route(rec, s, g, lambda, n, d)?,
        None => column_blocks(rec, windows, s, lambda, n, d)?,
    }
    for (br, grad) in [(&s.a, out.grad_a), (&s.b, out.grad_b)] {
        column_sums_over(rec, windows, ColumnSum::Sum, &br.dhat, &br.stats, 2 * d, inv_n)?;
        column_sums_over(rec, windows, ColumnSum::Dot(&br.hat), &br.dhat, &br.stats, 3 * d, inv_n)?;
        for &(r0, r) in windows {
            let (dhat_w, hat_w) = (br.dhat.rows(r0, r), br.hat.rows(r0, r));
            standardise_backward(rec, &dhat_w, &hat_w, &br.stats, EPS, &grad.rows(r0, r))?;
        }
    }
    sum_to(rec, &s.terms, 2 * d..3 * d, out.values, 1, 1.0)?;
    sum_to(rec, &s.terms, 0..2 * d, out.values, 2, 1.0)?;
    combine(rec, out.values, &[1.0, lambda])
}

/// dvalue/dâ and dvalue/db̂ into the branches' `dhat`, and the terms, through the Gram matrices (one row
/// window).
fn gram_route(rec: &mut Recorder<'_>, s: &Scratch, g: &Gram, lambda: f32, n: usize, d: usize) -> Result<()> {
    let inv_n = 1.0 / n as f32;
    let (a, b) = (&s.a.hat, &s.b.hat);
    column_sums(rec, ColumnSum::Dot(b), a, &g.diag, 0, inv_n, false)?;
    barlow_diagonal(rec, &g.diag, &s.terms, lambda, (2 * d, 0))?;
    Gemm::nt().record(rec, a, a, &g.ga)?;
    Gemm::nt().record(rec, b, b, &g.gb)?;
    // ‖C‖² = Σ Ga∘Gb / n², per column of the Gram matrices.
    column_sums(rec, ColumnSum::Dot(&g.gb), &g.ga, &s.terms, d, inv_n * inv_n, false)?;
    let op = Gemm { alpha: 2.0 * lambda * inv_n * inv_n, ..Gemm::nn() };
    op.record(rec, &g.gb, a, &s.a.dhat)?;
    barlow_scale_add(rec, b, &g.diag, inv_n, &s.a.dhat)?;
    op.record(rec, &g.ga, b, &s.b.dhat)?;
    barlow_scale_add(rec, a, &g.diag, inv_n, &s.b.dhat)
}

/// The same through C, one column block at a time, over row windows.
fn column_blocks(
    rec: &mut Recorder<'_>,
    windows: &[(usize, usize)],
    s: &Scratch,
    lambda: f32,
    n: usize,
    d: usize,
) -> Result<()> {
    let inv_n = 1.0 / n as f32;
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
        cross_block(rec, CrossBlock::Barlow { lambda }, &c_j, &s.terms, j0, d)?;
        // dvalue/dâ = Σ_J b̂[:, J] G[:, J]ᵀ / n; dvalue/db̂[:, J] = â G[:, J] / n.
        let beta = if j0 == 0 { 0.0 } else { 1.0 };
        for &(r0, r) in windows {
            let (b_w, db_w) = (b_j.rows(r0, r), db_j.rows(r0, r));
            Gemm { alpha: inv_n, beta, ..Gemm::nt() }.record(rec, &b_w, &c_j, &s.a.dhat.rows(r0, r))?;
            Gemm { alpha: inv_n, ..Gemm::nn() }.record(rec, &s.a.hat.rows(r0, r), &c_j, &db_w)?;
            scatter_add_cols(rec, &db_w, &s.b.dhat.rows(r0, r), j0, 1.0)?;
        }
    }
    Ok(())
}
