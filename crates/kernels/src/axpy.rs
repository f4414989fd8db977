//! Vector updates (`shaders/linalg/axpy.wgsl`): `y = alpha x + y` and `y = alpha x`.
//! Reference: `tandem_reference::axpy`.

use tandem_gpu::{Recorder, Result, Tensor};

use crate::entry::{EntryKey, R, W, same_len};

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    len: u32,
    alpha: f32,
    _pad: [u32; 2],
}

fn key(entry: &'static str) -> EntryKey {
    EntryKey { file: "linalg/axpy.wgsl", entry, storage: &[R, W] }
}

/// `y = alpha * x + y`. Its backward is `dx = alpha * dy` ([`scale`]), with `dy` passing to `y`.
#[track_caller]
pub fn axpy(rec: &mut Recorder<'_>, alpha: f32, x: &Tensor, y: &Tensor) -> Result<()> {
    same_len("axpy", x, y);
    key("axpy").launch(rec, &[x, y], &Params { len: x.len() as u32, alpha, _pad: [0; 2] }, x.len().div_ceil(4), 256)
}

/// `y = alpha * x`. Its backward is itself: `dx = alpha * dy`.
#[track_caller]
pub fn scale(rec: &mut Recorder<'_>, alpha: f32, x: &Tensor, y: &Tensor) -> Result<()> {
    same_len("scale", x, y);
    key("scale").launch(rec, &[x, y], &Params { len: x.len() as u32, alpha, _pad: [0; 2] }, x.len().div_ceil(4), 256)
}
