//! GEMM: `C = alpha * op(A) · op(B) + beta * C` with the transposed-operand variants backward needs
//! (`A·B`, `Aᵀ·B`, `A·Bᵀ`, `Aᵀ·Bᵀ`), in two implementations behind one specialisation key:
//!
//! - [`GemmVariant::Tiled`] (`shaders/linalg/gemm_tiled.wgsl`): workgroup-memory tiles with register
//!   blocks, for GPUs;
//! - [`GemmVariant::Subgroup8`] (`shaders/linalg/gemm_sg8.wgsl` on panels from `gemm_pack.wgsl`): 8-lane
//!   subgroup broadcasts on zero-padded packed panels, for lavapipe and other CPU adapters.
//!
//! Either operand may enter the product as f16 ([`Precision`], mixed precision: f32 accumulation), and
//! either may already be stored as f16 (a [`HalfMatrix`](crate::HalfMatrix): the activations mixed
//! precision keeps for backward).
//!
//! Reference: `tandem_reference::gemm`. Test: `tests/kernels/gemm.rs`. Bench: `tandem bench gemm`.

use std::fmt;

use tandem_gpu::{Gpu, KernelKey, KernelSpec, Recorder, Result, Tensor, workgroups_1d};

use crate::entry::{R, W};
use crate::matrix::MatrixRef;
use crate::precision::Precision;
use crate::shaders::source;

/// Which GEMM implementation to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GemmVariant {
    /// Workgroup-memory tiles (64×64, 4×4 per thread): GPUs.
    Tiled,
    /// 8-lane subgroup broadcast on packed panels (64×64 per subgroup): CPU adapters such as lavapipe.
    Subgroup8,
}

impl GemmVariant {
    /// The variant this device runs fastest: `Subgroup8` where subgroups are exactly 8 lanes wide and the
    /// adapter is a CPU, else `Tiled`. `TANDEM_GEMM=tiled|sg8` overrides (when the device supports it).
    pub fn for_device(gpu: &Gpu) -> Self {
        let sg8_ok = gpu.has_fixed_subgroup_size(8);
        match std::env::var("TANDEM_GEMM").as_deref() {
            Ok("tiled") => return Self::Tiled,
            Ok("sg8") if sg8_ok => return Self::Subgroup8,
            _ => {}
        }
        if sg8_ok && gpu.info().device_type == tandem_gpu::wgpu::DeviceType::Cpu {
            Self::Subgroup8
        } else {
            Self::Tiled
        }
    }

    /// The variants this device can run.
    pub fn supported(gpu: &Gpu) -> Vec<Self> {
        let mut v = vec![Self::Tiled];
        if gpu.has_fixed_subgroup_size(8) {
            v.push(Self::Subgroup8);
        }
        v
    }

    /// Short name used in keys and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Tiled => "tiled",
            Self::Subgroup8 => "sg8",
        }
    }
}

/// Specialisation key of the GEMM main kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GemmKey {
    /// Implementation.
    pub variant: GemmVariant,
    /// A is stored (K, M).
    pub trans_a: bool,
    /// B is stored (N, K).
    pub trans_b: bool,
    /// How A and B enter the product.
    pub precision: [Precision; 2],
    /// Whether A and B are stored as f16 matrices (the tiled kernel reads them; the packed kernel's panels
    /// are written by the packing kernel, which reads them).
    pub stored_half: [bool; 2],
    /// A bias (N) is added to every row of C in the kernel's epilogue.
    pub bias: bool,
}

impl fmt::Display for GemmKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = |b: bool| if b { 't' } else { 'n' };
        match self.variant {
            // The packed kernel applies transposes while packing: one main kernel serves all four.
            GemmVariant::Subgroup8 => write!(f, "gemm_sg8")?,
            GemmVariant::Tiled => write!(f, "gemm_tiled_{}{}", t(self.trans_a), t(self.trans_b))?,
        }
        match self.precision {
            [Precision::F32, Precision::F32] => {}
            [a, b] => write!(f, "_{a}{b}")?,
        }
        for (stored, name) in self.stored_half.iter().zip(["a", "b"]) {
            if *stored {
                write!(f, "_{name}16")?;
            }
        }
        if self.bias { write!(f, "_bias") } else { Ok(()) }
    }
}

