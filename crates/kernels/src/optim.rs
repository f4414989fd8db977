//! Optimizer kernels (`shaders/optim/update.wgsl`, `shaders/optim/norms.wgsl`): SGD with momentum and
//! Nesterov, AdamW, LARS, the EMA of a target network, and the squared norms behind gradient clipping,
//! the NaN check and the LARS trust ratio. They work on many parameters laid side by side in one buffer
//! (a parameter arena's chunk, described by a [`SegmentTable`]), so that a step updates every parameter
//! in a few dispatches rather than one per tensor. Reference: `tandem_reference::optim`.

use tandem_gpu::{Gpu, Recorder, Result, Tensor, workgroups_1d};

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
    items: u32,
    nesterov: u32,
    _pad0: u32,
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
    first: u32,
    count: u32,
    wd: f32,
    max_norm: f32,
    groups: u32,
    width: u32,
    _pad: [u32; 2],
}

impl NormParams {
    fn new(groups: usize) -> Self {
        Self { first: 0, count: 0, wd: 0.0, max_norm: 0.0, groups: groups as u32, width: 1, _pad: [0; 2] }
    }
}

impl Hyper {
    /// Every knob off.
    fn new() -> Self {
        Self {
            len: 0,
            items: 0,
            nesterov: 0,
            _pad0: 0,
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
    EntryKey { file: "optim/update.wgsl", entry, storage: &[W, R, W, W, R, R, R] }
}

fn norms_key(entry: &'static str) -> EntryKey {
    EntryKey { file: "optim/norms.wgsl", entry, storage: &[R, R, W, R, R, W] }
}

/// Most elements per work item (one workgroup of 256 threads, 16 vec4 each): large enough that the
/// workgroup's reduction is amortised, small enough that a large parameter spreads over many workgroups.
pub const ITEM_LEN: usize = 16384;

/// One parameter inside a shared buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// First element (a multiple of 4).
    pub offset: usize,
    /// Elements.
    pub len: usize,
    /// Whether it takes weight decay and the LARS trust ratio (weights do; biases and normalisation
    /// parameters do not).
    pub decay: bool,
    /// Its index among all parameters of the optimizer: its squared gradient norm goes to
    /// `stats[1 + index]` and its LARS norms to `stats[1 + count + 2 index ..]`.
    pub index: usize,
}

/// The work items of the parameters in one buffer, on the device: each item a run of at most
/// [`ITEM_LEN`] elements of one parameter (one workgroup), and each parameter's range of items. The split
/// is fixed, so sums are reduced in the same order every step (deterministic).
pub struct SegmentTable {
    items: Tensor,
    ranges: Tensor,
    partials: Tensor,
    lars_ranges: Tensor,
    n_items: usize,
    n_segments: usize,
    len: usize,
}

impl SegmentTable {
    /// The table for `segments` of a buffer of `len` elements, out of `count` parameters in all.
    pub fn new(gpu: &Gpu, segments: &[Segment], count: usize, len: usize) -> Result<Self> {
        let mut items: Vec<[u32; 4]> = Vec::new();
        let mut ranges: Vec<[u32; 4]> = Vec::new();
        let mut lars_ranges: Vec<[u32; 4]> = Vec::new();
        for s in segments {
            assert!(s.offset.is_multiple_of(4) && s.offset + s.len <= len, "segment {s:?} outside {len} elements");
            assert!(s.index < count, "segment {s:?} of {count} parameters");
            let first = items.len() as u32;
            let lars_slot = (1 + count + 2 * s.index) as u32;
            for start in (s.offset..s.offset + s.len.max(1)).step_by(ITEM_LEN) {
                let end = (start + ITEM_LEN).min(s.offset + s.len);
                items.push([start as u32, end as u32, u32::from(s.decay), lars_slot]);
            }
            let n = items.len() as u32 - first;
            ranges.push([first, n, (1 + s.index) as u32, 0]);
            lars_ranges.push([first, n, lars_slot, 0]);
        }
        let words = |v: &[[u32; 4]]| -> Result<Tensor> {
            let t = gpu.empty(&[4 * v.len().max(1)])?;
            gpu.write_bytes(&t, bytemuck::cast_slice(v));
            Ok(t)
        };
        Ok(Self {
            items: words(&items)?,
            ranges: words(&ranges)?,
            lars_ranges: words(&lars_ranges)?,
            partials: gpu.zeros(&[2 * items.len().max(1)])?,
            n_items: items.len(),
            n_segments: segments.len(),
            len,
        })
    }

    /// Work items (workgroups of an update).
    pub fn items(&self) -> usize {
        self.n_items
    }
}

/// The tensors an update touches: one buffer of parameters and the buffers laid out like it.
pub struct UpdateTensors<'a> {
    /// The parameters, updated in place.
    pub w: &'a Tensor,
    /// Their gradients.
    pub grad: &'a Tensor,
    /// First state (momentum buffer, or Adam's m).
    pub m: &'a Tensor,
    /// Second state (Adam's v; any other tensor of its own for the other rules).
    pub v: &'a Tensor,
    /// The step's schedule: `[lr, 1 - beta1^t, 1 - beta2^t, tau]`.
    pub sched: &'a Tensor,
    /// `[clip factor, squared gradient norms..., LARS norms...]`.
    pub stats: &'a Tensor,
}

