//! Deterministic, seeded parameter initialisation matching PyTorch's defaults.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A generator for one layer, derived from the model seed and the layer's index so that layers do not
/// share streams and adding a layer does not change the others.
pub fn layer_rng(seed: u64, layer: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(layer + 1);
    r
}

/// `torch.nn.Linear`'s default: weight and bias uniform in `[-1/sqrt(fan_in), 1/sqrt(fan_in)]`
/// (kaiming_uniform with a = sqrt 5 gives the same bound for the weight). Returns `(weight (out, in), bias)`.
pub fn linear_default(rng: &mut ChaCha8Rng, d_in: usize, d_out: usize) -> (Vec<f32>, Vec<f32>) {
    let bound = 1.0 / (d_in.max(1) as f32).sqrt();
    let mut u = |n: usize| (0..n).map(|_| rng.random_range(-bound..bound)).collect::<Vec<f32>>();
    let w = u(d_out * d_in);
    let b = u(d_out);
    (w, b)
}

/// torchvision's ResNet convolution init: `kaiming_normal_(mode="fan_out", nonlinearity="relu")`, normal
/// with standard deviation `sqrt(2 / (c_out · kh · kw))`, for a `(c_out, c_in, kh, kw)` weight.
pub fn conv_kaiming_fan_out(rng: &mut ChaCha8Rng, c_out: usize, c_in: usize, kh: usize, kw: usize) -> Vec<f32> {
    let std = (2.0 / (c_out * kh * kw) as f64).sqrt();
    (0..c_out * c_in * kh * kw)
        .map(|_| {
            // Box-Muller: one standard normal from two uniforms in (0, 1].
            let u1: f64 = 1.0 - rng.random::<f64>();
            let u2: f64 = rng.random();
            (std * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
        })
        .collect()
}
