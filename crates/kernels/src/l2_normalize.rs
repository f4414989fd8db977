//! L2 row normalisation (`shaders/nn/l2_normalize_{fwd,bwd}.wgsl`), as
//! `torch.nn.functional.normalize(x, dim=1, eps)`. Reference: `tandem_reference::l2_normalize`.

use tandem_gpu::{Recorder, Result, Tensor};

use crate::entry::{EntryKey, R, W};

/// PyTorch's default eps for `F.normalize`.
pub const DEFAULT_EPS: f32 = 1e-12;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    d: u32,
    eps: f32,
    _pad: u32,
}

/// `y_i = x_i / max(‖x_i‖, eps)`; saves the row norms (n) for backward.
#[track_caller]
pub fn l2_normalize_forward(rec: &mut Recorder<'_>, eps: f32, x: &Tensor, y: &Tensor, norm: &Tensor) -> Result<()> {
    let (n, d) = x.dims2();
    assert_eq!(y.dims2(), (n, d), "l2_normalize: y {y:?} for x {x:?}");
    assert_eq!(norm.len(), n, "l2_normalize: norm {norm:?} for {n} rows");
    let key = EntryKey { file: "nn/l2_normalize_fwd.wgsl", entry: "main", storage: &[R, W, W] };
    key.launch(rec, &[x, y, norm], &Params { n: n as u32, d: d as u32, eps, _pad: 0 }, n, 64)
}

/// `dx` from `dy`, the forward output `y` and the saved norms (written).
#[track_caller]
pub fn l2_normalize_backward(
    rec: &mut Recorder<'_>,
    eps: f32,
    dy: &Tensor,
    y: &Tensor,
    norm: &Tensor,
    dx: &Tensor,
) -> Result<()> {
    let (n, d) = y.dims2();
    assert!(dy.dims2() == (n, d) && dx.dims2() == (n, d), "l2_normalize backward: shapes {dy:?} {y:?} {dx:?}");
    let key = EntryKey { file: "nn/l2_normalize_bwd.wgsl", entry: "main", storage: &[R, R, R, W] };
    key.launch(rec, &[dy, y, norm, dx], &Params { n: n as u32, d: d as u32, eps, _pad: 0 }, n, 64)
}