impl KernelKey for GemmKey {
    fn spec(&self) -> KernelSpec {
        match self.variant {
            GemmVariant::Tiled => KernelSpec {
                file: "linalg/gemm_tiled.wgsl",
                source: source("linalg/gemm_tiled.wgsl"),
                entry: "main",
                storage: &[R, R, W, R],
                constants: vec![
                    ("TRANS_A", flag(self.trans_a)),
                    ("TRANS_B", flag(self.trans_b)),
                    ("HALF_A", flag(self.precision[0].is_half())),
                    ("HALF_B", flag(self.precision[1].is_half())),
                    ("STORED_HALF_A", flag(self.stored_half[0])),
                    ("STORED_HALF_B", flag(self.stored_half[1])),
                    ("BIAS", flag(self.bias)),
                ],
            },
            GemmVariant::Subgroup8 => KernelSpec {
                file: "linalg/gemm_sg8.wgsl",
                source: source("linalg/gemm_sg8.wgsl"),
                entry: "main",
                storage: &[R, R, W, R],
                constants: vec![
                    ("HALF_A", flag(self.precision[0].is_half())),
                    ("HALF_B", flag(self.precision[1].is_half())),
                    ("BIAS", flag(self.bias)),
                ],
            },
        }
    }
}

fn flag(b: bool) -> f64 {
    f64::from(u8::from(b))
}

/// Specialisation key of the panel-packing kernel: whether the source is read as (k, row), the panels'
/// precision, and whether the source is an f16 matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct PackKey {
    trans: bool,
    precision: Precision,
    stored_half: bool,
}

impl fmt::Display for PackKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = if self.trans { "_t" } else { "" };
        let from = if self.stored_half { "_from16" } else { "" };
        match self.precision {
            Precision::F32 => write!(f, "gemm_pack{t}{from}"),
            Precision::F16 => write!(f, "gemm_pack{t}_f16{from}"),
        }
    }
}

