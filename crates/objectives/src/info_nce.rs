//! `info-nce` (SimCLR's NT-Xent; Chen et al., ICML 2020, eq. 1). The 2n×2n similarity matrix is never
//! materialised: rows are processed in blocks of R (`blocks::fit`, with R·2n no larger than the embeddings
//! themselves), one pass for the log-sum-exp of every row and one for the gradient, each block's
//! similarities recomputed by the GEMM. Device memory is O(n·d).

use tandem_gpu::{Gpu, Recorder, Result, Tensor};
use tandem_kernels::Gemm;
use tandem_kernels::energy::{InfoNceForward, info_nce_weights, sum_to};
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
    z: Tensor,
    lse: Tensor,
    loss: Tensor,
    z_block: Tensor,
    s_block: Tensor,
    dz_block: Tensor,
    dz: Tensor,
    dz_b: Tensor,
    rows: usize,
}

impl Scratch {
    pub fn new(gpu: &Gpu, n: usize, d: usize, budget: usize) -> Result<Self> {
        let m = 2 * n;
        // A block of similarities holds no more values than z itself (O(n·d)) and fits one binding.
        let rows = fit(budget, m, m).min(d.max(64)).min(m);
        Ok(Self {
            za: gpu.empty(&[n, d])?,
            zb: gpu.empty(&[n, d])?,
            norm_a: gpu.empty(&[n])?,
            norm_b: gpu.empty(&[n])?,
            z: gpu.empty(&[m, d])?,
            lse: gpu.empty(&[m])?,
            loss: gpu.empty(&[m])?,
            z_block: gpu.empty(&[rows, d])?,
            s_block: gpu.empty(&[rows, m])?,
            dz_block: gpu.empty(&[rows, d])?,
            dz: gpu.empty(&[m, d])?,
            dz_b: gpu.empty(&[n, d])?,
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
    let inv_tau = 1.0 / temperature;
    l2_normalize_forward(rec, EPS, a, &s.za, &s.norm_a)?;
    l2_normalize_forward(rec, EPS, b, &s.zb, &s.norm_b)?;
    rec.copy_range(&s.za, 0, &s.z, 0, n * d);
    rec.copy_range(&s.zb, 0, &s.z, n * d, n * d);
    // The block's scaled similarities s_ik = z_i · z_k / τ for rows r0 .. r0 + r.
    let similarities = |rec: &mut Recorder<'_>, r0: usize, r: usize| -> Result<(Tensor, Tensor)> {
        let (z_r, s_r) = (s.z_block.prefix(&[r, d]), s.s_block.prefix(&[r, m]));
        rec.copy_range(&s.z, r0 * d, &z_r, 0, r * d);
        Gemm { alpha: inv_tau, ..Gemm::nt() }.record(rec, &z_r, &s.z, &s_r)?;
        Ok((z_r, s_r))
    };
    for (r0, r) in spans(m, s.rows) {
        let (_, s_r) = similarities(rec, r0, r)?;
        InfoNceForward { s: &s_r, z: &s.z, lse: &s.lse, loss: &s.loss }.lse_rows(rec, r0)?;
    }
    // loss_rows reads only z and lse; the similarity binding just needs a (_, m) tensor.
    let unused = s.s_block.prefix(&[1, m]);
    InfoNceForward { s: &unused, z: &s.z, lse: &s.lse, loss: &s.loss }.loss_rows(rec, inv_tau)?;
    sum_to(rec, &s.loss, 0..m, out.values, 0, 1.0 / m as f32)?;
    // dvalue/dz = W z / (2n τ), W from each block's similarities.
    for (r0, r) in spans(m, s.rows) {
        let (_, s_r) = similarities(rec, r0, r)?;
        info_nce_weights(rec, &s.lse, &s_r, r0)?;
        let dz_r = s.dz_block.prefix(&[r, d]);
        Gemm { alpha: inv_tau / m as f32, ..Gemm::nn() }.record(rec, &s_r, &s.z, &dz_r)?;
        rec.copy_range(&dz_r, 0, &s.dz, r0 * d, r * d);
    }
    // The first half of dz is a's part (a prefix); b's part is copied out.
    rec.copy_range(&s.dz, n * d, &s.dz_b, 0, n * d);
    l2_normalize_backward(rec, EPS, &s.dz.prefix(&[n, d]), &s.za, &s.norm_a, out.grad_a)?;
    l2_normalize_backward(rec, EPS, &s.dz_b, &s.zb, &s.norm_b, out.grad_b)
}
