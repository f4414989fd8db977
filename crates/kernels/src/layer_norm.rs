//! LayerNorm over the last dimension of `(n, d)`, forward (`shaders/nn/layer_norm_fwd.wgsl`) and
//! backward (`layer_norm_bwd.wgsl`: input gradient per row, parameter gradients per column).
//! Reference: `tandem_reference::layer_norm`.

use tandem_gpu::{Access, Recorder, Result, Tensor};

use crate::entry::{EntryKey, R, W, grads_or_placeholders};

/// What forward saves: per-row mean and inverse standard deviation, each (n).
pub struct LayerNormSaved<'a> {
    /// Mean (n).
    pub mean: &'a Tensor,
    /// `1 / sqrt(var + eps)` (n).
    pub invstd: &'a Tensor,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct FwdParams {
    n: u32,
    d: u32,
    eps: f32,
    affine: u32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct BwdParams {
    n: u32,
    d: u32,
    affine: u32,
    _pad: u32,
}

/// Forward: `y = gamma * (x - mean) * invstd + beta` per row; `affine` is `Some((gamma, beta))`.
#[track_caller]
pub fn layer_norm_forward(
    rec: &mut Recorder<'_>,
    eps: f32,
    x: &Tensor,
    affine: Option<(&Tensor, &Tensor)>,
    y: &Tensor,
    saved: &LayerNormSaved<'_>,
) -> Result<()> {
    let (n, d) = x.dims2();
    assert_eq!(y.dims2(), (n, d), "layer_norm: y {y:?} for x {x:?}");
    assert!(saved.mean.len() == n && saved.invstd.len() == n, "layer_norm: saved statistics must have {n} rows");
    let (gamma, beta) = affine.unwrap_or((x, x));
    let params = FwdParams { n: n as u32, d: d as u32, eps, affine: u32::from(affine.is_some()) };
    const STORAGE: &[Access] = &[R, R, R, W, W, W];
    let key = EntryKey { file: "nn/layer_norm_fwd.wgsl", entry: "main", storage: STORAGE };
    key.launch(rec, &[x, gamma, beta, y, saved.mean, saved.invstd], &params, n, 64)
}

/// Backward: `dx`, and `(dgamma, dbeta)` when `dparams` is given (all written). `gamma` is the forward's
/// scale when it was affine.
#[allow(clippy::too_many_arguments)]
#[track_caller]
pub fn layer_norm_backward(
    rec: &mut Recorder<'_>,
    dy: &Tensor,
    x: &Tensor,
    saved: &LayerNormSaved<'_>,
    gamma: Option<&Tensor>,
    dx: &Tensor,
    dparams: Option<(&Tensor, &Tensor)>,
) -> Result<()> {
    let (n, d) = x.dims2();
    assert_eq!(dy.dims2(), (n, d), "layer_norm backward: dy {dy:?} for x {x:?}");
    let (dgamma, dbeta) = grads_or_placeholders(rec.gpu(), dparams)?;
    let params = BwdParams { n: n as u32, d: d as u32, affine: u32::from(gamma.is_some()), _pad: 0 };
    const STORAGE: &[Access] = &[R, R, R, R, R, W, W, W];
    let bindings = [dy, x, saved.mean, saved.invstd, gamma.unwrap_or(x), dx, &dgamma, &dbeta];
    let key = |entry| EntryKey { file: "nn/layer_norm_bwd.wgsl", entry, storage: STORAGE };
    key("input_grad").launch(rec, &bindings, &params, n, 64)?;
    if dparams.is_some() {
        key("param_grad").launch(rec, &bindings, &params, d, 64)?;
    }
    Ok(())
}
