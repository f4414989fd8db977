//! The building blocks of the joint-embedding energies (`shaders/energy/`): per-row pair energies, scalar
//! reductions, column blocks of D×D matrices, VICReg's variance term, and InfoNCE over row blocks. The
//! objectives themselves are composed from these and the GEMM in `tandem-objectives`; the f64 references
//! are in `tandem_reference::energy`.

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

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct VicregStdParams {
    n: u32,
    d: u32,
    eps: f32,
    coef: f32,
    offset: u32,
    _pad: [u32; 3],
}

/// VICReg's variance term of one branch from its centred columns: `colterm[offset + j] = relu(1 − std_j)`,
/// and `grad += coef · ∂(Σ_j relu(1 − std_j))/∂x`.
#[track_caller]
pub fn vicreg_std(
    rec: &mut Recorder<'_>,
    xc: &Tensor,
    colterm: &Tensor,
    grad: &Tensor,
    (eps, coef): (f32, f32),
    offset: usize,
) -> Result<()> {
    let (n, d) = xc.dims2();
    assert!(colterm.len() >= offset + d && grad.len() == n * d, "vicreg_std shapes");
    let key = EntryKey { file: "energy/vicreg_std.wgsl", entry: "main", storage: &[R, W, W] };
    let params = VicregStdParams { n: n as u32, d: d as u32, eps, coef, offset: offset as u32, _pad: [0; 3] };
    key.launch(rec, &[xc, colterm, grad], &params, d, 64)
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
struct NceParams {
    r0: u32,
    rows: u32,
    m: u32,
    d: u32,
    inv_tau: f32,
    _pad: [u32; 3],
}

/// InfoNCE forward pieces. `s` (rows, m) is the block of scaled similarities for rows `r0 ..`; `za`, `zb`
/// (n, d) the two halves of the normalised embeddings (m = 2n). `lse_rows` fills `lse` for the block's
/// rows; `loss_rows` (once every block is done) fills `loss`.
pub struct InfoNceForward<'a> {
    /// Scaled similarities of the block (rows, m).
    pub s: &'a Tensor,
    /// Normalised first views (n, d).
    pub za: &'a Tensor,
    /// Normalised second views (n, d).
    pub zb: &'a Tensor,
    /// Log-sum-exp per row (m).
    pub lse: &'a Tensor,
    /// Loss per row (m).
    pub loss: &'a Tensor,
}

impl InfoNceForward<'_> {
    fn launch(
        &self,
        rec: &mut Recorder<'_>,
        entry: &'static str,
        r0: usize,
        threads: usize,
        inv_tau: f32,
    ) -> Result<()> {
        let (rows, m) = self.s.dims2();
        let (n, d) = self.za.dims2();
        assert!(
            2 * n == m && self.zb.dims2() == (n, d) && self.lse.len() == m && self.loss.len() == m,
            "info_nce shapes"
        );
        let key = EntryKey { file: "energy/info_nce_fwd.wgsl", entry, storage: &[R, R, R, W, W] };
        let params = NceParams { r0: r0 as u32, rows: rows as u32, m: m as u32, d: d as u32, inv_tau, _pad: [0; 3] };
        key.launch(rec, &[self.s, self.za, self.zb, self.lse, self.loss], &params, threads, 64)
    }

    /// `lse[i] = logsumexp_{k≠i} s_ik` for the block's rows `r0 .. r0 + rows`.
    pub fn lse_rows(&self, rec: &mut Recorder<'_>, r0: usize) -> Result<()> {
        self.launch(rec, "lse_rows", r0, self.s.dims2().0, 0.0)
    }

    /// `loss[i] = lse[i] − z_i · z_p(i) / τ` for every row.
    pub fn loss_rows(&self, rec: &mut Recorder<'_>, inv_tau: f32) -> Result<()> {
        self.launch(rec, "loss_rows", 0, self.lse.len(), inv_tau)
    }
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
