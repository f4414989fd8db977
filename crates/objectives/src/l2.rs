//! `l2`: value = mean_i ‖a_i − b_i‖² (plain joint-embedding energy; denoising reconstruction energy).

use tandem_gpu::{Recorder, Result, Tensor};
use tandem_kernels::energy::{PairKind, pair_rows, sum_to};

use crate::Outputs;

pub(crate) fn record(rec: &mut Recorder<'_>, a: &Tensor, b: &Tensor, rows: &Tensor, out: &Outputs<'_>) -> Result<()> {
    let n = a.dims2().0;
    for &(r0, r) in out.windows {
        let (a_w, b_w, rows_w) = (a.rows(r0, r), b.rows(r0, r), rows.rows(r0, r));
        let (ga_w, gb_w) = (out.grad_a.rows(r0, r), out.grad_b.rows(r0, r));
        pair_rows(rec, PairKind::L2, &a_w, &b_w, &rows_w, &ga_w, &gb_w, 2.0 / n as f32, 0.0)?;
    }
    sum_to(rec, rows, 0..n, out.values, 0, 1.0 / n as f32)
}
