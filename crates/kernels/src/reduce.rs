//! Row and column reductions, forward (`shaders/linalg/reduce_fwd.wgsl`) and backward
//! (`reduce_bwd.wgsl`). Reference: `tandem_reference::reduce`.

use tandem_gpu::{Recorder, Result, Tensor};

use crate::entry::{EntryKey, R, W};

/// What to reduce to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceOp {
    /// Sum.
    Sum,
    /// Mean.
    Mean,
    /// Variance with `correction` subtracted from the count (0: biased, 1: unbiased).
    Var {
        /// 0 or 1.
        correction: u32,
    },
}

/// Which lines are reduced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Axis {
    /// One result per row: output length n.
    Rows,
    /// One result per column: output length d.
    Cols,
}

impl Axis {
    fn entry(self) -> &'static str {
        match self {
            Self::Rows => "rows",
            Self::Cols => "cols",
        }
    }

    fn lines(self, (n, d): (usize, usize)) -> usize {
        match self {
            Self::Rows => n,
            Self::Cols => d,
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    d: u32,
    op: u32,
    correction: u32,
}

impl Params {
    fn new((n, d): (usize, usize), op: ReduceOp) -> Self {
        let (op, correction) = match op {
            ReduceOp::Sum => (0, 0),
            ReduceOp::Mean => (1, 0),
            ReduceOp::Var { correction } => (2, correction),
        };
        Self { n: n as u32, d: d as u32, op, correction }
    }
}

/// Reduces each row or column of `x` (n, d) into `out`.
#[track_caller]
pub fn reduce_forward(rec: &mut Recorder<'_>, op: ReduceOp, axis: Axis, x: &Tensor, out: &Tensor) -> Result<()> {
    let dims = x.dims2();
    let lines = axis.lines(dims);
    assert_eq!(out.len(), lines, "reduce {axis:?} of {x:?} into {out:?}");
    let key = EntryKey { file: "linalg/reduce_fwd.wgsl", entry: axis.entry(), storage: &[R, W] };
    key.launch(rec, &[x, out], &Params::new(dims, op), lines, 64)
}

/// `dx` from `dy` (one value per reduced line). `mean` holds the per-line means and is read only for
/// the variance (pass any tensor otherwise).
#[track_caller]
pub fn reduce_backward(
    rec: &mut Recorder<'_>,
    op: ReduceOp,
    axis: Axis,
    x: &Tensor,
    mean: &Tensor,
    dy: &Tensor,
    dx: &Tensor,
) -> Result<()> {
    let dims = x.dims2();
    assert_eq!(dy.len(), axis.lines(dims), "reduce backward {axis:?}: dy {dy:?} for x {x:?}");
    assert_eq!(dx.len(), x.len(), "reduce backward: dx {dx:?} for x {x:?}");
    if matches!(op, ReduceOp::Var { .. }) {
        assert_eq!(mean.len(), dy.len(), "reduce backward: mean {mean:?}");
    }
    let key = EntryKey { file: "linalg/reduce_bwd.wgsl", entry: axis.entry(), storage: &[R, R, R, W] };
    key.launch(rec, &[x, mean, dy, dx], &Params::new(dims, op), x.len(), 256)
}
