#![warn(missing_docs)]
//! Plain-Rust f64 twins of tandem's kernels, with the same names and argument order as the device
//! wrappers in `tandem-kernels`. Written for clarity, not speed; no wgpu. Matrices are row-major slices;
//! `(n, d)` is rows and columns. Every backward here is checked against finite differences of its forward
//! (the unit tests of each module, through [`gradcheck`]).

pub mod activation;
pub mod augment;
pub mod axpy;
pub mod batch_norm;
pub mod bias;
pub mod cnn;
pub mod conv2d;
pub mod energy;
pub mod gemm;
pub mod gradcheck;
pub mod l2_normalize;
pub mod layer_norm;
pub mod mlp;
pub mod optim;
pub mod pool;
pub mod probe;
pub mod reduce;
pub mod trainer;

#[cfg(test)]
pub(crate) mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// `n` seeded values in [-1, 1).
    pub fn random(seed: u64, n: usize) -> Vec<f64> {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        (0..n).map(|_| r.random_range(-1.0..1.0)).collect()
    }

    /// `count` seeded random directions of length `n`.
    pub fn random_directions(seed: u64, n: usize, count: usize) -> Vec<Vec<f64>> {
        (0..count).map(|i| random(seed * 1000 + i as u64, n)).collect()
    }

    /// Moves values closer than `margin` to zero away from it (for functions with a kink at 0).
    pub fn away_from_zero(mut v: Vec<f64>, margin: f64) -> Vec<f64> {
        for x in &mut v {
            if x.abs() < margin {
                *x = if *x < 0.0 { -margin * 10.0 } else { margin * 10.0 };
            }
        }
        v
    }
}
