//! 2-D convolution as GEMMs over im2col windows (`shaders/conv/im2col.wgsl`, `col2im.wgsl`), sharing the
//! GEMM kernels and their per-device variant:
//!
//! - forward `y = col(x) · Wᵀ` (positions × C_out, which is NHWC);
//! - backward-data `dcol = dy · W`, then `dx = col2im(dcol)` (a gather: no atomics);
//! - backward-weight `dW = dyᵀ · col(x)`, accumulated over windows.
//!
//! On the packed (sg8) GEMM the im2col kernel writes the GEMM's panels directly (an implicit GEMM: the
//! im2col matrix never exists apart from the panels the GEMM stages anyway); on the tiled GEMM it writes
//! a plain window of the im2col matrix. Windows of output positions keep every staging buffer under
//! [`WINDOW_BYTES`] and a storage binding, so any batch and image size runs.
//!
//! Layout: activations are NHWC (`(N·H·W, C)` row-major), so a convolution's output is its GEMM's C as
//! is, and BatchNorm2d, bias and ReLU are their 1-D kernels over `(N·H·W, C)`. The first convolution
//! also reads NCHW, the layout of augmented images. Weights are torchvision's `(C_out, C_in, KH, KW)`.
//! Bias, where a layer has one, is `bias::bias_add_forward` and its column sum.
//!
//! Reference: `tandem_reference::conv2d`. Test: `tests/kernels/conv.rs`. Bench: `tandem bench conv2d`.

use std::fmt;

use tandem_gpu::{Gpu, KernelKey, KernelSpec, Recorder, Result, Tensor, workgroups_1d};

use crate::entry::{EntryKey, R, W};
use crate::gemm::{self, Gemm, GemmVariant, GemmWindow, PANEL};
use crate::precision::Precision;

/// Memory layout of a convolution's input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Layout {
    /// `(N, C, H, W)`: images as augmented.
    Nchw,
    /// `(N, H, W, C)`: activations inside a network.
    Nhwc,
}

/// The shape of one 2-D convolution (square stride and padding, any kernel size).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv2dShape {
    /// Images.
    pub batch: usize,
    /// Input channels.
    pub c_in: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output channels.
    pub c_out: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Stride in both directions.
    pub stride: usize,
    /// Zero padding on every side.
    pub pad: usize,
    /// Layout of the input (the output is always NHWC).
    pub input: Layout,
}

impl Conv2dShape {
    /// Output height.
    pub fn out_h(&self) -> usize {
        (self.h + 2 * self.pad - self.kh) / self.stride + 1
    }

    /// Output width.
    pub fn out_w(&self) -> usize {
        (self.w + 2 * self.pad - self.kw) / self.stride + 1
    }

    /// Output positions, the rows of the output: `batch · out_h · out_w`.
    pub fn positions(&self) -> usize {
        self.batch * self.out_h() * self.out_w()
    }

    /// The GEMM's inner dimension: `c_in · kh · kw`.
    pub fn k(&self) -> usize {
        self.c_in * self.kh * self.kw
    }

    /// Elements of the input.
    pub fn input_len(&self) -> usize {
        self.batch * self.c_in * self.h * self.w
    }

    /// Multiply-adds times two of one pass (forward, backward-data and backward-weight are equal).
    pub fn flops(&self) -> f64 {
        2.0 * self.positions() as f64 * self.c_out as f64 * self.k() as f64
    }

    /// Panics unless the shape is a valid convolution.
    #[track_caller]
    fn validate(&self) {
        assert!(
            self.batch > 0 && self.c_in > 0 && self.c_out > 0 && self.stride > 0 && self.kh > 0 && self.kw > 0,
            "conv2d: empty shape {self:?}"
        );
        assert!(
            self.h + 2 * self.pad >= self.kh && self.w + 2 * self.pad >= self.kw,
            "conv2d: kernel larger than the padded input in {self:?}"
        );
    }
}

