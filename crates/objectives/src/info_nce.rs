//! `info-nce` (SimCLR's NT-Xent; Chen et al., ICML 2020, eq. 1). The 2n×2n similarity matrix is never
//! materialised: rows are processed in blocks of R (`blocks::fit`, with R·2n no larger than the embeddings
//! themselves), one pass for the log-sum-exp of every row and one for the gradient, each block's
//! similarities recomputed by the GEMM. Device memory is O(n·d).

use tandem_gpu::{Gpu, Recorder, Result, Tensor};
use tandem_kernels::Gemm;
use tandem_kernels::energy::{info_nce_loss, info_nce_lse, info_nce_weights, sum_to};
use tandem_kernels::gemm::GemmWindow;
use tandem_kernels::l2_normalize::{l2_normalize_backward, l2_normalize_forward};

use crate::Outputs;
use crate::blocks::{fit, spans};

/// Norm floor of the row normalisation (`F.normalize`).
const EPS: f32 = 1e-12;

pub(crate) struct Scratch {
    za: Tensor,
    zb: Tensor,
    norm_a: Tensor,
    norm_b: Tensor,
    lse: Tensor,
    loss: Tensor,
    z_block: Tensor,
    s_block: Tensor,
    dz_block: Tensor,
    dz_a: Tensor,
    dz_b: Tensor,
    rows: usize,
}

impl Scratch {
    pub fn new(gpu: &Gpu, n: usize, d: usize, budget: usize) -> Result<Self> {
        let m = 2 * n;
        // A block of similarities holds no more values than the embeddings (O(n·d)) and fits one binding;
        // blocks never straddle the two halves.
        let rows = fit(budget, m, m).min(d.max(64)).min(n);
        Ok(Self {
            za: gpu.empty_large(&[n, d])?,
            zb: gpu.empty_large(&[n, d])?,
            norm_a: gpu.empty(&[n])?,
            norm_b: gpu.empty(&[n])?,
            lse: gpu.empty(&[m])?,
            loss: gpu.empty(&[m])?,
            z_block: gpu.empty(&[rows, d])?,
            s_block: gpu.empty(&[rows, m])?,
            dz_block: gpu.empty(&[rows, d])?,
            dz_a: gpu.empty_large(&[n, d])?,
            dz_b: gpu.empty_large(&[n, d])?,
            rows,
        })
    }
}

pub(crate) fn record(
    rec: &mut Recorder<'_>,
    a: &Tensor,
    b: &Tensor,
    s: &Scratch,
    temperature: f32,
    out: &Outputs<'_>,
) -> Result<()> {
    let (n, d) = a.dims2();
    let m = 2 * n;
    let windows = out.windows;
    let inv_tau = 1.0 / temperature;
    for &(r0, r) in windows {
        l2_normalize_forward(rec, EPS, &a.rows(r0, r), &s.za.rows(r0, r), &s.norm_a.rows(r0, r))?;
        l2_normalize_forward(rec, EPS, &b.rows(r0, r), &s.zb.rows(r0, r), &s.norm_b.rows(r0, r))?;
    }
    // z = [za; zb] is never formed (2n·d values may exceed a binding where n·d does not): row blocks
    // come from one half, and each block's similarities to a row window of each half fill that window's
    // columns of the block.
    let halves = [(&s.za, 0, &s.dz_a), (&s.zb, n, &s.dz_b)];
    let similarities = |rec: &mut Recorder<'_>, half: &Tensor, r0: usize, r: usize| -> Result<(Tensor, Tensor)> {
        let (z_r, s_r) = (s.z_block.prefix(&[r, d]), s.s_block.prefix(&[r, m]));
        rec.copy_range(half, r0 * d, &z_r, 0, r * d);
        let op = Gemm { alpha: inv_tau, ..Gemm::nt() };
        for (k, z) in [&s.za, &s.zb].into_iter().enumerate() {
            for &(c0, c) in windows {
                let w = GemmWindow { c_offset: k * n + c0, ldc: Some(m), ..GemmWindow::dense(r, c, d) };
                op.record_window(rec, &z_r, &z.rows(c0, c), &s_r, w)?;
            }
        }
        Ok((z_r, s_r))
    };
    for (half, base, _) in halves {
        for (r0, r) in spans(n, s.rows) {
            let (_, s_r) = similarities(rec, half, r0, r)?;
            info_nce_lse(rec, &s_r, &s.lse, base + r0)?;
        }
    }
    for &(r0, r) in windows {
        info_nce_loss(rec, (&s.za.rows(r0, r), &s.zb.rows(r0, r)), &s.lse, &s.loss, r0, inv_tau)?;
    }
    sum_to(rec, &s.loss, 0..m, out.values, 0, 1.0 / m as f32)?;
    // dvalue/dz = W z / (2n τ), W from each block's similarities: W_r · z = W_r[:, ..n] za + W_r[:, n..] zb,
    // each a sum over the row windows of za and zb.
    for (half, base, dz) in halves {
        for (r0, r) in spans(n, s.rows) {
            let (_, s_r) = similarities(rec, half, r0, r)?;
            info_nce_weights(rec, &s.lse, &s_r, base + r0)?;
            let dz_r = s.dz_block.prefix(&[r, d]);
            for (k, z) in [&s.za, &s.zb].into_iter().enumerate() {
                for (i, &(c0, c)) in windows.iter().enumerate() {
                    let beta = if k == 0 && i == 0 { 0.0 } else { 1.0 };
                    let op = Gemm { alpha: inv_tau / m as f32, beta, ..Gemm::nn() };
                    let w = GemmWindow { a_offset: k * n + c0, lda: Some(m), ..GemmWindow::dense(r, d, c) };
                    op.record_window(rec, &s_r, &z.rows(c0, c), &dz_r, w)?;
                }
            }
            rec.copy_range(&dz_r, 0, dz, r0 * d, r * d);
        }
    }
    for &(r0, r) in windows {
        let norm_a = s.norm_a.rows(r0, r);
        l2_normalize_backward(rec, EPS, &s.dz_a.rows(r0, r), &s.za.rows(r0, r), &norm_a, &out.grad_a.rows(r0, r))?;
        let norm_b = s.norm_b.rows(r0, r);
        l2_normalize_backward(rec, EPS, &s.dz_b.rows(r0, r), &s.zb.rows(r0, r), &norm_b, &out.grad_b.rows(r0, r))?;
    }
    Ok(())
}
