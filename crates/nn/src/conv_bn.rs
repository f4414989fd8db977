//! [`ConvBn`]: a bias-free convolution, its BatchNorm2d and an optional ReLU, the unit every
//! convolutional encoder here is made of, with the activation buffers one batch needs.
//!
//! Activations are NHWC, `(N·H·W, C)` row-major, so BatchNorm2d is the BatchNorm1d kernel over rows:
//! statistics per channel over N·H·W values, as `torch.nn.BatchNorm2d`.

use rand_chacha::ChaCha8Rng;
use tandem_gpu::{Gpu, Recorder, Result, Tensor};
use tandem_kernels::Precision;
use tandem_kernels::batch_norm::{BatchNormConfig, BatchNormMode, BatchNormSaved};
use tandem_kernels::conv2d::{Conv2d, Conv2dShape, Layout};

use crate::batch_norm::BatchNorm1d;
use crate::init::conv_kaiming_fan_out;
use crate::param::{Param, ParamKind};

/// Geometry of a convolution without its batch size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Input channels.
    pub c_in: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output channels.
    pub c_out: usize,
    /// Square kernel size.
    pub k: usize,
    /// Stride.
    pub stride: usize,
    /// Padding.
    pub pad: usize,
    /// Input layout.
    pub input: Layout,
}

impl ConvGeometry {
    /// The full shape for `batch` images.
    pub fn shape(&self, batch: usize) -> Conv2dShape {
        Conv2dShape {
            batch,
            c_in: self.c_in,
            h: self.h,
            w: self.w,
            c_out: self.c_out,
            kh: self.k,
            kw: self.k,
            stride: self.stride,
            pad: self.pad,
            input: self.input,
        }
    }

    /// Output height.
    pub fn out_h(&self) -> usize {
        self.shape(1).out_h()
    }

    /// Output width.
    pub fn out_w(&self) -> usize {
        self.shape(1).out_w()
    }
}

/// Convolution → BatchNorm2d → optional ReLU.
pub struct ConvBn {
    /// Geometry.
    pub geometry: ConvGeometry,
    /// Weight `(c_out, c_in, k, k)`, torchvision's layout and init.
    pub weight: Param,
    /// The normalisation over channels.
    pub bn: BatchNorm1d,
    /// The normalisation's name (its running statistics are `{bn_name}.running_mean` and `_var`).
    pub bn_name: String,
    /// Whether a ReLU follows (fused into the BatchNorm kernels).
    pub relu: bool,
    /// How the weight and the input enter the convolution's products.
    pub precision: Precision,
}

/// Activations of one [`ConvBn`] for one batch size.
pub struct ConvBnBuffers {
    conv: Conv2d,
    conv_out: Tensor,
    out: Tensor,
    mean: Tensor,
    invstd: Tensor,
}

impl ConvBnBuffers {
    /// The unit's output: the BatchNorm's, after the ReLU when the unit has one (residual blocks add their
    /// shortcut into the output of a unit without).
    pub fn output(&self) -> &Tensor {
        &self.out
    }
}

impl ConvBn {
    /// A unit named `conv` / `bn` (torchvision's names of the two layers), with seeded init, whose
    /// convolution runs at `precision`.
    pub fn new(
        gpu: &Gpu,
        (conv_name, bn_name): (&str, &str),
        geometry: ConvGeometry,
        relu: bool,
        (bn, precision): (BatchNormConfig, Precision),
        rng: &mut ChaCha8Rng,
    ) -> Result<Self> {
        crate::precision::require(gpu, conv_name, precision)?;
        let g = geometry;
        let w = conv_kaiming_fan_out(rng, g.c_out, g.c_in, g.k, g.k);
        let weight =
            Param::new(gpu, format!("{conv_name}.weight"), ParamKind::Weight, &[g.c_out, g.c_in, g.k, g.k], &w)?;
        let bn = BatchNorm1d::new(gpu, bn_name, g.c_out, bn)?;
        Ok(Self { geometry, weight, bn, bn_name: bn_name.to_string(), relu, precision })
    }

    /// Output elements per image.
    pub fn out_len(&self) -> usize {
        self.geometry.out_h() * self.geometry.out_w() * self.geometry.c_out
    }

    /// Forward multiply-adds times two per image.
    pub fn flops_per_image(&self) -> f64 {
        self.geometry.shape(1).flops()
    }

    /// Buffers for `batch` images.
    pub fn activations(&self, gpu: &Gpu, batch: usize) -> Result<ConvBnBuffers> {
        let shape = self.geometry.shape(batch);
        let (p, c) = (shape.positions(), shape.c_out);
        Ok(ConvBnBuffers {
            conv: Conv2d { precision: self.precision, ..Conv2d::new(gpu, shape) },
            conv_out: gpu.empty(&[p, c])?,
            out: gpu.empty(&[p, c])?,
            mean: gpu.empty(&[c])?,
            invstd: gpu.empty(&[c])?,
        })
    }

    /// The BatchNorm's mode: batch statistics when `training`, with the ReLU fused when there is one.
    fn mode(&self, training: bool) -> BatchNormMode {
        BatchNormMode { training, relu: self.relu }
    }

    /// Records the forward pass of `x`.
    pub fn forward(&self, rec: &mut Recorder<'_>, training: bool, x: &Tensor, b: &ConvBnBuffers) -> Result<()> {
        b.conv.forward(rec, x, &self.weight.value, &b.conv_out)?;
        let saved = BatchNormSaved { mean: &b.mean, invstd: &b.invstd };
        self.bn.forward(rec, self.mode(training), &b.conv_out, &b.out, &saved)
    }

    /// Records the backward pass from `dy` (gradient of [`ConvBnBuffers::output`]) through `d_conv`, scratch
    /// for the convolution output's gradient: writes the weight and BatchNorm gradients (adds to them when
    /// `accumulate_grads`: a step's second view), and `dx` (written, or added to when its flag is set) when
    /// given.
    #[allow(clippy::too_many_arguments)]
    pub fn backward(
        &self,
        rec: &mut Recorder<'_>,
        training: bool,
        x: &Tensor,
        b: &ConvBnBuffers,
        dy: &Tensor,
        d_conv: &Tensor,
        dx: Option<(&Tensor, bool)>,
        accumulate_grads: bool,
    ) -> Result<()> {
        let saved = BatchNormSaved { mean: &b.mean, invstd: &b.invstd };
        self.bn.backward(rec, self.mode(training), (dy, &b.conv_out), &saved, d_conv, accumulate_grads)?;
        b.conv.backward_weight(rec, x, d_conv, &self.weight.grad, accumulate_grads)?;
        if let Some((dx, accumulate)) = dx {
            b.conv.backward_data(rec, d_conv, &self.weight.value, dx, accumulate)?;
        }
        Ok(())
    }

    /// The BatchNorm's running statistics with their names.
    pub fn buffers(&self) -> [(String, &Tensor); 2] {
        [
            (format!("{}.running_mean", self.bn_name), &self.bn.running_mean),
            (format!("{}.running_var", self.bn_name), &self.bn.running_var),
        ]
    }

    /// Parameters: the weight, then the BatchNorm's.
    pub fn params(&self) -> Vec<&Param> {
        let mut out = vec![&self.weight];
        out.extend(self.bn.params());
        out
    }

    /// The parameters, to move them ([`crate::ParamArena`]).
    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        let mut out = vec![&mut self.weight];
        out.extend(self.bn.params_mut());
        out
    }
}
