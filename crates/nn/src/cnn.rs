//! [`CnnEncoder`]: convolutional encoders for images: a small CNN for tiny images, and ResNet-18 with the
//! CIFAR stem (3×3 convolution, stride 1, no max pool) or the ImageNet stem (7×7 stride 2 and a 3×3
//! max pool), ending in global average pooling (512 features for ResNet-18).
//!
//! Parameters and running statistics carry torchvision's names (`conv1.weight`, `bn1.running_mean`,
//! `layer2.0.downsample.0.weight`, ...) so that a saved backbone loads into `torchvision.models.resnet18`
//! (everything but its classifier `fc`). Input images are NCHW rows as the augmentation writes them;
//! every activation after the first convolution is NHWC.

use tandem_gpu::{Gpu, Recorder, Result, Tensor};
use tandem_kernels::axpy::axpy;
use tandem_kernels::batch_norm::BatchNormConfig;
use tandem_kernels::conv2d::Layout;
use tandem_kernels::pool::{Pool2d, PoolKind};
use tandem_kernels::{Activation, Precision};

use crate::conv_bn::{ConvBn, ConvBnBuffers, ConvGeometry};
use crate::init::layer_rng;
use crate::param::Param;

/// The convolutional architectures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CnnArch {
    /// Three 3×3 ConvBn units (32, 64, 128 channels; strides 1, 2, 2) and global average pooling.
    Small,
    /// ResNet-18 with the CIFAR stem: conv 3×3 stride 1, no max pool.
    Resnet18Cifar,
    /// ResNet-18 with the ImageNet stem: conv 7×7 stride 2, max pool 3×3 stride 2.
    Resnet18,
}

impl CnnArch {
    /// Names accepted by `--encoder`.
    pub const NAMES: [&'static str; 3] = ["cnn-small", "resnet18-cifar", "resnet18"];

    /// Feature width: 128 for the small CNN, 512 for ResNet-18.
    pub fn d_out(self) -> usize {
        match self {
            Self::Small => 128,
            Self::Resnet18Cifar | Self::Resnet18 => 512,
        }
    }

    /// The architecture called `name`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "cnn-small" => Some(Self::Small),
            "resnet18-cifar" => Some(Self::Resnet18Cifar),
            "resnet18" => Some(Self::Resnet18),
            _ => None,
        }
    }
}

/// What a CNN encoder is built from.
#[derive(Clone, Debug, PartialEq)]
pub struct CnnConfig {
    /// Architecture.
    pub arch: CnnArch,
    /// Input channels, height and width.
    pub input: (usize, usize, usize),
    /// BatchNorm settings.
    pub bn: BatchNormConfig,
    /// Initialisation seed.
    pub seed: u64,
    /// How weights and activations enter the convolutions' products.
    pub precision: Precision,
}

/// torchvision's `BasicBlock`: ConvBn-ReLU, ConvBn, plus the shortcut (identity or 1×1 ConvBn), ReLU.
pub struct BasicBlock {
    /// First unit (with ReLU).
    pub conv1: ConvBn,
    /// Second unit (its ReLU follows the residual add).
    pub conv2: ConvBn,
    /// Projection shortcut where the shape changes.
    pub downsample: Option<ConvBn>,
}

/// A convolutional encoder on the device.
pub struct CnnEncoder {
    /// The configuration it was built from.
    pub config: CnnConfig,
    /// Units before the residual stages (ResNet: conv1/bn1/relu; the small CNN: all of it).
    pub stem: Vec<ConvBn>,
    /// The ImageNet stem's max pool: `(channels, height, width)` of its input.
    pub max_pool: Option<(usize, usize, usize)>,
    /// Residual blocks, `layer1.0` first.
    pub blocks: Vec<BasicBlock>,
}

struct BlockBuffers {
    conv1: ConvBnBuffers,
    conv2: ConvBnBuffers,
    downsample: Option<ConvBnBuffers>,
    out: Tensor,
}

/// Activations and gradient scratch of a [`CnnEncoder`] for one batch size.
pub struct CnnWorkspace {
    batch: usize,
    stem: Vec<ConvBnBuffers>,
    pool: Option<(Pool2d, Tensor)>,
    blocks: Vec<BlockBuffers>,
    gap: Pool2d,
    output: Tensor,
    /// Four gradient buffers of the largest activation; views of them carry every backward gradient.
    grads: [Tensor; 4],
    accumulate_grads: bool,
}