/// Default upper bound on one staging window (im2col matrix or panel) in bytes, below the binding limit.
pub const WINDOW_BYTES: u64 = 64 << 20;

/// A convolution bound to a GEMM variant.
#[derive(Clone, Copy, Debug)]
pub struct Conv2d {
    /// Its shape.
    pub shape: Conv2dShape,
    /// The GEMM implementation it runs on.
    pub variant: GemmVariant,
    /// Upper bound on a staging window in bytes ([`WINDOW_BYTES`]; tests lower it to force chunking).
    pub window_bytes: u64,
    /// How the weight and the input enter the products (f16: mixed precision; the output gradient, and
    /// so the backward products' other operand, stays f32).
    pub precision: Precision,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Geometry {
    c: u32,
    h: u32,
    w: u32,
    kh: u32,
    kw: u32,
    stride: u32,
    pad: u32,
    oh: u32,
    ow: u32,
    k: u32,
    pos0: u32,
    rows: u32,
    total: u32,
    nchw: u32,
    img0: u32,
    accumulate: u32,
}

/// How the im2col kernel lays out its window (the `MODE` of `im2col.wgsl`).
#[derive(Clone, Copy)]
enum ColLayout {
    Plain = 0,
    PanelsByPosition = 1,
    PanelsByColumn = 2,
}

/// A staging buffer of `len` elements: a prefix of a per-role scratch buffer whose length is rounded up
/// to a power of two, so that layers of many shapes share a few buffers.
fn staging(gpu: &Gpu, role: &'static str, len: usize) -> Result<Tensor> {
    Ok(gpu.scratch(role, &[len.next_power_of_two()])?.prefix(&[len]))
}

const COL2IM: EntryKey = EntryKey { file: "conv/col2im.wgsl", entry: "main", storage: &[R, W] };

/// Specialisation key of the im2col kernel: its output layout and (panels only) their precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Im2colKey {
    mode: u32,
    precision: Precision,
}

impl fmt::Display for Im2colKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.precision {
            Precision::F32 => write!(f, "im2col_mode{}", self.mode),
            Precision::F16 => write!(f, "im2col_mode{}_f16", self.mode),
        }
    }
}

impl KernelKey for Im2colKey {
    fn spec(&self) -> KernelSpec {
        KernelSpec {
            file: "conv/im2col.wgsl",
            source: crate::shaders::source("conv/im2col.wgsl"),
            entry: "main",
            storage: &[R, W],
            constants: vec![("MODE", f64::from(self.mode)), ("HALF", f64::from(u8::from(self.precision.is_half())))],
        }
    }
}

impl Conv2d {
    /// The convolution on the device's preferred GEMM variant.
    pub fn new(gpu: &Gpu, shape: Conv2dShape) -> Self {
        Self { shape, variant: GemmVariant::for_device(gpu), window_bytes: WINDOW_BYTES, precision: Precision::F32 }
    }

    fn geometry(&self, pos0: usize, rows: usize, total: usize) -> Geometry {
        let s = &self.shape;
        Geometry {
            c: s.c_in as u32,
            h: s.h as u32,
            w: s.w as u32,
            kh: s.kh as u32,
            kw: s.kw as u32,
            stride: s.stride as u32,
            pad: s.pad as u32,
            oh: s.out_h() as u32,
            ow: s.out_w() as u32,
            k: s.k() as u32,
            pos0: pos0 as u32,
            rows: rows as u32,
            total: total as u32,
            nchw: u32::from(s.input == Layout::Nchw),
            img0: 0,
            accumulate: 0,
        }
    }