impl KernelKey for PackKey {
    fn spec(&self) -> KernelSpec {
        KernelSpec {
            file: "linalg/gemm_pack.wgsl",
            source: source("linalg/gemm_pack.wgsl"),
            entry: "main",
            storage: &[R, W],
            constants: vec![
                ("TRANS", flag(self.trans)),
                ("HALF", flag(self.precision.is_half())),
                ("STORED_HALF", flag(self.stored_half)),
            ],
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct GemmParams {
    m: u32,
    n: u32,
    k: u32,
    alpha: f32,
    beta: f32,
    a_offset: u32,
    c_offset: u32,
    lda: u32,
    ldc: u32,
    k_begin: u32,
    k_end: u32,
    _pad: u32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct PackParams {
    rows: u32,
    k: u32,
    total: u32,
    offset: u32,
    ld: u32,
    _pad: [u32; 3],
}

/// The size of one product, where op(A) and C start inside their tensors (in elements) and how far apart
/// their rows are: a GEMM over a window of rows of larger tensors (the chunked convolution passes) or over
/// a block of columns of a wider matrix (InfoNCE's similarity halves).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GemmWindow {
    /// Rows of op(A) and C.
    pub m: usize,
    /// Columns of op(B) and C.
    pub n: usize,
    /// Inner dimension.
    pub k: usize,
    /// First element of A.
    pub a_offset: usize,
    /// First element of C.
    pub c_offset: usize,
    /// Stride between stored rows of A (`None`: dense, K, or M when A is transposed).
    pub lda: Option<usize>,
    /// Stride between rows of C (`None`: dense, N).
    pub ldc: Option<usize>,
}

impl GemmWindow {
    /// A dense m×n×k product starting at the first element of A and C.
    pub fn dense(m: usize, n: usize, k: usize) -> Self {
        Self { m, n, k, a_offset: 0, c_offset: 0, lda: None, ldc: None }
    }
}

/// Shape and scaling of one GEMM call.
#[derive(Clone, Copy, Debug)]
pub struct Gemm {
    /// A is stored (K, M) instead of (M, K).
    pub trans_a: bool,
    /// B is stored (N, K) instead of (K, N).
    pub trans_b: bool,
    /// Scale of the product.
    pub alpha: f32,
    /// Scale of the existing C (0: C is overwritten and never read; 1: accumulate).
    pub beta: f32,
    /// How A and B enter the product (f16: rounded to f16, accumulated in f32).
    pub precision: [Precision; 2],
}

impl Default for Gemm {
    fn default() -> Self {
        Self { trans_a: false, trans_b: false, alpha: 1.0, beta: 0.0, precision: [Precision::F32; 2] }
    }
}

impl Gemm {
    /// `C = A·B`.
    pub fn nn() -> Self {
        Self::default()
    }

    /// `C = Aᵀ·B` (A stored (K, M)).
    pub fn tn() -> Self {
        Self { trans_a: true, ..Self::default() }
    }

    /// `C = A·Bᵀ` (B stored (N, K)).
    pub fn nt() -> Self {
        Self { trans_b: true, ..Self::default() }
    }

    /// The same product, added to C instead of overwriting it (`beta = 1`).
    pub fn accumulate(self) -> Self {
        Self { beta: 1.0, ..self }
    }

    /// The same product with A and B entering it at these precisions.
    pub fn with_precision(self, a: Precision, b: Precision) -> Self {
        Self { precision: [a, b], ..self }
    }

    /// The stored shape of A for an op(A) of m×k.
    pub fn a_shape(&self, m: usize, k: usize) -> [usize; 2] {
        if self.trans_a { [k, m] } else { [m, k] }
    }

    /// The stored shape of B for an op(B) of k×n.
    pub fn b_shape(&self, k: usize, n: usize) -> [usize; 2] {
        if self.trans_b { [n, k] } else { [k, n] }
    }

    /// `(M, N, K)` for these operands; panics if the inner dimensions or C's shape disagree.
    #[track_caller]
    pub fn dims<'a, 'b>(
        &self,
        a: impl Into<MatrixRef<'a>>,
        b: impl Into<MatrixRef<'b>>,
        c: &Tensor,
    ) -> (usize, usize, usize) {
        let (ar, ac) = a.into().dims2();
        let (br, bc) = b.into().dims2();
        let (m, k) = if self.trans_a { (ac, ar) } else { (ar, ac) };
        let (kb, n) = if self.trans_b { (bc, br) } else { (br, bc) };
        assert_eq!(k, kb, "gemm inner dimensions differ: op(A) is {m}x{k}, op(B) is {kb}x{n}");
        assert_eq!(c.dims2(), (m, n), "gemm output {c:?} is not {m}x{n}");
        (m, n, k)
    }

    /// Records the GEMM with the device's preferred variant.
    #[track_caller]
    pub fn record(&self, rec: &mut Recorder<'_>, a: &Tensor, b: &Tensor, c: &Tensor) -> Result<()> {
        let variant = GemmVariant::for_device(rec.gpu());
        self.record_variant(rec, variant, a, b, c)
    }

    /// Records the GEMM with a chosen variant (for tests and benchmarks).
    #[track_caller]
    pub fn record_variant(
        &self,
        rec: &mut Recorder<'_>,
        variant: GemmVariant,
        a: &Tensor,
        b: &Tensor,
        c: &Tensor,
    ) -> Result<()> {
        let (m, n, k) = self.dims(a, b, c);
        self.record_impl(rec, variant, (a.into(), b.into(), c), GemmWindow::dense(m, n, k), Epilogue::default())
    }

    /// Records the GEMM with the device's preferred variant, B being laid out in `shared_b`
    /// ([`shared_b_panels`]) rather than in scratch: a B that several products use (a layer's weight, for
    /// both views) is then laid out once per recording, and again only after something has written it.
    /// With `bias` (N), C also gets the bias added to every row, in the same kernel. A and B may be f16
    /// matrices.
    #[track_caller]
    pub fn record_shared_b(
        &self,
        rec: &mut Recorder<'_>,
        (a, b, c): (MatrixRef<'_>, MatrixRef<'_>, &Tensor),
        shared_b: Option<&Tensor>,
        bias: Option<&Tensor>,
    ) -> Result<()> {
        let variant = GemmVariant::for_device(rec.gpu());
        self.record_with(rec, variant, (a, b, c), shared_b, bias)
    }

    /// [`Gemm::record_shared_b`] with a chosen variant (for tests and benchmarks).
    #[track_caller]
    pub fn record_with(
        &self,
        rec: &mut Recorder<'_>,
        variant: GemmVariant,
        (a, b, c): (MatrixRef<'_>, MatrixRef<'_>, &Tensor),
        shared_b: Option<&Tensor>,
        bias: Option<&Tensor>,
    ) -> Result<()> {
        let (m, n, k) = self.dims(a, b, c);
        if let Some(bias) = bias {
            assert_eq!(bias.len(), n, "gemm: bias {bias:?} for {n} columns");
        }
        self.record_impl(rec, variant, (a, b, c), GemmWindow::dense(m, n, k), Epilogue { shared_b, bias })
    }

    /// Records the GEMM on a window of A and C (see [`GemmWindow`]) with the device's preferred variant.
    #[track_caller]
    pub fn record_window(
        &self,
        rec: &mut Recorder<'_>,
        a: &Tensor,
        b: &Tensor,
        c: &Tensor,
        w: GemmWindow,
    ) -> Result<()> {
        let variant = GemmVariant::for_device(rec.gpu());
        self.record_window_variant(rec, variant, a, b, c, w)
    }

    /// Records the GEMM on a window of A and C with a chosen variant; panics if a window runs past its
    /// tensor.
    #[track_caller]
    pub fn record_window_variant(
        &self,
        rec: &mut Recorder<'_>,
        variant: GemmVariant,
        a: &Tensor,
        b: &Tensor,
        c: &Tensor,
        w: GemmWindow,
    ) -> Result<()> {
        self.record_impl(rec, variant, (a.into(), b.into(), c), w, Epilogue::default())
    }

    #[track_caller]
    fn record_impl(
        &self,
        rec: &mut Recorder<'_>,
        variant: GemmVariant,
        (a, b, c): (MatrixRef<'_>, MatrixRef<'_>, &Tensor),
        w: GemmWindow,
        Epilogue { shared_b, bias }: Epilogue<'_>,
    ) -> Result<()> {
        let GemmWindow { m, n, k, a_offset, c_offset, .. } = w;
        if m == 0 || n == 0 {
            return Ok(());
        }
        let (a_rows, a_cols) = if self.trans_a { (k, m) } else { (m, k) };
        // An f16 matrix's rows are padded to an even length.
        let pad = |stored: MatrixRef<'_>, len: usize| if stored.is_half() { len.next_multiple_of(2) } else { len };
        let lda = w.lda.unwrap_or(pad(a, a_cols));
        let ldc = w.ldc.unwrap_or(n);
        assert!(lda >= a_cols && ldc >= n, "gemm: row strides {lda}, {ldc} below the rows' lengths {a_cols}, {n}");
        let a_end = if a_rows == 0 { 0 } else { a_offset + (a_rows - 1) * lda + a_cols };
        assert!(a_end <= capacity(a), "gemm: A {a:?} has no {m}x{k} window at {a_offset} (row stride {lda})");
        let (b_rows, b_cols) = if self.trans_b { (n, k) } else { (k, n) };
        let ldb = pad(b, b_cols);
        assert!(b_rows * ldb <= capacity(b), "gemm: B {b:?} is smaller than {k}x{n}");
        let c_end = c_offset + (m - 1) * ldc + n;
        assert!(c_end <= c.len(), "gemm: C {c:?} has no {m}x{n} window at {c_offset} (row stride {ldc})");
        let params = GemmParams { lda: lda as u32, ..self.params(w) };
        let gpu = rec.gpu();
        if variant == GemmVariant::Subgroup8
            && let Some((mb, nb)) = sg8_blocks(gpu, m, n, k)
        {
            let [pa_prec, pb_prec] = self.precision;
            let pa = gpu.scratch("gemm.panel_a", &[panel_words(mb, k, pa_prec)])?;
            pack(rec, a, (a_offset, lda), &pa, (m, k), self.trans_a, pa_prec)?;
            // op(B) (K, N) is packed as an (N, K) matrix: stored (K, N) is then the transposed read.
            let layout =
                u64::from(self.trans_b) | u64::from(pb_prec.is_half()) << 1 | (k as u64) << 2 | (n as u64) << 33;
            let shared = shared_b.filter(|p| p.len() == panel_words(nb, k, pb_prec));
            let pb = match shared {
                Some(p) => p.clone(),
                None => gpu.scratch("gemm.panel_b", &[panel_words(nb, k, pb_prec)])?,
            };
            if shared.is_none() || !rec.derived_is_current(&pb, b.tensor(), layout) {
                pack(rec, b, (0, ldb), &pb, (n, k), !self.trans_b, pb_prec)?;
                if shared.is_some() {
                    rec.set_derived(&pb, b.tensor(), layout);
                }
            }
            return record_sg8_main(rec, (&pa, &pb, c), params, (mb, nb), self.precision, bias);
        }
        let key = GemmKey {
            variant: GemmVariant::Tiled,
            trans_a: self.trans_a,
            trans_b: self.trans_b,
            precision: self.precision,
            stored_half: [a.is_half(), b.is_half()],
            bias: bias.is_some(),
        };
        let groups = [n.div_ceil(64) as u32, m.div_ceil(64) as u32, 1];
        let (a, b) = (a.tensor(), b.tensor());
        for (i, part) in k_ranges(params).enumerate() {
            // Later ranges add to C, without the bias; without a bias, A (read-only already) fills its binding.
            let key = GemmKey { bias: bias.is_some() && i == 0, ..key };
            let kernel = gpu.kernel(&key)?;
            rec.dispatch(&kernel, &[a, b, c, bias.filter(|_| i == 0).unwrap_or(a)], &part, groups)?;
        }
        Ok(())
    }

    /// The row stride of A on a window.
    fn lda(&self, w: GemmWindow) -> usize {
        w.lda.unwrap_or(if self.trans_a { w.m } else { w.k })
    }

    /// The uniform block of this product on a window (for kernels that feed the packed main loop
    /// directly).
    pub(crate) fn params(&self, w: GemmWindow) -> GemmParams {
        GemmParams {
            m: w.m as u32,
            n: w.n as u32,
            k: w.k as u32,
            alpha: self.alpha,
            beta: self.beta,
            a_offset: w.a_offset as u32,
            c_offset: w.c_offset as u32,
            lda: self.lda(w) as u32,
            ldc: w.ldc.unwrap_or(w.n) as u32,
            k_begin: 0,
            k_end: w.k as u32,
            _pad: 0,
        }
    }
}

/// Elements an operand can address from its start: an f32 tensor's length, or an f16 matrix's rows times
/// its padded row length.
fn capacity(m: MatrixRef<'_>) -> usize {
    match m {
        MatrixRef::F32(t) => t.len(),
        MatrixRef::F16(h) => h.dims2().0 * h.ld(),
    }
}

/// What a product does besides `alpha op(A) op(B) + beta C`: where a shared B is laid out, and a bias.
#[derive(Clone, Copy, Default)]
struct Epilogue<'a> {
    shared_b: Option<&'a Tensor>,
    bias: Option<&'a Tensor>,
}

/// Persistent panels for a B operand with op(B) of shape (k, n) that several products share, entering
/// them at `precision` (see [`Gemm::record_shared_b`]); `None` where this device's GEMM does not pack B.
pub fn shared_b_panels(gpu: &Gpu, k: usize, n: usize, precision: Precision) -> Result<Option<Tensor>> {
    let words = panel_words(n.div_ceil(PANEL), k, precision);
    if GemmVariant::for_device(gpu) != GemmVariant::Subgroup8 || k == 0 || gpu.check_fits("", 4 * words as u64).is_err()
    {
        return Ok(None);
    }
    gpu.empty(&[words]).map(Some)
}

/// 32-bit words of `blocks` packed panels of depth `k`: f16 panels hold two elements per word.
pub(crate) fn panel_words(blocks: usize, k: usize, precision: Precision) -> usize {
    match precision {
        Precision::F32 => blocks * PANEL * k,
        Precision::F16 => blocks * PANEL * k / 2,
    }
}

/// Row and column blocks of the packed (sg8) path for an m×n×k product, or `None` where its panels
/// would not fit a binding or its grid the dispatch limits (the tiled kernel then runs instead).
pub(crate) fn sg8_blocks(gpu: &Gpu, m: usize, n: usize, k: usize) -> Option<(usize, usize)> {
    let (mb, nb) = (m.div_ceil(PANEL), n.div_ceil(PANEL));
    let panel = (mb.max(nb) * PANEL * k * 4) as u64;
    let max = gpu.limits().max_compute_workgroups_per_dimension as usize;
    (k > 0 && mb <= max && nb <= max && gpu.check_fits("gemm panel", panel).is_ok()).then_some((mb, nb))
}

/// Records the sg8 main loop on packed panels `pa` (`mb` blocks) and `pb` (`nb` blocks) of the given
/// precisions, adding `bias` to every row of C when given.
pub(crate) fn record_sg8_main(
    rec: &mut Recorder<'_>,
    (pa, pb, c): (&Tensor, &Tensor, &Tensor),
    params: GemmParams,
    (mb, nb): (usize, usize),
    precision: [Precision; 2],
    bias: Option<&Tensor>,
) -> Result<()> {
    let key = GemmKey {
        variant: GemmVariant::Subgroup8,
        trans_a: false,
        trans_b: false,
        precision,
        stored_half: [false; 2],
        bias: bias.is_some(),
    };
    for (i, part) in k_ranges(params).enumerate() {
        // Later ranges add to C, without the bias; without a bias, A's panel (read-only already) fills its
        // binding.
        let key = GemmKey { bias: bias.is_some() && i == 0, ..key };
        let kernel = rec.gpu().kernel(&key)?;
        rec.dispatch(&kernel, &[pa, pb, c, bias.filter(|_| i == 0).unwrap_or(pa)], &part, [nb as u32, mb as u32, 1])?;
    }
    Ok(())
}

/// Most of K one GEMM dispatch sums: llvmpipe stops an invocation's loops after 65,535 iterations in all,
/// so a longer product is several dispatches over ranges of K, each after the first adding to C.
pub const K_PER_DISPATCH: usize = 32768;

/// The dispatches of one product: `params` restricted to successive ranges of at most
/// [`K_PER_DISPATCH`], the first with the product's beta and the others with beta = 1.
fn k_ranges(params: GemmParams) -> impl Iterator<Item = GemmParams> {
    let k = params.k as usize;
    (0..k.div_ceil(K_PER_DISPATCH).max(1)).map(move |i| GemmParams {
        k_begin: (i * K_PER_DISPATCH) as u32,
        k_end: ((i + 1) * K_PER_DISPATCH).min(k) as u32,
        beta: if i == 0 { params.beta } else { 1.0 },
        ..params
    })
}

/// Rows (of A) and columns (of B) per packed panel: the sg8 kernel's block.
pub(crate) const PANEL: usize = 64;

/// Packs a (rows, k) matrix that starts `offset` elements into `src` (f32 or f16) with stored rows `ld`
/// apart, stored transposed when `trans`, into zero-padded 64-row panels of `precision`.
pub(crate) fn pack<'s>(
    rec: &mut Recorder<'_>,
    src: impl Into<MatrixRef<'s>>,
    (offset, ld): (usize, usize),
    dst: &Tensor,
    (rows, k): (usize, usize),
    trans: bool,
    precision: Precision,
) -> Result<()> {
    let src = src.into();
    let gpu = rec.gpu();
    let kernel = gpu.kernel(&PackKey { trans, precision, stored_half: src.is_half() })?;
    let per_thread = if precision.is_half() { 8 } else { 4 };
    let total = rows.div_ceil(PANEL) * PANEL * k;
    assert!(dst.len() >= panel_words(rows.div_ceil(PANEL), k, precision), "gemm: panel buffer too small");
    let params = PackParams {
        rows: rows as u32,
        k: k as u32,
        total: total as u32,
        offset: offset as u32,
        ld: ld as u32,
        _pad: [0; 3],
    };
    // Four packed elements per thread, eight for f16 (`total` is a multiple of 64).
    rec.dispatch(&kernel, &[src.tensor(), dst], &params, workgroups_1d(gpu, total.div_ceil(per_thread * 256)))
}
