//! BatchNorm1d over `(n, d)`, forward (`shaders/nn/batch_norm_fwd.wgsl`: training and eval) and backward
//! (`batch_norm_bwd.wgsl`), optionally with the ReLU that follows it fused in (forward applies it, backward
//! recomputes its mask from the saved statistics), and with an f16 output under mixed precision.
//! Reference: `tandem_reference::batch_norm` (the ReLU: `tandem_reference::activation`).

use tandem_gpu::{Access, Recorder, Result, Tensor};

use crate::entry::{EntryKey, R, W, grads_or_placeholders};
use crate::matrix::MatrixRef;

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

/// How a BatchNorm call runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchNormMode {
    /// Batch statistics (and a running-statistics update) rather than the running statistics.
    pub training: bool,
    /// A ReLU follows, applied in the same kernel (`max(y, 0)`; backward masks the gradient).
    pub relu: bool,
}

impl BatchNormMode {
    /// Batch statistics when `training`, running ones otherwise; no ReLU.
    pub fn new(training: bool) -> Self {
        Self { training, relu: false }
    }

    /// The same, followed by a fused ReLU.
    pub fn with_relu(self) -> Self {
        Self { relu: true, ..self }
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
    relu: u32,
    half_out: u32,
    chunks: u32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct BwdParams {
    n: u32,
    d: u32,
    affine: u32,
    batch_stats: u32,
    accumulate: u32,
    relu: u32,
    chunks: u32,
    _pad: u32,
}

/// Rows per chunk of the BatchNorm kernels (`CHUNK` in the shaders): no invocation loops over more, so the
/// kernels stay within llvmpipe's 65,535 loop iterations per invocation at any batch size.
const CHUNK: usize = 4096;

fn check_affine(cfg: &BatchNormConfig, a: Option<&Tensor>, b: Option<&Tensor>) {
    assert_eq!(cfg.affine, a.is_some() && b.is_some(), "batch_norm: affine tensors must be given exactly when affine");
}

/// Forward: `y = gamma * (x - mean) * invstd + beta` (then `max(y, 0)` when the mode fuses a ReLU), with
/// batch statistics (training, which also updates the running statistics) or running statistics (eval).
/// `y` may be an f16 matrix (mixed precision's stored activations). Writes `saved` for the backward pass.
#[track_caller]
pub fn batch_norm_forward<'y>(
    rec: &mut Recorder<'_>,
    cfg: BatchNormConfig,
    mode: BatchNormMode,
    x: &Tensor,
    state: &BatchNormState<'_>,
    y: impl Into<MatrixRef<'y>>,
    saved: &BatchNormSaved<'_>,
) -> Result<()> {
    let y = y.into();
    let (n, d) = x.dims2();
    assert_eq!(y.dims2(), (n, d), "batch_norm: y {y:?} for x {x:?}");
    check_affine(&cfg, state.gamma, state.beta);
    // Read-only slots the kernel does not touch when not affine can alias x.
    let gamma = state.gamma.unwrap_or(x);
    let beta = state.beta.unwrap_or(x);
    let chunks = n.div_ceil(CHUNK).max(1);
    let params = FwdParams {
        n: n as u32,
        d: d as u32,
        eps: cfg.eps,
        momentum: cfg.momentum,
        affine: u32::from(cfg.affine),
        relu: u32::from(mode.relu),
        half_out: u32::from(y.is_half()),
        chunks: chunks as u32,
    };
    const STORAGE: &[Access] = &[R, R, R, W, W, W, W, W, W];
    let key = |entry| EntryKey { file: "nn/batch_norm_fwd.wgsl", entry, storage: STORAGE };
    let part = rec.gpu().scratch("batch_norm.forward_partials", &[2 * chunks * d])?;
    let tensors = [x, gamma, beta, state.running_mean, state.running_var, y.tensor(), saved.mean, saved.invstd, &part];
    if mode.training {
        key("partial").launch(rec, &tensors, &params, d * chunks, 64)?;
    }
    // One thread per column and chunk, or per pair of columns (one output word) when y is f16.
    let columns = if y.is_half() { d.div_ceil(2) } else { d };
    key(if mode.training { "train" } else { "eval" }).launch(rec, &tensors, &params, columns * chunks, 64)
}

/// Backward: `dx` (written), and `(dgamma, dbeta)` when affine (written, or added to when `accumulate`:
/// the second view of a step adds its parameter gradients to the first's). `mode` must match the forward
/// call: batch statistics have a gradient through the mean and variance, and with a fused ReLU `dy` is the
/// gradient after it. `affine` is `(gamma, beta)`.
#[allow(clippy::too_many_arguments)]
#[track_caller]
pub fn batch_norm_backward(
    rec: &mut Recorder<'_>,
    cfg: BatchNormConfig,
    mode: BatchNormMode,
    dy: &Tensor,
    x: &Tensor,
    saved: &BatchNormSaved<'_>,
    affine: Option<(&Tensor, &Tensor)>,
    dx: &Tensor,
    dparams: Option<(&Tensor, &Tensor)>,
    accumulate: bool,
) -> Result<()> {
    let (n, d) = x.dims2();
    assert_eq!(dy.dims2(), (n, d), "batch_norm backward: dy {dy:?} for x {x:?}");
    check_affine(&cfg, affine.map(|a| a.0), dparams.map(|p| p.0));
    let (gamma, beta) = affine.unwrap_or((x, x));
    let chunks = n.div_ceil(CHUNK).max(1);
    let (dgamma, dbeta) = grads_or_placeholders(rec.gpu(), dparams)?;
    let params = BwdParams {
        n: n as u32,
        d: d as u32,
        affine: u32::from(cfg.affine),
        batch_stats: u32::from(mode.training),
        accumulate: u32::from(accumulate),
        relu: u32::from(mode.relu),
        chunks: chunks as u32,
        _pad: 0,
    };
    const STORAGE: &[Access] = &[R, R, R, R, R, R, W, W, W, W];
    let key = |entry| EntryKey { file: "nn/batch_norm_bwd.wgsl", entry, storage: STORAGE };
    let part = rec.gpu().scratch("batch_norm.backward_partials", &[2 * chunks * d])?;
    let tensors = [dy, x, saved.mean, saved.invstd, gamma, beta, dx, &dgamma, &dbeta, &part];
    key("partial").launch(rec, &tensors, &params, d * chunks, 64)?;
    key("main").launch(rec, &tensors, &params, d * chunks, 64)
}
