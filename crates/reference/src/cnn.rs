//! Reference convolutional encoder, composed from the reference layers: ConvBn units (convolution,
//! BatchNorm2d over NHWC rows, optional ReLU), an optional max pool, ResNet basic blocks (identity or
//! ConvBn shortcut, residual add, ReLU) and global average pooling. Mirrors `tandem_nn::cnn`.

use crate::activation::{relu_backward, relu_forward};
use crate::batch_norm::{BatchNormConfig, BatchNormSaved, batch_norm_backward, batch_norm_forward};
use crate::conv2d::{Conv2dShape, conv2d_backward_data, conv2d_backward_weight, conv2d_forward};
use crate::pool::{Pool2d, pool_backward, pool_forward};

/// One ConvBn unit: its shape, parameters and whether a ReLU follows.
#[derive(Clone, Debug)]
pub struct Unit {
    /// Convolution shape (batch included).
    pub shape: Conv2dShape,
    /// Weight `(c_out, c_in, kh, kw)`.
    pub weight: Vec<f64>,
    /// BatchNorm scale.
    pub gamma: Vec<f64>,
    /// BatchNorm shift.
    pub beta: Vec<f64>,
    /// ReLU after the BatchNorm.
    pub relu: bool,
}

/// A basic block: conv1 (ReLU), conv2, optional projection shortcut, add, ReLU.
#[derive(Clone, Debug)]
pub struct Block {
    /// First unit.
    pub conv1: Unit,
    /// Second unit.
    pub conv2: Unit,
    /// Projection shortcut.
    pub downsample: Option<Unit>,
}

/// The whole encoder.
#[derive(Clone, Debug)]
pub struct Cnn {
    /// Units before the blocks.
    pub stem: Vec<Unit>,
    /// Max pool (3×3, stride 2, pad 1) after the stem.
    pub max_pool: Option<Pool2d>,
    /// Residual blocks.
    pub blocks: Vec<Block>,
    /// Global average pool.
    pub gap: Pool2d,
}

impl Cnn {
    /// Every unit in parameter order: the stem, then per block conv1, conv2 and the downsample.
    pub fn units(&self) -> Vec<&Unit> {
        let mut out: Vec<&Unit> = self.stem.iter().collect();
        for b in &self.blocks {
            out.extend([&b.conv1, &b.conv2]);
            out.extend(&b.downsample);
        }
        out
    }

    /// [`Cnn::units`], mutable.
    pub fn units_mut(&mut self) -> Vec<&mut Unit> {
        let mut out: Vec<&mut Unit> = self.stem.iter_mut().collect();
        for b in &mut self.blocks {
            out.extend([&mut b.conv1, &mut b.conv2]);
            out.extend(&mut b.downsample);
        }
        out
    }
}

/// Gradients of one unit: weight, gamma, beta.
pub type UnitGrads = (Vec<f64>, Vec<f64>, Vec<f64>);

struct UnitCache {
    x: Vec<f64>,
    conv: Vec<f64>,
    bn: Vec<f64>,
    saved: BatchNormSaved,
}

const BN: BatchNormConfig = BatchNormConfig { eps: 1e-5, momentum: 0.1, affine: true };

impl Unit {
    fn rows(&self) -> (usize, usize) {
        (self.shape.batch * self.shape.out_h() * self.shape.out_w(), self.shape.c_out)
    }

    /// Output, and what backward needs; `pre` is the BatchNorm output (before ReLU).
    fn forward(&self, x: &[f64]) -> (Vec<f64>, UnitCache) {
        let conv = conv2d_forward(&self.shape, x, &self.weight);
        let d = self.shape.c_out;
        let (mut rm, mut rv) = (vec![0.0; d], vec![1.0; d]);
        let (bn, saved) = batch_norm_forward(BN, true, &conv, self.rows(), &self.gamma, &self.beta, &mut rm, &mut rv);
        let out = if self.relu { relu_forward(&bn) } else { bn.clone() };
        (out, UnitCache { x: x.to_vec(), conv, bn, saved })
    }

    /// `(grads, dx)` from the gradient of the output (after ReLU when there is one), with `pre` the
    /// values the ReLU saw.
    fn backward(&self, c: &UnitCache, dy: &[f64], pre: &[f64]) -> (UnitGrads, Vec<f64>) {
        let d_bn = if self.relu { relu_backward(pre, dy) } else { dy.to_vec() };
        let (d_conv, dg, db) = batch_norm_backward(BN, true, &d_bn, &c.conv, self.rows(), &c.saved, &self.gamma);
        let dw = conv2d_backward_weight(&self.shape, &c.x, &d_conv);
        let dx = conv2d_backward_data(&self.shape, &d_conv, &self.weight);
        ((dw, dg, db), dx)
    }
}

/// Forward (training-mode BatchNorm) and backward of the encoder from `dy` (batch, features): the
/// features, then every unit's gradients in unit order (stem, then per block conv1, conv2, downsample),
/// then the input gradient.
pub fn cnn_forward_backward(net: &Cnn, x: &[f64], dy: &[f64]) -> (Vec<f64>, Vec<UnitGrads>, Vec<f64>) {
    let mut h = x.to_vec();
    let mut stem_caches = Vec::new();
    for u in &net.stem {
        let (out, c) = u.forward(&h);
        stem_caches.push(c);
        h = out;
    }
    let pool_in = h.clone();
    if let Some(p) = &net.max_pool {
        h = pool_forward(p, &h);
    }
    let mut block_caches = Vec::new();
    for b in &net.blocks {
        let (a1, c1) = b.conv1.forward(&h);
        let (mut sum, c2) = b.conv2.forward(&a1);
        let cd = b.downsample.as_ref().map(|d| d.forward(&h));
        let shortcut = cd.as_ref().map(|(o, _)| o.clone()).unwrap_or_else(|| h.clone());
        sum.iter_mut().zip(&shortcut).for_each(|(s, v)| *s += v);
        let out = relu_forward(&sum);
        block_caches.push((c1, c2, cd.map(|(_, c)| c), sum));
        h = out;
    }
    let last = h.clone();
    let features = pool_forward(&net.gap, &h);
    // Backward.
    let mut g = pool_backward(&net.gap, &last, dy);
    let mut block_grads = Vec::new();
    for (b, (c1, c2, cd, sum)) in net.blocks.iter().zip(&block_caches).rev() {
        let d_sum = relu_backward(sum, &g);
        let (g2, d_a1) = b.conv2.backward(c2, &d_sum, &c2.bn);
        let (g1, mut d_in) = b.conv1.backward(c1, &d_a1, &c1.bn);
        let gd = match (&b.downsample, cd) {
            (Some(d), Some(c)) => {
                let (gd, dx) = d.backward(c, &d_sum, &c.bn);
                d_in.iter_mut().zip(&dx).for_each(|(a, v)| *a += v);
                Some(gd)
            }
            _ => {
                d_in.iter_mut().zip(&d_sum).for_each(|(a, v)| *a += v);
                None
            }
        };
        block_grads.push((g1, g2, gd));
        g = d_in;
    }
    if let Some(p) = &net.max_pool {
        g = pool_backward(p, &pool_in, &g);
    }
    let mut stem_grads = Vec::new();
    for (u, c) in net.stem.iter().zip(&stem_caches).rev() {
        let (gr, dx) = u.backward(c, &g, &c.bn);
        stem_grads.push(gr);
        g = dx;
    }
    stem_grads.reverse();
    let mut grads = stem_grads;
    for (g1, g2, gd) in block_grads.into_iter().rev() {
        grads.extend([g1, g2]);
        grads.extend(gd);
    }
    (features, grads, g)
}
