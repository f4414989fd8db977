//! Probe and collapse-metric kernels (`shaders/eval/`): the weighted kNN vote, softmax cross-entropy with
//! its gradient, and off-diagonal row sums of exp(a·s + b) for uniformity. Reference:
//! `tandem_reference::probe`.

use tandem_gpu::{Recorder, Result, Tensor, workgroups_1d};

use crate::entry::{EntryKey, R, W};

/// Most classes the kNN vote handles.
pub const MAX_CLASSES: usize = 1024;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct KnnParams {
    rows: u32,
    n_train: u32,
    k: u32,
    classes: u32,
    inv_t: f32,
    row0: u32,
    _pad: [u32; 2],
}

/// For each row of `sims` (rows × n_train cosine similarities), the class of the weighted vote of its `k`
/// nearest training samples (weights exp(s / temperature), ties to the lower class), written as a float
/// to `out[row0 + r]`. `labels` holds the training classes as floats.
#[allow(clippy::too_many_arguments)]
pub fn knn_vote(
    rec: &mut Recorder<'_>,
    sims: &Tensor,
    labels: &Tensor,
    out: &Tensor,
    row0: usize,
    k: usize,
    classes: usize,
    temperature: f32,
) -> Result<()> {
    let (rows, n_train) = sims.dims2();
    assert!(classes <= MAX_CLASSES, "knn_vote: {classes} classes (at most {MAX_CLASSES})");
    assert!(labels.len() >= n_train && out.len() >= row0 + rows, "knn_vote: labels {labels:?} or output {out:?}");
    let p = KnnParams {
        rows: rows as u32,
        n_train: n_train as u32,
        k: k.min(n_train) as u32,
        classes: classes as u32,
        inv_t: 1.0 / temperature,
        row0: row0 as u32,
        _pad: [0; 2],
    };
    let key = EntryKey { file: "eval/knn_vote.wgsl", entry: "main", storage: &[R, R, W] };
    key.launch_groups(rec, &[sims, labels, out], &p, workgroups_1d(rec.gpu(), rows))
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct XentParams {
    rows: u32,
    classes: u32,
    _pad: [u32; 2],
}

/// Softmax cross-entropy of `logits` (rows × classes) against `labels` (floats): the per-row loss and the
/// gradient of the mean loss with respect to the logits.
pub fn softmax_xent(
    rec: &mut Recorder<'_>,
    logits: &Tensor,
    labels: &Tensor,
    dlogits: &Tensor,
    loss: &Tensor,
) -> Result<()> {
    let (rows, classes) = logits.dims2();
    assert!(labels.len() >= rows && loss.len() >= rows && dlogits.len() == logits.len(), "softmax_xent shapes");
    let p = XentParams { rows: rows as u32, classes: classes as u32, _pad: [0; 2] };
    let key = EntryKey { file: "eval/softmax_xent.wgsl", entry: "main", storage: &[R, R, W, W] };
    key.launch(rec, &[logits, labels, dlogits, loss], &p, rows, 64)
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct PairExpParams {
    rows: u32,
    n: u32,
    row0: u32,
    _pad: u32,
    a: f32,
    b: f32,
    _pad1: [u32; 2],
}

/// `out[row0 + r] = Σ_{j ≠ row0 + r} exp(a · sims[r, j] + b)` for a block of rows of a similarity matrix.
pub fn pair_exp_rows(rec: &mut Recorder<'_>, sims: &Tensor, out: &Tensor, row0: usize, a: f32, b: f32) -> Result<()> {
    let (rows, n) = sims.dims2();
    assert!(out.len() >= row0 + rows, "pair_exp_rows: output {out:?}");
    let p = PairExpParams { rows: rows as u32, n: n as u32, row0: row0 as u32, _pad: 0, a, b, _pad1: [0; 2] };
    let key = EntryKey { file: "eval/pair_exp.wgsl", entry: "main", storage: &[R, W] };
    key.launch_groups(rec, &[sims, out], &p, workgroups_1d(rec.gpu(), rows))
}