/// Records the update of every parameter of `table` (`lars_norms` first for LARS).
pub fn update(rec: &mut Recorder<'_>, rule: &Update, t: &UpdateTensors<'_>, table: &SegmentTable) -> Result<()> {
    assert!(t.w.len() >= table.len && t.grad.len() >= table.len, "update: buffers shorter than the table");
    let mut h = Hyper { items: table.n_items as u32, ..Hyper::new() };
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
    if table.n_items == 0 {
        return Ok(());
    }
    let groups = workgroups_1d(rec.gpu(), table.n_items);
    update_key(entry).launch_groups(rec, &[t.w, t.grad, t.m, t.v, t.sched, t.stats, &table.items], &h, groups)
}

/// Records `target = tau * target + (1 - tau) * online` over whole buffers, tau = `sched[3]`; `scratch` is
/// two tensors of any length, other than the others, that the kernel binds but does not touch.
pub fn ema(
    rec: &mut Recorder<'_>,
    target: &Tensor,
    online: &Tensor,
    sched: &Tensor,
    scratch: [&Tensor; 2],
) -> Result<()> {
    assert_eq!(target.len(), online.len(), "ema: target and online differ in length");
    let h = Hyper { len: target.len() as u32, ..Hyper::new() };
    let bound = [target, online, scratch[0], scratch[1], sched, sched, sched];
    update_key("ema").launch(rec, &bound, &h, target.len().div_ceil(4), 256)
}

/// Records `stats[1 + index] = sum(g^2)` for every parameter of `table` (`g` its buffer of gradients; `w`
/// any tensor, bound and not read).
pub fn sumsq(rec: &mut Recorder<'_>, w: &Tensor, g: &Tensor, stats: &Tensor, table: &SegmentTable) -> Result<()> {
    reduce(rec, Norms::GradSumsq, (w, g, stats), table)
}

/// Records `stats[1 + count + 2 index] = |w|^2` and the next slot `= |stats[0] g + wd w|^2` (LARS) for
/// every parameter of `table`.
pub fn lars_norms(
    rec: &mut Recorder<'_>,
    w: &Tensor,
    g: &Tensor,
    stats: &Tensor,
    table: &SegmentTable,
    wd: f32,
) -> Result<()> {
    reduce(rec, Norms::Lars { wd }, (w, g, stats), table)
}

/// Which squared norms a reduction forms.
#[derive(Clone, Copy)]
enum Norms {
    /// `|g|^2` per parameter, into its gradient-norm slot.
    GradSumsq,
    /// `|w|^2` and `|stats[0] g + wd w|^2` per parameter, into its LARS slots.
    Lars { wd: f32 },
}

/// Per-item partial sums, then per-segment sums in item order (deterministic).
fn reduce(
    rec: &mut Recorder<'_>,
    norms: Norms,
    (w, g, stats): (&Tensor, &Tensor, &Tensor),
    table: &SegmentTable,
) -> Result<()> {
    if table.n_items == 0 {
        return Ok(());
    }
    let (entry, wd, width, ranges) = match norms {
        Norms::GradSumsq => ("item_sumsq", 0.0, 1, &table.ranges),
        Norms::Lars { wd } => ("item_lars", wd, 2, &table.lars_ranges),
    };
    let gpu = rec.gpu();
    let bound = [w, g, stats, &table.items, &table.ranges, &table.partials];
    let p = NormParams { wd, ..NormParams::new(table.n_items) };
    norms_key(entry).launch_groups(rec, &bound, &p, workgroups_1d(gpu, table.n_items))?;
    let bound = [w, g, stats, &table.items, ranges, &table.partials];
    let p = NormParams { width, ..NormParams::new(table.n_segments) };
    norms_key("segment_sums").launch_groups(rec, &bound, &p, workgroups_1d(gpu, table.n_segments))
}

/// Records `stats[0]` = the clipping factor from the squared gradient norms in `stats[first..first +
/// count]` (1 when `max_norm` is 0); `table`'s tensors are bound and not read.
pub fn clip(
    rec: &mut Recorder<'_>,
    stats: &Tensor,
    table: &SegmentTable,
    (first, count): (usize, usize),
    max_norm: f32,
) -> Result<()> {
    assert!(first >= 1 && first + count <= stats.len(), "clip: slots {first}..{} of {stats:?}", first + count);
    let p = NormParams { first: first as u32, count: count as u32, max_norm, ..NormParams::new(1) };
    let bound = [&table.items, &table.ranges, stats, &table.items, &table.ranges, &table.partials];
    norms_key("clip").launch_groups(rec, &bound, &p, [1, 1, 1])
}