    /// Windows `(first position, positions)` covering every output position: whole images while an
    /// image's im2col fits [`WINDOW_BYTES`] (and a binding), else multiples of 64 positions.
    fn windows(&self, gpu: &Gpu) -> Vec<(usize, usize)> {
        let s = &self.shape;
        // A power of two, so that the rounded-up staging buffers stay within it.
        let binding = gpu.limits().max_storage_buffer_binding_size;
        let budget = self.window_bytes.min(1 << (63 - binding.leading_zeros()));
        let row_bytes = (s.k().div_ceil(PANEL) * PANEL).max(s.c_out.div_ceil(PANEL) * PANEL) as u64 * 4;
        let fit = ((budget / row_bytes) as usize).max(PANEL);
        let plane = s.out_h() * s.out_w();
        let step = if fit >= plane { fit / plane * plane } else { fit / PANEL * PANEL };
        let total = s.positions();
        (0..total).step_by(step).map(|p0| (p0, step.min(total - p0))).collect()
    }

    /// Writes the im2col window `win` into `dst` in `layout`; panel layouts at the convolution's precision
    /// (the plain layout, for the tiled GEMM, is always f32: that kernel rounds as it loads).
    fn im2col(
        &self,
        rec: &mut Recorder<'_>,
        x: &Tensor,
        dst: &Tensor,
        layout: ColLayout,
        win: (usize, usize),
    ) -> Result<()> {
        let gpu = rec.gpu();
        let precision = if matches!(layout, ColLayout::Plain) { Precision::F32 } else { self.precision };
        let kernel = gpu.kernel(&Im2colKey { mode: layout as u32, precision })?;
        // f16 panels hold two elements per word.
        let per_word = if precision.is_half() { 2 } else { 1 };
        let total = dst.len() * per_word;
        let params = self.geometry(win.0, win.1, total);
        // Four elements per thread (eight in f16); `dst` is a staging buffer, padded to whole vec4s.
        rec.dispatch(&kernel, &[x, dst], &params, workgroups_1d(gpu, total.div_ceil(4 * per_word * 256)))
    }

    #[track_caller]
    fn check(&self, what: &str, t: &Tensor, len: usize) {
        self.shape.validate();
        assert_eq!(t.len(), len, "conv2d {what}: {t:?} does not hold {len} elements for {:?}", self.shape);
    }

    /// Forward: `y (positions, c_out) = conv(x, weight)` (written); `weight` is `(c_out, c_in, kh, kw)`.
    #[track_caller]
    pub fn forward(&self, rec: &mut Recorder<'_>, x: &Tensor, weight: &Tensor, y: &Tensor) -> Result<()> {
        let s = self.shape;
        self.check("input", x, s.input_len());
        self.check("weight", weight, s.c_out * s.k());
        self.check("output", y, s.positions() * s.c_out);
        let gpu = rec.gpu();
        let k = s.k();
        let mut packed_w = None;
        for win in self.windows(gpu) {
            let w = GemmWindow { c_offset: win.0 * s.c_out, ..GemmWindow::dense(win.1, s.c_out, k) };
            let blocks = (self.variant == GemmVariant::Subgroup8).then(|| gemm::sg8_blocks(gpu, w.m, w.n, k)).flatten();
            let p = self.precision;
            if let Some((mb, nb)) = blocks {
                if packed_w.is_none() {
                    let pb = staging(gpu, "conv.weight_panel", gemm::panel_words(nb, k, p))?;
                    gemm::pack(rec, weight, (0, k), &pb, (s.c_out, k), false, p)?;
                    packed_w = Some(pb);
                }
                let pa = staging(gpu, "conv.col_panel", gemm::panel_words(mb, k, p))?;
                self.im2col(rec, x, &pa, ColLayout::PanelsByPosition, win)?;
                let params = Gemm::nt().params(w);
                let pb = packed_w.as_ref().expect("packed above");
                gemm::record_sg8_main(rec, (&pa, pb, y), params, (mb, nb), [p, p], None)?;
            } else {
                let col = staging(gpu, "conv.col", win.1 * k)?;
                self.im2col(rec, x, &col, ColLayout::Plain, win)?;
                let op = Gemm::nt().with_precision(p, p);
                op.record_window_variant(rec, GemmVariant::Tiled, &col, weight, y, w)?;
            }
        }
        Ok(())
    }

