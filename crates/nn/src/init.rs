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
