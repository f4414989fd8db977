//! The building blocks of the joint-embedding energies (`shaders/energy/`): per-row pair energies, scalar
//! reductions, column blocks of D×D matrices, column statistics gathered over row windows, standardisation,
//! VICReg's variance term, and InfoNCE over row blocks. The objectives themselves are composed from these
//! and the GEMM in `tandem-objectives`; the f64 references are in `tandem_reference::energy`.

use tandem_gpu::{Recorder, Result, Tensor};

use crate::entry::{EntryKey, R, W};

/// Which per-row pair energy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairKind {
    /// ‖a_i − b_i‖².
    L2,
    /// cos(a_i, b_i) with norms clamped to at least eps.
    Cosine,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct PairParams {
    n: u32,
    d: u32,
    grad_scale: f32,
    eps: f32,
}

/// Per-row pair energies into `rows` (n) and their gradients scaled by `grad_scale` into `ga`, `gb`.
#[allow(clippy::too_many_arguments)]
#[track_caller]
pub fn pair_rows(
    rec: &mut Recorder<'_>,
    kind: PairKind,
    a: &Tensor,
    b: &Tensor,
    rows: &Tensor,
    ga: &Tensor,
    gb: &Tensor,
    grad_scale: f32,
    eps: f32,
) -> Result<()> {
    let (n, d) = a.dims2();
    assert!(b.dims2() == (n, d) && ga.len() == n * d && gb.len() == n * d && rows.len() == n, "pair_rows shapes");
    let entry = match kind {
        PairKind::L2 => "l2",
        PairKind::Cosine => "cosine",
    };
    let key = EntryKey { file: "energy/pair_rows.wgsl", entry, storage: &[R, R, W, W, W] };
    key.launch(rec, &[a, b, rows, ga, gb], &PairParams { n: n as u32, d: d as u32, grad_scale, eps }, n, 64)
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct SumParams {
    len: u32,
    slot: u32,
    scale: f32,
    start: u32,
}

/// `out[slot] = scale * Σ v[range]`.
#[track_caller]
pub fn sum_to(
    rec: &mut Recorder<'_>,
    v: &Tensor,
    range: std::ops::Range<usize>,
    out: &Tensor,
    slot: usize,
    scale: f32,
) -> Result<()> {
    assert!(slot < out.len() && range.end <= v.len(), "sum_to: {v:?}[{range:?}] into {out:?}[{slot}]");
    let key = EntryKey { file: "energy/sum.wgsl", entry: "main", storage: &[R, W] };
    let params = SumParams { len: range.len() as u32, slot: slot as u32, scale, start: range.start as u32 };
    key.launch_groups(rec, &[v, out], &params, [1, 1, 1])
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct CombineParams {
    coeff: [f32; 4],
    count: u32,
    _pad: [u32; 3],
}

/// `out[0] = Σ_t coeff[t] · out[t + 1]` over the first `coeff.len()` (at most 4) terms.
#[track_caller]
pub fn combine(rec: &mut Recorder<'_>, out: &Tensor, coeff: &[f32]) -> Result<()> {
    assert!(coeff.len() <= 4 && out.len() > coeff.len(), "combine: {} terms into {out:?}", coeff.len());
    let mut c = [0.0; 4];
    c[..coeff.len()].copy_from_slice(coeff);
    let key = EntryKey { file: "energy/combine.wgsl", entry: "main", storage: &[W] };
    let params = CombineParams { coeff: c, count: coeff.len() as u32, _pad: [0; 3] };
    key.launch_groups(rec, &[out], &params, [1, 1, 1])
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ColumnParams {
    n: u32,
    d: u32,
    w: u32,
    j0: u32,
    alpha: f32,
    _pad: [u32; 3],
}

/// `dst (n, w) = alpha · src[:, j0 .. j0 + w]` for `src` (n, d).
#[track_caller]
pub fn gather_cols(rec: &mut Recorder<'_>, src: &Tensor, dst: &Tensor, j0: usize, alpha: f32) -> Result<()> {
    let (n, d) = src.dims2();
    let (dn, w) = dst.dims2();
    assert!(dn == n && j0 + w <= d, "gather_cols: {src:?}[:, {j0}..] into {dst:?}");
    let key = EntryKey { file: "energy/columns.wgsl", entry: "gather", storage: &[R, W] };
    let params = ColumnParams { n: n as u32, d: d as u32, w: w as u32, j0: j0 as u32, alpha, _pad: [0; 3] };
    key.launch(rec, &[src, dst], &params, n * w, 256)
}

/// `dst[:, j0 .. j0 + w] += alpha · src (n, w)` for `dst` (n, d).
#[track_caller]
pub fn scatter_add_cols(rec: &mut Recorder<'_>, src: &Tensor, dst: &Tensor, j0: usize, alpha: f32) -> Result<()> {
    let (n, w) = src.dims2();
    let (dn, d) = dst.dims2();
    assert!(dn == n && j0 + w <= d, "scatter_add_cols: {src:?} into {dst:?}[:, {j0}..]");
    let key = EntryKey { file: "energy/columns.wgsl", entry: "scatter_add", storage: &[R, W] };
    let params = ColumnParams { n: n as u32, d: d as u32, w: w as u32, j0: j0 as u32, alpha, _pad: [0; 3] };
    key.launch(rec, &[src, dst], &params, n * w, 256)
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ShapeParams {
    n: u32,
    d: u32,
    _pad: [u32; 2],
}

/// `xc = x − mean` per column.
#[track_caller]
pub fn centre_cols(rec: &mut Recorder<'_>, x: &Tensor, mean: &Tensor, xc: &Tensor) -> Result<()> {
    let (n, d) = x.dims2();
    assert!(mean.len() == d && xc.dims2() == (n, d), "centre_cols shapes");
    let key = EntryKey { file: "energy/centre.wgsl", entry: "main", storage: &[R, R, W] };
    key.launch(rec, &[x, mean, xc], &ShapeParams { n: n as u32, d: d as u32, _pad: [0; 2] }, n * d, 256)
}

/// Which column statistic [`column_sums`] adds up over a window of rows.
#[derive(Clone, Copy, Debug)]
pub enum ColumnSum<'a> {
    /// Σ_i x_ij.
    Sum,
    /// Σ_i (x_ij − acc[mean_at + j])², about a mean already in the accumulator.
    CentredSq {
        /// Where the column means start in `acc`.
        mean_at: usize,
    },
    /// Σ_i x_ij · y_ij for a `y` shaped like `x`.
    Dot(&'a Tensor),
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ColumnSumParams {
    rows: u32,
    d: u32,
    scale: f32,
    accumulate: u32,
    out: u32,
    centre: u32,
    _pad: [u32; 2],
}

/// `acc[at + j] (+)= scale · Σ_i f(x_ij)` for the rows of `x` (r, d): written, or added when `accumulate`,
/// so that statistics of a matrix larger than one binding are gathered one row window at a time.
#[track_caller]
pub fn column_sums(
    rec: &mut Recorder<'_>,
    kind: ColumnSum<'_>,
    x: &Tensor,
    acc: &Tensor,
    at: usize,
    scale: f32,
    accumulate: bool,
) -> Result<()> {
    let (rows, d) = x.dims2();
    assert!(acc.len() >= at + d, "column_sums: {d} columns into {acc:?} at {at}");
    let (entry, y, centre) = match kind {
        ColumnSum::Sum => ("sum", x, 0),
        ColumnSum::CentredSq { mean_at } => {
            assert!(acc.len() >= mean_at + d, "column_sums: means at {mean_at} of {acc:?}");
            ("centred_sq", x, mean_at)
        }
        ColumnSum::Dot(y) => {
            assert_eq!(y.dims2(), (rows, d), "column_sums: dot of {x:?} with {y:?}");
            ("dot", y, 0)
        }
    };
    let params = ColumnSumParams {
        rows: rows as u32,
        d: d as u32,
        scale,
        accumulate: u32::from(accumulate),
        out: at as u32,
        centre: centre as u32,
        _pad: [0; 2],
    };
    let key = EntryKey { file: "energy/column_sums.wgsl", entry, storage: &[R, R, W] };
    key.launch(rec, &[x, y, acc], &params, d, 64)
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct StandardiseParams {
    rows: u32,
    d: u32,
    eps: f32,
    _pad: u32,
}

/// Per-column standardisation with batch statistics over a window of rows, given `stats` = [mean | biased
/// var | mean(dx̂) | mean(dx̂·x̂)] (4d) of the whole batch. Forward: `hat = (x − mean) / sqrt(var + eps)`.
#[track_caller]
pub fn standardise_forward(rec: &mut Recorder<'_>, x: &Tensor, stats: &Tensor, eps: f32, hat: &Tensor) -> Result<()> {
    let (rows, d) = x.dims2();
    assert!(hat.dims2() == (rows, d) && stats.len() >= 4 * d, "standardise_forward shapes");
    let key = EntryKey { file: "energy/standardise.wgsl", entry: "forward", storage: &[R, R, R, W] };
    let params = StandardiseParams { rows: rows as u32, d: d as u32, eps, _pad: 0 };
    key.launch(rec, &[x, x, stats, hat], &params, rows * d, 256)
}

/// Backward of [`standardise_forward`]: `dx = (dhat − mean(dhat) − hat · mean(dhat·hat)) / sqrt(var + eps)`.
#[track_caller]
pub fn standardise_backward(
    rec: &mut Recorder<'_>,
    dhat: &Tensor,
    hat: &Tensor,
    stats: &Tensor,
    eps: f32,
    dx: &Tensor,
) -> Result<()> {
    let (rows, d) = dhat.dims2();
    assert!(hat.dims2() == (rows, d) && dx.dims2() == (rows, d) && stats.len() >= 4 * d, "standardise_backward shapes");
    let key = EntryKey { file: "energy/standardise.wgsl", entry: "backward", storage: &[R, R, R, W] };
    let params = StandardiseParams { rows: rows as u32, d: d as u32, eps, _pad: 0 };
    key.launch(rec, &[dhat, hat, stats, dx], &params, rows * d, 256)
}

/// How [`vicreg_std`] runs for one branch.
#[derive(Clone, Copy, Debug)]
pub struct VicregVariance {
    /// Rows of the whole batch (the windows' total).
    pub n: usize,
    /// Variance floor inside the square root.
    pub eps: f32,
    /// Gradient scale of Σ_j relu(1 − std_j): `std_coeff / (2d)`.
    pub coef: f32,
    /// Where `relu(1 − std_j)` goes in `terms`.
    pub at: usize,
    /// When the covariance term goes through the Gram matrix: its diagonal part, `−var_j²` into
    /// `terms[at ..]` and `grad −= coef · var_j · xc` (the `(at, coef)` here).
    pub gram_diagonal: Option<(usize, f32)>,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct VicregStdParams {
    rows: u32,
    d: u32,
    n: u32,
    eps: f32,
    coef: f32,
    offset: u32,
    gram: u32,
    diag_at: u32,
    diag_coef: f32,
    _pad: [u32; 3],
}

/// VICReg's variance term of one branch over a window of rows of its centred columns `xc` (r, d), given
/// `stats[d .. 2d]` = the unbiased column variances over all rows: `terms[at + j] = relu(1 − std_j)` and
/// `grad += coef · ∂(Σ_j relu(1 − std_j))/∂x` for the window (plus the Gram path's diagonal correction).
#[track_caller]
pub fn vicreg_std(
    rec: &mut Recorder<'_>,
    xc: &Tensor,
    stats: &Tensor,
    terms: &Tensor,
    grad: &Tensor,
    v: &VicregVariance,
) -> Result<()> {
    let (rows, d) = xc.dims2();
    let (diag_at, diag_coef) = v.gram_diagonal.unwrap_or((0, 0.0));
    assert!(
        stats.len() >= 2 * d
            && terms.len() >= v.at + d
            && terms.len() >= diag_at + d
            && grad.len() == rows * d
            && rows <= v.n,
        "vicreg_std shapes"
    );
    let key = EntryKey { file: "energy/vicreg_std.wgsl", entry: "main", storage: &[R, R, W, W] };
    let params = VicregStdParams {
        rows: rows as u32,
        d: d as u32,
        n: v.n as u32,
        eps: v.eps,
        coef: v.coef,
        offset: v.at as u32,
        gram: u32::from(v.gram_diagonal.is_some()),
        diag_at: diag_at as u32,
        diag_coef,
        _pad: [0; 3],
    };
    key.launch(rec, &[xc, stats, terms, grad], &params, rows * d, 256)
}

/// What [`cross_block`] does to a column block of a D×D matrix.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CrossBlock {
    /// Covariance: off-diagonal sum of squares per column, then zero the diagonal.
    Cov,
    /// Barlow Twins: on- and off-diagonal terms per column, then replace the block by dvalue/dC.
    Barlow {
        /// Weight of the off-diagonal term.
        lambda: f32,
    },
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct CrossParams {
    d: u32,
    w: u32,
    j0: u32,
    lambda: f32,
    offset: u32,
    _pad: [u32; 3],
}

/// Processes the block `c` = C[:, j0 .. j0 + w] (stored (d, w)): terms into `terms[offset ..]`
/// (off-diagonal sums at `offset + g`, on-diagonal terms at `offset + d + g`), the block rewritten in place.
#[track_caller]
pub fn cross_block(
    rec: &mut Recorder<'_>,
    kind: CrossBlock,
    c: &Tensor,
    terms: &Tensor,
    j0: usize,
    offset: usize,
) -> Result<()> {
    let (d, w) = c.dims2();
    assert!(j0 + w <= d && terms.len() >= offset + 2 * d, "cross_block shapes {c:?} {terms:?}");
    let (entry, lambda) = match kind {
        CrossBlock::Cov => ("cov", 0.0),
        CrossBlock::Barlow { lambda } => ("barlow", lambda),
    };
    let key = EntryKey { file: "energy/cross_block.wgsl", entry, storage: &[W, W] };
    let params = CrossParams { d: d as u32, w: w as u32, j0: j0 as u32, lambda, offset: offset as u32, _pad: [0; 3] };
    key.launch_groups(rec, &[c, terms], &params, [w.div_ceil(64) as u32, 1, 1])
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct BarlowDiagonalParams {
    d: u32,
    lambda: f32,
    on_at: u32,
    off_at: u32,
}

/// Barlow Twins' diagonal through the Gram route: from `diag[..d]` = C_jj, writes `diag[d..]` = D_jj =
/// −2(1 − C_jj) − 2λC_jj, `terms[on_at + j] = (1 − C_jj)²` and `terms[off_at + j] = −C_jj²`.
#[track_caller]
pub fn barlow_diagonal(
    rec: &mut Recorder<'_>,
    diag: &Tensor,
    terms: &Tensor,
    lambda: f32,
    (on_at, off_at): (usize, usize),
) -> Result<()> {
    let d = diag.len() / 2;
    assert!(terms.len() >= on_at.max(off_at) + d, "barlow_diagonal: {terms:?} for d = {d}");
    let key = EntryKey { file: "energy/barlow_diagonal.wgsl", entry: "main", storage: &[W, W] };
    let params = BarlowDiagonalParams { d: d as u32, lambda, on_at: on_at as u32, off_at: off_at as u32 };
    key.launch(rec, &[diag, terms], &params, d, 64)
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct ScaleAddParams {
    rows: u32,
    d: u32,
    scale: f32,
    _pad: u32,
}

/// `out += scale · x · diag(D)` for `x`, `out` (n, d) and `diag[d..]` = D_jj from [`barlow_diagonal`].
#[track_caller]
pub fn barlow_scale_add(rec: &mut Recorder<'_>, x: &Tensor, diag: &Tensor, scale: f32, out: &Tensor) -> Result<()> {
    let (rows, d) = x.dims2();
    assert!(out.dims2() == (rows, d) && diag.len() == 2 * d, "barlow_scale_add shapes");
    let key = EntryKey { file: "energy/barlow_scale_add.wgsl", entry: "main", storage: &[R, R, W] };
    let params = ScaleAddParams { rows: rows as u32, d: d as u32, scale, _pad: 0 };
    key.launch(rec, &[x, diag, out], &params, rows * d, 256)
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct LseParams {
    r0: u32,
    rows: u32,
    m: u32,
    _pad: u32,
}

/// InfoNCE: `lse[i] = logsumexp_{k≠i} s_ik` for the rows `r0 .. r0 + rows` of the similarity matrix whose
/// block is `s` (rows, m).
#[track_caller]
pub fn info_nce_lse(rec: &mut Recorder<'_>, s: &Tensor, lse: &Tensor, r0: usize) -> Result<()> {
    let (rows, m) = s.dims2();
    assert!(lse.len() == m && r0 + rows <= m, "info_nce_lse: block {s:?} at row {r0}, lse {lse:?}");
    let key = EntryKey { file: "energy/info_nce_lse.wgsl", entry: "main", storage: &[R, W] };
    key.launch(rec, &[s, lse], &LseParams { r0: r0 as u32, rows: rows as u32, m: m as u32, _pad: 0 }, rows, 64)
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct LossParams {
    r0: u32,
    rows: u32,
    n: u32,
    d: u32,
    inv_tau: f32,
    _pad: [u32; 3],
}

/// InfoNCE, once `lse` (2n) is complete: `loss[i] = lse[i] − za_j · zb_j / τ` for both anchors `i = j` and
/// `i = n + j` of the window rows `j = r0 ..` whose normalised halves are `za`, `zb` (rows, d).
#[track_caller]
pub fn info_nce_loss(
    rec: &mut Recorder<'_>,
    (za, zb): (&Tensor, &Tensor),
    lse: &Tensor,
    loss: &Tensor,
    r0: usize,
    inv_tau: f32,
) -> Result<()> {
    let (rows, d) = za.dims2();
    let n = lse.len() / 2;
    assert!(
        zb.dims2() == (rows, d) && loss.len() == 2 * n && r0 + rows <= n,
        "info_nce_loss: window {za:?} at row {r0}, lse {lse:?}"
    );
    let params = LossParams { r0: r0 as u32, rows: rows as u32, n: n as u32, d: d as u32, inv_tau, _pad: [0; 3] };
    let key = EntryKey { file: "energy/info_nce_loss.wgsl", entry: "main", storage: &[R, R, R, W] };
    key.launch(rec, &[za, zb, lse, loss], &params, rows, 64)
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct WeightParams {
    r0: u32,
    rows: u32,
    m: u32,
    _pad: u32,
}

/// Rewrites the block `s` (rows, m) into InfoNCE's gradient weights (see `info_nce_bwd.wgsl`).
#[track_caller]
pub fn info_nce_weights(rec: &mut Recorder<'_>, lse: &Tensor, s: &Tensor, r0: usize) -> Result<()> {
    let (rows, m) = s.dims2();
    assert_eq!(lse.len(), m, "info_nce_weights: lse {lse:?} for {s:?}");
    let key = EntryKey { file: "energy/info_nce_bwd.wgsl", entry: "main", storage: &[R, W] };
    key.launch(rec, &[lse, s], &WeightParams { r0: r0 as u32, rows: rows as u32, m: m as u32, _pad: 0 }, rows * m, 256)
}
