//! `neg-cosine` (SimSiam, BYOL): value = −mean_i cos(a_i, b_i), norms clamped at 1e-8 as
//! `F.cosine_similarity`. Source: SimSiam (Chen & He, 2021), Algorithm 1.

use tandem_gpu::{Recorder, Result, Tensor};
use tandem_kernels::energy::{PairKind, pair_rows, sum_to};

use crate::Outputs;

/// Norm floor of `torch.nn.functional.cosine_similarity`.
const EPS: f32 = 1e-8;

pub(crate) fn record(rec: &mut Recorder<'_>, a: &Tensor, b: &Tensor, rows: &Tensor, out: &Outputs<'_>) -> Result<()> {
    let n = a.dims2().0;
    for &(r0, r) in out.windows {
        let (a_w, b_w, rows_w) = (a.rows(r0, r), b.rows(r0, r), rows.rows(r0, r));
        let (ga_w, gb_w) = (out.grad_a.rows(r0, r), out.grad_b.rows(r0, r));
        pair_rows(rec, PairKind::Cosine, &a_w, &b_w, &rows_w, &ga_w, &gb_w, -1.0 / n as f32, EPS)?;
    }
    sum_to(rec, rows, 0..n, out.values, 0, -1.0 / n as f32)
}
