//! Bias add over rows (`shaders/nn/bias_add_fwd.wgsl`), and its backward, the column sum
//! (`energy/column_sums.wgsl`, which can also add into its output). Reference: `tandem_reference::bias`.

use tandem_gpu::{Recorder, Result, Tensor};

use crate::energy::{ColumnSum, column_sums};
use crate::entry::{EntryKey, R, W};

const KEY: EntryKey = EntryKey { file: "nn/bias_add_fwd.wgsl", entry: "main", storage: &[R, W] };

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    rows: u32,
    cols: u32,
    _pad: [u32; 2],
}

/// `y (n, d) += bias (d)` in place.
#[track_caller]
pub fn bias_add_forward(rec: &mut Recorder<'_>, bias: &Tensor, y: &Tensor) -> Result<()> {
    let (n, d) = y.dims2();
    assert_eq!(bias.len(), d, "bias {bias:?} does not match the columns of {y:?}");
    KEY.launch(rec, &[bias, y], &Params { rows: n as u32, cols: d as u32, _pad: [0; 2] }, n * d, 256)
}

/// `dbias = Σ_rows dy`, written, or added to `dbias` when `accumulate`.
#[track_caller]
pub fn bias_add_backward(rec: &mut Recorder<'_>, dy: &Tensor, dbias: &Tensor, accumulate: bool) -> Result<()> {
    let (_, d) = dy.dims2();
    assert_eq!(dbias.len(), d, "bias gradient {dbias:?} does not match the columns of {dy:?}");
    column_sums(rec, ColumnSum::Sum, dy, dbias, 0, 1.0, accumulate)
}
