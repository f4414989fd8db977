//! 2-D pooling over NHWC activations, forward (`shaders/conv/pool_fwd.wgsl`) and backward
//! (`pool_bwd.wgsl`): max pooling (PyTorch's -inf padding and first-argmax), average pooling (padding
//! counted, as `count_include_pad=True`), and global average pooling as the average over the whole image.
//! Reference: `tandem_reference::pool`. Test: `tests/kernels/conv.rs`.

use tandem_gpu::{Recorder, Result, Tensor};

use crate::entry::{EntryKey, R, W};

/// Which reduction a pooling window applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PoolKind {
    /// Largest value.
    Max,
    /// Mean, padding counted as zero.
    Avg,
}

/// The shape of one pooling layer over `(batch, h, w, c)` input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pool2d {
    /// Reduction.
    pub kind: PoolKind,
    /// Images.
    pub batch: usize,
    /// Channels.
    pub c: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Window height.
    pub kh: usize,
    /// Window width.
    pub kw: usize,
    /// Stride in both directions.
    pub stride: usize,
    /// Padding on every side.
    pub pad: usize,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Params {
    n: u32,
    c: u32,
    h: u32,
    w: u32,
    kh: u32,
    kw: u32,
    stride: u32,
    pad: u32,
    oh: u32,
    ow: u32,
    total: u32,
    _pad: u32,
}

impl Pool2d {
    /// Global average pooling: `(batch, h, w, c)` to `(batch, c)`.
    pub fn global_avg(batch: usize, c: usize, h: usize, w: usize) -> Self {
        Self { kind: PoolKind::Avg, batch, c, h, w, kh: h, kw: w, stride: 1, pad: 0 }
    }

    /// Output height.
    pub fn out_h(&self) -> usize {
        (self.h + 2 * self.pad - self.kh) / self.stride + 1
    }

    /// Output width.
    pub fn out_w(&self) -> usize {
        (self.w + 2 * self.pad - self.kw) / self.stride + 1
    }

    /// Elements of the input.
    pub fn input_len(&self) -> usize {
        self.batch * self.h * self.w * self.c
    }

    /// Elements of the output.
    pub fn output_len(&self) -> usize {
        self.batch * self.out_h() * self.out_w() * self.c
    }

    fn entry(&self) -> &'static str {
        match self.kind {
            PoolKind::Max => "max_pool",
            PoolKind::Avg => "avg_pool",
        }
    }

    #[track_caller]
    fn params(&self, total: usize) -> Params {
        assert!(
            self.stride > 0 && self.kh > 0 && self.kw > 0 && self.h + 2 * self.pad >= self.kh,
            "pool2d: invalid window in {self:?}"
        );
        assert!(self.w + 2 * self.pad >= self.kw, "pool2d: window wider than the padded input in {self:?}");
        // PyTorch's rule: a window never lies entirely in the padding.
        assert!(2 * self.pad <= self.kh.min(self.kw), "pool2d: padding exceeds half the window in {self:?}");
        Params {
            n: self.batch as u32,
            c: self.c as u32,
            h: self.h as u32,
            w: self.w as u32,
            kh: self.kh as u32,
            kw: self.kw as u32,
            stride: self.stride as u32,
            pad: self.pad as u32,
            oh: self.out_h() as u32,
            ow: self.out_w() as u32,
            total: total as u32,
            _pad: 0,
        }
    }

    /// Forward: `y (batch, out_h, out_w, c)` is written.
    #[track_caller]
    pub fn forward(&self, rec: &mut Recorder<'_>, x: &Tensor, y: &Tensor) -> Result<()> {
        assert_eq!(x.len(), self.input_len(), "pool2d: input {x:?} for {self:?}");
        assert_eq!(y.len(), self.output_len(), "pool2d: output {y:?} for {self:?}");
        let key = EntryKey { file: "conv/pool_fwd.wgsl", entry: self.entry(), storage: &[R, W] };
        let total = self.output_len();
        key.launch(rec, &[x, y], &self.params(total), total, 256)
    }

    /// Backward: `dx` is written from `dy`; max pooling reads the forward input `x` to find each
    /// window's argmax (average pooling ignores it).
    #[track_caller]
    pub fn backward(&self, rec: &mut Recorder<'_>, x: &Tensor, dy: &Tensor, dx: &Tensor) -> Result<()> {
        assert_eq!(x.len(), self.input_len(), "pool2d backward: input {x:?} for {self:?}");
        assert_eq!(dy.len(), self.output_len(), "pool2d backward: output gradient {dy:?} for {self:?}");
        assert_eq!(dx.len(), self.input_len(), "pool2d backward: input gradient {dx:?} for {self:?}");
        let key = EntryKey { file: "conv/pool_bwd.wgsl", entry: self.entry(), storage: &[R, R, W] };
        let total = self.input_len();
        key.launch(rec, &[x, dy, dx], &self.params(total), total, 256)
    }
}
