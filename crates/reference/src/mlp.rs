//! Reference MLP encoder: blocks of Linear → (BatchNorm1d) → (ReLU), forward and backward in f64,
//! composed from the other reference modules.

use crate::batch_norm::{BatchNormConfig, BatchNormSaved, batch_norm_backward, batch_norm_forward};
use crate::gemm::matmul;

/// One block's parameters. `weight` is (out, in) row-major, as `torch.nn.Linear`.
#[derive(Clone, Debug)]
pub struct BlockParams {
    /// Input width.
    pub d_in: usize,
    /// Output width.
    pub d_out: usize,
    /// (out, in).
    pub weight: Vec<f64>,
    /// (out).
    pub bias: Vec<f64>,
    /// BatchNorm scale and shift, if the block has an affine BatchNorm.
    pub bn: Option<(Vec<f64>, Vec<f64>)>,
    /// BatchNorm running mean and variance, if the block has a BatchNorm (affine or not).
    pub running: Option<(Vec<f64>, Vec<f64>)>,
    /// Whether a ReLU follows.
    pub relu: bool,
}

/// What forward keeps per block for backward.
pub struct BlockCache {
    input: Vec<f64>,
    linear_out: Vec<f64>,
    bn: Option<BatchNormSaved>,
    pre_activation: Vec<f64>,
}

/// Gradients of one block: weight, bias, and BatchNorm (gamma, beta).
#[derive(Clone, Debug)]
pub struct BlockGrads {
    /// (out, in).
    pub weight: Vec<f64>,
    /// (out).
    pub bias: Vec<f64>,
    /// (dgamma, dbeta).
    pub bn: Option<(Vec<f64>, Vec<f64>)>,
}

/// Forward through all blocks for a batch `x` of `n` rows. Updates running statistics in training.
pub fn mlp_forward(
    blocks: &mut [BlockParams],
    x: &[f64],
    n: usize,
    training: bool,
    cfg: BatchNormConfig,
) -> (Vec<f64>, Vec<BlockCache>) {
    mlp_forward_rounded(blocks, x, n, training, cfg, |v| v)
}

/// [`mlp_forward`] with every Linear's input and weight passed through `round` as they enter its product
/// (mixed precision: rounding to f16). Pair it with [`mlp_backward_rounded`].
pub fn mlp_forward_rounded(
    blocks: &mut [BlockParams],
    x: &[f64],
    n: usize,
    training: bool,
    cfg: BatchNormConfig,
    round: impl Fn(f64) -> f64,
) -> (Vec<f64>, Vec<BlockCache>) {
    let rounded = |v: &[f64]| v.iter().map(|&e| round(e)).collect::<Vec<_>>();
    let mut h = x.to_vec();
    let mut caches = Vec::new();
    for b in blocks.iter_mut() {
        let h_in = rounded(&h);
        let mut z = matmul(&h_in, &rounded(&b.weight), (n, b.d_out, b.d_in), false, true);
        crate::bias::bias_add_forward(&b.bias, &mut z, b.d_out);
        let (pre, saved) = match &mut b.running {
            Some((rm, rv)) => {
                let (ones, zeros) = (vec![1.0; b.d_out], vec![0.0; b.d_out]);
                let (gamma, beta) = b.bn.as_ref().map_or((&ones, &zeros), |(g, be)| (g, be));
                let (y, s) = batch_norm_forward(cfg, training, &z, (n, b.d_out), gamma, beta, rm, rv);
                (y, Some(s))
            }
            None => (z.clone(), None),
        };
        let out = if b.relu { crate::activation::relu_forward(&pre) } else { pre.clone() };
        caches.push(BlockCache { input: h_in, linear_out: z, bn: saved, pre_activation: pre });
        h = out;
    }
    (h, caches)
}

/// Backward from `dy`, the gradient of the output: per-block gradients and the gradient of the input.
pub fn mlp_backward(
    blocks: &[BlockParams],
    caches: &[BlockCache],
    dy: &[f64],
    n: usize,
    training: bool,
    cfg: BatchNormConfig,
) -> (Vec<BlockGrads>, Vec<f64>) {
    mlp_backward_rounded(blocks, caches, dy, n, training, cfg, |v| v)
}

