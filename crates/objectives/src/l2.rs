//! `l2`: value = mean_i ‖a_i − b_i‖² (plain joint-embedding energy; denoising reconstruction energy).

use tandem_gpu::{Recorder, Result, Tensor};
use tandem_kernels::energy::{PairKind, pair_rows, sum_to};

use crate::Outputs;

pub(crate) fn record(rec: &mut Recorder<'_>, a: &Tensor, b: &Tensor, rows: &Tensor, out: &Outputs<'_>) -> Result<()> {
    let n = a.dims2().0;
    pair_rows(rec, PairKind::L2, a, b, rows, out.grad_a, out.grad_b, 2.0 / n as f32, 0.0)?;
    sum_to(rec, rows, 0..n, out.values, 0, 1.0 / n as f32)
}