impl CnnWorkspace {
    /// The batch size it was allocated for.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Whether a backward pass through this workspace adds to the parameter gradients instead of writing
    /// them (the second view of a step: the two views' gradients are then summed in place).
    pub fn set_accumulate_grads(&mut self, on: bool) {
        self.accumulate_grads = on;
    }

    /// The encoder's features `(batch, d_out)` after a forward pass.
    pub fn output(&self) -> &Tensor {
        &self.output
    }

    /// A view of gradient buffer `i` with the shape of `t`.
    fn grad_like(&self, i: usize, t: &Tensor) -> Tensor {
        self.grads[i].prefix(t.shape())
    }
}

impl CnnEncoder {
    /// Builds the encoder with torchvision's initialisation (convolutions kaiming-normal fan-out,
    /// BatchNorm weight 1 and bias 0), seeded.
    pub fn new(gpu: &Gpu, config: CnnConfig) -> Result<Self> {
        let (c, h, w) = config.input;
        let bn = config.bn;
        let mut layer = 0u64;
        let mut unit = |names: (&str, &str), g: ConvGeometry, relu: bool| {
            layer += 1;
            ConvBn::new(gpu, names, g, relu, (bn, config.precision), &mut layer_rng(config.seed, layer))
        };
        let geometry =
            |c_in, (h, w), c_out, k, stride, input| ConvGeometry { c_in, h, w, c_out, k, stride, pad: k / 2, input };
        let mut stem = Vec::new();
        let mut max_pool = None;
        let mut blocks = Vec::new();
        match config.arch {
            CnnArch::Small => {
                let mut at = (c, (h, w), Layout::Nchw);
                for (i, (c_out, stride)) in [(32, 1), (64, 2), (128, 2)].into_iter().enumerate() {
                    let g = geometry(at.0, at.1, c_out, 3, stride, at.2);
                    stem.push(unit((&format!("conv{}", i + 1), &format!("bn{}", i + 1)), g, true)?);
                    at = (c_out, (g.out_h(), g.out_w()), Layout::Nhwc);
                }
            }
            CnnArch::Resnet18Cifar | CnnArch::Resnet18 => {
                let imagenet = config.arch == CnnArch::Resnet18;
                let (k, stride) = if imagenet { (7, 2) } else { (3, 1) };
                let g = geometry(c, (h, w), 64, k, stride, Layout::Nchw);
                stem.push(unit(("conv1", "bn1"), g, true)?);
                let mut size = (g.out_h(), g.out_w());
                if imagenet {
                    max_pool = Some((64, size.0, size.1));
                    let p = Pool2d {
                        kind: PoolKind::Max,
                        batch: 1,
                        c: 64,
                        h: size.0,
                        w: size.1,
                        kh: 3,
                        kw: 3,
                        stride: 2,
                        pad: 1,
                    };
                    size = (p.out_h(), p.out_w());
                }
                let mut c_in = 64;
                for (stage, c_out) in [64, 128, 256, 512].into_iter().enumerate() {
                    for j in 0..2 {
                        let stride = if stage > 0 && j == 0 { 2 } else { 1 };
                        let name = format!("layer{}.{j}", stage + 1);
                        let g1 = geometry(c_in, size, c_out, 3, stride, Layout::Nhwc);
                        let conv1 = unit((&format!("{name}.conv1"), &format!("{name}.bn1")), g1, true)?;
                        let out = (g1.out_h(), g1.out_w());
                        let g2 = geometry(c_out, out, c_out, 3, 1, Layout::Nhwc);
                        let conv2 = unit((&format!("{name}.conv2"), &format!("{name}.bn2")), g2, false)?;
                        let downsample = if stride != 1 || c_in != c_out {
                            let gd = ConvGeometry { pad: 0, ..geometry(c_in, size, c_out, 1, stride, Layout::Nhwc) };
                            Some(unit((&format!("{name}.downsample.0"), &format!("{name}.downsample.1")), gd, false)?)
                        } else {
                            None
                        };
                        blocks.push(BasicBlock { conv1, conv2, downsample });
                        (c_in, size) = (c_out, out);
                    }
                }
            }
        }
        Ok(Self { config, stem, max_pool, blocks })
    }