/// [`mlp_backward`] after [`mlp_forward_rounded`]: the weight gradient uses the rounded input the forward
/// kept, the input gradient the rounded weight (the upstream gradients themselves are not rounded).
pub fn mlp_backward_rounded(
    blocks: &[BlockParams],
    caches: &[BlockCache],
    dy: &[f64],
    n: usize,
    training: bool,
    cfg: BatchNormConfig,
    round: impl Fn(f64) -> f64,
) -> (Vec<BlockGrads>, Vec<f64>) {
    let mut grads = Vec::new();
    let mut d = dy.to_vec();
    for (b, c) in blocks.iter().zip(caches).rev() {
        let dpre = if b.relu { crate::activation::relu_backward(&c.pre_activation, &d) } else { d.clone() };
        let (dz, dbn) = match &c.bn {
            Some(saved) => {
                let ones = vec![1.0; b.d_out];
                let gamma = b.bn.as_ref().map_or(&ones, |(g, _)| g);
                let (dx, dg, db) = batch_norm_backward(cfg, training, &dpre, &c.linear_out, (n, b.d_out), saved, gamma);
                (dx, b.bn.is_some().then_some((dg, db)))
            }
            None => (dpre, None),
        };
        let weight = matmul(&dz, &c.input, (b.d_out, b.d_in, n), true, false);
        let bias = crate::bias::bias_add_backward(&dz, b.d_out);
        let weight_in: Vec<f64> = b.weight.iter().map(|&w| round(w)).collect();
        d = matmul(&dz, &weight_in, (n, b.d_in, b.d_out), false, false);
        grads.push(BlockGrads { weight, bias, bn: dbn });
    }
    grads.reverse();
    (grads, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{directional, dot};
    use crate::tests::random;

    fn blocks(seed: u64) -> Vec<BlockParams> {
        let dims = [(5, 7, true, true), (7, 4, true, true), (4, 3, false, false)];
        dims.iter()
            .enumerate()
            .map(|(i, &(d_in, d_out, bn, relu))| BlockParams {
                d_in,
                d_out,
                weight: random(seed + 10 * i as u64, d_out * d_in),
                bias: random(seed + 10 * i as u64 + 1, d_out),
                bn: bn.then(|| (random(seed + 10 * i as u64 + 2, d_out), random(seed + 10 * i as u64 + 3, d_out))),
                running: bn.then(|| (vec![0.0; d_out], vec![1.0; d_out])),
                relu,
            })
            .collect()
    }

    #[test]
    fn backward_matches_finite_differences() {
        let n = 6;
        let cfg = BatchNormConfig { eps: 1e-5, momentum: 0.1, affine: true };
        let base = blocks(1);
        let x = random(100, n * 5);
        let dy = random(101, n * 3);
        let loss = |bl: &[BlockParams]| dot(&mlp_forward(&mut bl.to_vec(), &x, n, true, cfg).0, &dy);
        let (_, caches) = mlp_forward(&mut base.clone(), &x, n, true, cfg);
        let (grads, _) = mlp_backward(&base, &caches, &dy, n, true, cfg);
        // One random direction over every parameter of every block.
        let dir = blocks(50);
        let analytic: f64 = grads
            .iter()
            .zip(&dir)
            .map(|(g, v)| {
                dot(&g.weight, &v.weight)
                    + dot(&g.bias, &v.bias)
                    + g.bn.as_ref().map_or(0.0, |(dg, db)| {
                        let (vg, vb) = v.bn.as_ref().unwrap();
                        dot(dg, vg) + dot(db, vb)
                    })
            })
            .sum();
        let f = |t: &[f64]| {
            let moved: Vec<BlockParams> = base
                .iter()
                .zip(&dir)
                .map(|(b, v)| {
                    let mut m = b.clone();
                    m.weight.iter_mut().zip(&v.weight).for_each(|(a, d)| *a += t[0] * d);
                    m.bias.iter_mut().zip(&v.bias).for_each(|(a, d)| *a += t[0] * d);
                    if let (Some((g, be)), Some((vg, vb))) = (&mut m.bn, &v.bn) {
                        g.iter_mut().zip(vg).for_each(|(a, d)| *a += t[0] * d);
                        be.iter_mut().zip(vb).for_each(|(a, d)| *a += t[0] * d);
                    }
                    m
                })
                .collect();
            loss(&moved)
        };
        let numeric = directional(&f, &[0.0], &[1.0], 1e-6);
        assert!((analytic - numeric).abs() <= 1e-5 * numeric.abs().max(1e-8), "{analytic} vs {numeric}");
    }
}
