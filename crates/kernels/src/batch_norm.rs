//! BatchNorm1d over `(n, d)`, forward (`shaders/nn/batch_norm_fwd.wgsl`: training and eval) and backward
//! (`batch_norm_bwd.wgsl`). Reference: `tandem_reference::batch_norm`.

use tandem_gpu::{Access, Recorder, Result, Tensor};

use crate::entry::{EntryKey, R, W, grads_or_placeholders};

/// BatchNorm hyper-parameters (PyTorch's defaults: eps 1e-5, momentum 0.1, affine).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNormConfig {
    /// Added to the variance inside the square root.
    pub eps: f32,
    /// Weight of the new batch statistic in the running averages.
    pub momentum: f32,
    /// Whether the learnable scale gamma and shift beta are applied.
    pub affine: bool,
}

impl Default for BatchNormConfig {
    fn default() -> Self {
        Self { eps: 1e-5, momentum: 0.1, affine: true }
    }
}

/// A BatchNorm layer's state on the device: affine parameters (when affine) and running statistics.
pub struct BatchNormState<'a> {
    /// Scale (d), when affine.
    pub gamma: Option<&'a Tensor>,
    /// Shift (d), when affine.
    pub beta: Option<&'a Tensor>,
    /// Running mean (d), updated in training mode.
    pub running_mean: &'a Tensor,
    /// Running (unbiased) variance (d), updated in training mode.
    pub running_var: &'a Tensor,
}

/// What forward saves for backward: the per-column mean and inverse standard deviation it used.
pub struct BatchNormSaved<'a> {
    /// Mean (d).
    pub mean: &'a Tensor,
    /// `1 / sqrt(var + eps)` (d).
    pub invstd: &'a Tensor,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct FwdParams {
    n: u32,
    d: u32,
    eps: f32,
    momentum: f32,
    affine: u32,
    update_running: u32,
    _pad: [u32; 2],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct BwdParams {
    n: u32,
    d: u32,
    affine: u32,
    batch_stats: u32,
    accumulate: u32,
    _pad: [u32; 3],
}

fn check_affine(cfg: &BatchNormConfig, a: Option<&Tensor>, b: Option<&Tensor>) {
    assert_eq!(cfg.affine, a.is_some() && b.is_some(), "batch_norm: affine tensors must be given exactly when affine");
}

/// Forward: `y = gamma * (x - mean) * invstd + beta`, with batch statistics (training, which also updates
/// the running statistics) or running statistics (eval). Writes `saved` for the backward pass.
#[track_caller]
pub fn batch_norm_forward(
    rec: &mut Recorder<'_>,
    cfg: BatchNormConfig,
    training: bool,
    x: &Tensor,
    state: &BatchNormState<'_>,
    y: &Tensor,
    saved: &BatchNormSaved<'_>,
) -> Result<()> {
    let (n, d) = x.dims2();
    assert_eq!(y.dims2(), (n, d), "batch_norm: y {y:?} for x {x:?}");
    check_affine(&cfg, state.gamma, state.beta);
    // Read-only slots the kernel does not touch when not affine can alias x.
    let gamma = state.gamma.unwrap_or(x);
    let beta = state.beta.unwrap_or(x);
    let params = FwdParams {
        n: n as u32,
        d: d as u32,
        eps: cfg.eps,
        momentum: cfg.momentum,
        affine: u32::from(cfg.affine),
        update_running: u32::from(training),
        _pad: [0; 2],
    };
    const STORAGE: &[Access] = &[R, R, R, W, W, W, W, W];
    let entry = if training { "train" } else { "eval" };
    let key = EntryKey { file: "nn/batch_norm_fwd.wgsl", entry, storage: STORAGE };
    key.launch(
        rec,
        &[x, gamma, beta, state.running_mean, state.running_var, y, saved.mean, saved.invstd],
        &params,
        d,
        64,
    )
}

/// Backward: `dx` (written), and `(dgamma, dbeta)` when affine (written, or added to when `accumulate`:
/// the second view of a step adds its parameter gradients to the first's). `training` must match the
/// forward call: batch statistics have a gradient through the mean and variance.
#[allow(clippy::too_many_arguments)]
#[track_caller]
pub fn batch_norm_backward(
    rec: &mut Recorder<'_>,
    cfg: BatchNormConfig,
    training: bool,
    dy: &Tensor,
    x: &Tensor,
    saved: &BatchNormSaved<'_>,
    gamma: Option<&Tensor>,
    dx: &Tensor,
    dparams: Option<(&Tensor, &Tensor)>,
    accumulate: bool,
) -> Result<()> {
    let (n, d) = x.dims2();
    assert_eq!(dy.dims2(), (n, d), "batch_norm backward: dy {dy:?} for x {x:?}");
    check_affine(&cfg, gamma, dparams.map(|p| p.0));
    let (dgamma, dbeta) = grads_or_placeholders(rec.gpu(), dparams)?;
    let params = BwdParams {
        n: n as u32,
        d: d as u32,
        affine: u32::from(cfg.affine),
        batch_stats: u32::from(training),
        accumulate: u32::from(accumulate),
        _pad: [0; 3],
    };
    const STORAGE: &[Access] = &[R, R, R, R, R, W, W, W];
    let key = EntryKey { file: "nn/batch_norm_bwd.wgsl", entry: "main", storage: STORAGE };
    key.launch(rec, &[dy, x, saved.mean, saved.invstd, gamma.unwrap_or(x), dx, &dgamma, &dbeta], &params, d, 64)
}
