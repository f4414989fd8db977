//! Optimizer kernels (`shaders/optim/update.wgsl`, `shaders/optim/norms.wgsl`): SGD with momentum and
//! Nesterov, AdamW, LARS, the EMA of a target network, and the squared norms behind gradient clipping,
//! the NaN check and the LARS trust ratio. Reference: `tandem_reference::optim`.

use tandem_gpu::{Recorder, Result, Tensor};

use crate::entry::{EntryKey, R, W};

/// Entries of the per-step schedule tensor `sched` that update kernels read.
pub const SCHED_LEN: usize = 4;

/// An update rule with its constant hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Update {
    /// SGD with momentum (PyTorch's, dampening 0), optionally Nesterov.
    Sgd {
        /// Momentum.
        momentum: f32,
        /// Nesterov momentum.
        nesterov: bool,
        /// Weight decay (L2, added to the gradient).
        weight_decay: f32,
    },
    /// AdamW (decoupled weight decay).
    AdamW {
        /// First-moment decay.
        beta1: f32,
        /// Second-moment decay.
        beta2: f32,
        /// Denominator epsilon.
        eps: f32,
        /// Decoupled weight decay.
        weight_decay: f32,
    },
    /// LARS with momentum (You et al.; as in BYOL and Barlow Twins).
    Lars {
        /// Momentum.
        momentum: f32,
        /// Weight decay (added to the gradient before the trust ratio).
        weight_decay: f32,
        /// Trust coefficient η.
        eta: f32,
    },
}

impl Update {
    /// Whether the rule keeps a second state tensor (Adam's v).
    pub fn has_second_moment(&self) -> bool {
        matches!(self, Update::AdamW { .. })
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Hyper {
    len: u32,
    decay: u32,
    nesterov: u32,
    slot: u32,
    wd: f32,
    momentum: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    eta: f32,
    _pad: [u32; 2],
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct NormParams {
    len: u32,
    slot: u32,
    first: u32,
    count: u32,
    wd: f32,
    max_norm: f32,
    _pad: [u32; 2],
}

impl Hyper {
    /// Every knob off, for a parameter of `len` values.
    fn new(len: usize) -> Self {
        Self {
            len: len as u32,
            decay: 0,
            nesterov: 0,
            slot: 0,
            wd: 0.0,
            momentum: 0.0,
            beta1: 0.0,
            beta2: 0.0,
            eps: 0.0,
            eta: 0.0,
            _pad: [0; 2],
        }
    }
}

fn update_key(entry: &'static str) -> EntryKey {
    EntryKey { file: "optim/update.wgsl", entry, storage: &[W, R, W, W, R, R] }
}

fn norms_key(entry: &'static str) -> EntryKey {
    EntryKey { file: "optim/norms.wgsl", entry, storage: &[R, R, W] }
}

/// The tensors one parameter's update touches.
pub struct UpdateTensors<'a> {
    /// The parameter, updated in place.
    pub w: &'a Tensor,
    /// Its gradient.
    pub grad: &'a Tensor,
    /// First state (momentum buffer, or Adam's m).
    pub m: &'a Tensor,
    /// Second state (Adam's v; any other tensor of its own for the other rules).
    pub v: &'a Tensor,
    /// The step's schedule: `[lr, 1 - beta1^t, 1 - beta2^t, tau]`.
    pub sched: &'a Tensor,
    /// `[clip factor, ...squared norms]`.
    pub stats: &'a Tensor,
}

/// Records one parameter's update. `decay` is false for biases and normalisation parameters (no weight
/// decay, no trust ratio); `slot` is where [`lars_norms`] wrote this parameter's norms.
pub fn update(rec: &mut Recorder<'_>, rule: &Update, t: &UpdateTensors<'_>, decay: bool, slot: usize) -> Result<()> {
    assert_eq!(t.w.len(), t.grad.len(), "update: parameter and gradient differ in length");
    let mut h = Hyper { decay: u32::from(decay), slot: slot as u32, ..Hyper::new(t.w.len()) };
    let entry = match *rule {
        Update::Sgd { momentum, nesterov, weight_decay } => {
            (h.momentum, h.nesterov, h.wd) = (momentum, u32::from(nesterov), weight_decay);
            "sgd"
        }
        Update::AdamW { beta1, beta2, eps, weight_decay } => {
            (h.beta1, h.beta2, h.eps, h.wd) = (beta1, beta2, eps, weight_decay);
            "adamw"
        }
        Update::Lars { momentum, weight_decay, eta } => {
            (h.momentum, h.wd, h.eta) = (momentum, weight_decay, eta);
            "lars"
        }
    };
    update_key(entry).launch(rec, &[t.w, t.grad, t.m, t.v, t.sched, t.stats], &h, t.w.len().div_ceil(4), 256)
}

/// Records `target = tau * target + (1 - tau) * online`, tau = `sched[3]`; `scratch` is two tensors of
/// any length the kernel binds but does not touch, and `stats` any tensor.
pub fn ema(
    rec: &mut Recorder<'_>,
    target: &Tensor,
    online: &Tensor,
    sched: &Tensor,
    scratch: [&Tensor; 2],
    stats: &Tensor,
) -> Result<()> {
    assert_eq!(target.len(), online.len(), "ema: target and online differ in length");
    let h = Hyper::new(target.len());
    update_key("ema").launch(
        rec,
        &[target, online, scratch[0], scratch[1], sched, stats],
        &h,
        target.len().div_ceil(4),
        256,
    )
}

fn norms(len: usize, slot: usize) -> NormParams {
    NormParams { len: len as u32, slot: slot as u32, first: 0, count: 0, wd: 0.0, max_norm: 0.0, _pad: [0; 2] }
}

/// Records `stats[slot] = sum(g^2)`; `w` is any tensor (bound, not read).
pub fn sumsq(rec: &mut Recorder<'_>, w: &Tensor, g: &Tensor, stats: &Tensor, slot: usize) -> Result<()> {
    norms_key("sumsq").launch_groups(rec, &[w, g, stats], &norms(g.len(), slot), [1, 1, 1])
}

/// Records `stats[0]` = the clipping factor from the squared gradient norms in `stats[first..first +
/// count]` (1 when `max_norm` is 0); `w` and `g` are any tensors.
pub fn clip(
    rec: &mut Recorder<'_>,
    w: &Tensor,
    g: &Tensor,
    stats: &Tensor,
    first: usize,
    count: usize,
    max_norm: f32,
) -> Result<()> {
    assert!(first >= 1 && first + count <= stats.len(), "clip: slots {first}..{} of {stats:?}", first + count);
    let p = NormParams { first: first as u32, count: count as u32, max_norm, ..norms(0, 0) };
    norms_key("clip").launch_groups(rec, &[w, g, stats], &p, [1, 1, 1])
}

/// Records `stats[slot] = |w|^2` and `stats[slot + 1] = |stats[0] g + wd w|^2` (LARS).
pub fn lars_norms(rec: &mut Recorder<'_>, w: &Tensor, g: &Tensor, stats: &Tensor, slot: usize, wd: f32) -> Result<()> {
    let p = NormParams { wd, ..norms(w.len(), slot) };
    norms_key("lars_norms").launch_groups(rec, &[w, g, stats], &p, [1, 1, 1])
}