    /// Backward with respect to the input: `dx` (the input's layout) is written, or added to when
    /// `accumulate` (a block input that also feeds a shortcut).
    #[track_caller]
    pub fn backward_data(
        &self,
        rec: &mut Recorder<'_>,
        dy: &Tensor,
        weight: &Tensor,
        dx: &Tensor,
        accumulate: bool,
    ) -> Result<()> {
        let s = self.shape;
        self.check("output gradient", dy, s.positions() * s.c_out);
        self.check("weight", weight, s.c_out * s.k());
        self.check("input gradient", dx, s.input_len());
        let gpu = rec.gpu();
        let k = s.k();
        let plane = s.out_h() * s.out_w();
        let per_image = s.c_in * s.h * s.w;
        let windows = self.windows(gpu);
        // Windows smaller than an image share images: they all add into a cleared dx.
        let split = windows.len() > 1 && !windows[0].1.is_multiple_of(plane);
        if split && !accumulate {
            rec.clear(dx);
        }
        for win in windows {
            let dcol = staging(gpu, "conv.col", win.1 * k)?;
            let w = GemmWindow { a_offset: win.0 * s.c_out, ..GemmWindow::dense(win.1, k, s.c_out) };
            let op = Gemm::nn().with_precision(Precision::F32, self.precision);
            op.record_window_variant(rec, self.variant, dy, weight, &dcol, w)?;
            let (img0, img1) = (win.0 / plane, (win.0 + win.1 - 1) / plane + 1);
            let total = (img1 - img0) * per_image;
            let params = Geometry {
                img0: img0 as u32,
                accumulate: u32::from(accumulate || split),
                ..self.geometry(win.0, win.1, total)
            };
            COL2IM.launch(rec, &[&dcol, dx], &params, total, 256)?;
        }
        Ok(())
    }

    /// Backward with respect to the weight: `dweight (c_out, c_in, kh, kw)` is written, or added to when
    /// `accumulate` (a step's second view).
    #[track_caller]
    pub fn backward_weight(
        &self,
        rec: &mut Recorder<'_>,
        x: &Tensor,
        dy: &Tensor,
        dweight: &Tensor,
        accumulate: bool,
    ) -> Result<()> {
        let s = self.shape;
        self.check("input", x, s.input_len());
        self.check("output gradient", dy, s.positions() * s.c_out);
        self.check("weight gradient", dweight, s.c_out * s.k());
        let gpu = rec.gpu();
        let k = s.k();
        for (i, win) in self.windows(gpu).into_iter().enumerate() {
            let op = Gemm { beta: if i == 0 && !accumulate { 0.0 } else { 1.0 }, ..Gemm::tn() }
                .with_precision(Precision::F32, self.precision);
            let w = GemmWindow { a_offset: win.0 * s.c_out, ..GemmWindow::dense(s.c_out, k, win.1) };
            let blocks =
                (self.variant == GemmVariant::Subgroup8).then(|| gemm::sg8_blocks(gpu, w.m, w.n, w.k)).flatten();
            if let Some((mb, nb)) = blocks {
                let pa = staging(gpu, "conv.dy_panel", mb * PANEL * win.1)?;
                gemm::pack(rec, dy, (w.a_offset, s.c_out), &pa, (s.c_out, win.1), true, Precision::F32)?;
                let pb = staging(gpu, "conv.col_panel", gemm::panel_words(nb, win.1, self.precision))?;
                self.im2col(rec, x, &pb, ColLayout::PanelsByColumn, win)?;
                gemm::record_sg8_main(rec, (&pa, &pb, dweight), op.params(w), (mb, nb), op.precision, None)?;
            } else {
                let col = staging(gpu, "conv.col", win.1 * k)?;
                self.im2col(rec, x, &col, ColLayout::Plain, win)?;
                op.record_window_variant(rec, GemmVariant::Tiled, dy, &col, dweight, w)?;
            }
        }
        Ok(())
    }
}