    /// Input width: `channels · height · width`.
    pub fn d_in(&self) -> usize {
        let (c, h, w) = self.config.input;
        c * h * w
    }

    /// Output width (feature channels).
    pub fn d_out(&self) -> usize {
        self.last_unit().geometry.c_out
    }

    fn last_unit(&self) -> &ConvBn {
        self.blocks.last().map(|b| &b.conv2).or(self.stem.last()).expect("a CNN has a unit")
    }

    /// Every unit in forward order (block units: conv1, conv2, downsample).
    fn units(&self) -> Vec<&ConvBn> {
        let mut out: Vec<&ConvBn> = self.stem.iter().collect();
        for b in &self.blocks {
            out.extend([&b.conv1, &b.conv2]);
            out.extend(&b.downsample);
        }
        out
    }

    /// Forward multiply-adds times two per image (convolutions only: they are all but a fraction of a
    /// percent).
    pub fn flops_per_image(&self) -> f64 {
        self.units().iter().map(|u| u.flops_per_image()).sum()
    }

    /// Every parameter in torchvision's order.
    pub fn params(&self) -> Vec<&Param> {
        self.units().into_iter().flat_map(|u| u.params()).collect()
    }

    /// [`CnnEncoder::params`], to move them ([`crate::ParamArena`]).
    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        let mut units: Vec<&mut ConvBn> = self.stem.iter_mut().collect();
        for b in &mut self.blocks {
            units.extend([&mut b.conv1, &mut b.conv2]);
            units.extend(&mut b.downsample);
        }
        units.into_iter().flat_map(|u| u.params_mut()).collect()
    }

    /// Every BatchNorm running statistic with its torchvision name.
    pub fn buffers(&self) -> Vec<(String, &Tensor)> {
        self.units().into_iter().flat_map(|u| u.buffers()).collect()
    }

    /// Allocates activations and gradient scratch for batches of `batch` images.
    pub fn workspace(&self, gpu: &Gpu, batch: usize) -> Result<CnnWorkspace> {
        let stem = self.stem.iter().map(|u| u.activations(gpu, batch)).collect::<Result<Vec<_>>>()?;
        let pool = self
            .max_pool
            .map(|(c, h, w)| {
                let p = Pool2d { kind: PoolKind::Max, batch, c, h, w, kh: 3, kw: 3, stride: 2, pad: 1 };
                Ok::<_, tandem_gpu::GpuError>((p, gpu.empty(&[p.output_len() / c, c])?))
            })
            .transpose()?;
        let mut blocks = Vec::new();
        for b in &self.blocks {
            blocks.push(BlockBuffers {
                conv1: b.conv1.activations(gpu, batch)?,
                conv2: b.conv2.activations(gpu, batch)?,
                downsample: b.downsample.as_ref().map(|d| d.activations(gpu, batch)).transpose()?,
                out: gpu.empty(&[batch * b.conv2.out_len() / b.conv2.geometry.c_out, b.conv2.geometry.c_out])?,
            });
        }
        let last = self.last_unit().geometry;
        let gap = Pool2d::global_avg(batch, last.c_out, last.out_h(), last.out_w());
        let largest = self.units().iter().map(|u| u.out_len()).max().unwrap_or(0).max(self.d_in()) * batch;
        let grads = [gpu.empty(&[largest])?, gpu.empty(&[largest])?, gpu.empty(&[largest])?, gpu.empty(&[largest])?];
        let output = gpu.empty(&[batch, last.c_out])?;
        Ok(CnnWorkspace { batch, stem, pool, blocks, gap, output, grads, accumulate_grads: false })
    }

    /// Records the forward pass of `x` `(batch, c·h·w)`, NCHW rows; the features are
    /// [`CnnWorkspace::output`].
    #[track_caller]
    pub fn forward(&self, rec: &mut Recorder<'_>, training: bool, x: &Tensor, ws: &CnnWorkspace) -> Result<()> {
        assert_eq!(x.len(), ws.batch * self.d_in(), "CNN input {x:?} for a workspace of batch {}", ws.batch);
        let mut input = x;
        for (u, b) in self.stem.iter().zip(&ws.stem) {
            u.forward(rec, training, input, b)?;
            input = b.output();
        }
        if let Some((p, out)) = &ws.pool {
            p.forward(rec, input, out)?;
            input = out;
        }
        for (blk, b) in self.blocks.iter().zip(&ws.blocks) {
            blk.conv1.forward(rec, training, input, &b.conv1)?;
            blk.conv2.forward(rec, training, b.conv1.output(), &b.conv2)?;
            let shortcut = match (&blk.downsample, &b.downsample) {
                (Some(d), Some(db)) => {
                    d.forward(rec, training, input, db)?;
                    db.output()
                }
                _ => input,
            };
            axpy(rec, 1.0, shortcut, b.conv2.output())?;
            Activation::Relu.forward(rec, b.conv2.output(), &b.out)?;
            input = &b.out;
        }
        ws.gap.forward(rec, input, &ws.output)
    }

    /// Records the backward pass from `dy` `(batch, d_out)`: writes every parameter gradient (adds to them
    /// when the workspace says so), and `dx` (NCHW, like the input) when given. `x` and `training` must be
    /// the forward's.
    #[track_caller]
    pub fn backward(
        &self,
        rec: &mut Recorder<'_>,
        training: bool,
        x: &Tensor,
        ws: &CnnWorkspace,
        dy: &Tensor,
        dx: Option<&Tensor>,
    ) -> Result<()> {
        assert_eq!(dy.len(), ws.batch * self.d_out(), "CNN output gradient {dy:?}");
        let acc = ws.accumulate_grads;
        // Buffer roles rotate through ws.grads: `cur` always holds the gradient of the current input.
        let stem_out = |i: usize| if i == 0 { x } else { ws.stem[i - 1].output() };
        let pooled_in = ws.stem.last().map(|b| b.output()).unwrap_or(x);
        let block_in = |i: usize| match i {
            0 => ws.pool.as_ref().map(|(_, t)| t).unwrap_or(pooled_in),
            _ => &ws.blocks[i - 1].out,
        };
        let last_in = if ws.blocks.is_empty() { block_in(0) } else { &ws.blocks[ws.blocks.len() - 1].out };
        let (mut cur, mut free) = (0usize, [1usize, 2, 3]);
        let mut g = ws.grad_like(cur, last_in);
        ws.gap.backward(rec, last_in, dy, &g)?;
        for i in (0..self.blocks.len()).rev() {
            let (blk, b) = (&self.blocks[i], &ws.blocks[i]);
            let input = block_in(i);
            let d_sum = ws.grad_like(free[0], &b.out);
            Activation::Relu.backward(rec, b.conv2.output(), &g, &d_sum)?;
            // The block input's gradient goes to `cur` (the output gradient is no longer needed): the
            // shortcut's part first, then conv1's added to it.
            let d_in = ws.grad_like(cur, input);
            match (&blk.downsample, &b.downsample) {
                (Some(d), Some(db)) => {
                    let s = ws.grad_like(free[1], db.output());
                    d.backward(rec, training, input, db, &d_sum, &s, Some((&d_in, false)), acc)?;
                }
                _ => rec.copy(&d_sum, &d_in),
            }
            let d_a1 = ws.grad_like(free[2], b.conv1.output());
            let s = ws.grad_like(free[1], b.conv2.output());
            blk.conv2.backward(rec, training, b.conv1.output(), &b.conv2, &d_sum, &s, Some((&d_a1, false)), acc)?;
            let d_conv1 = ws.grad_like(free[1], b.conv1.output());
            blk.conv1.backward(rec, training, input, &b.conv1, &d_a1, &d_conv1, Some((&d_in, true)), acc)?;
            g = d_in;
        }
        if let Some((p, _)) = &ws.pool {
            let dst = ws.grad_like(free[0], pooled_in);
            p.backward(rec, pooled_in, &g, &dst)?;
            std::mem::swap(&mut cur, &mut free[0]);
            g = dst;
        }
        for i in (0..self.stem.len()).rev() {
            let (u, b) = (&self.stem[i], &ws.stem[i]);
            let d_conv = ws.grad_like(free[1], b.output());
            let input = stem_out(i);
            let target = if i == 0 { dx.cloned() } else { Some(ws.grad_like(free[2], input)) };
            u.backward(rec, training, input, b, &g, &d_conv, target.as_ref().map(|t| (t, false)), acc)?;
            if i > 0 {
                std::mem::swap(&mut cur, &mut free[2]);
                g = target.expect("set for i > 0");
            }
        }
        Ok(())
    }
}
