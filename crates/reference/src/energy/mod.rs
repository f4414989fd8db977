//! Reference joint-embedding energies: value, named terms, and the gradients with respect to both
//! embedding matrices `a` and `b` (n×d, row i of each is one view of sample i), in f64.

mod barlow_twins;
mod info_nce;
mod l2;
mod neg_cosine;
mod vicreg;

pub use barlow_twins::barlow_twins;
pub use info_nce::info_nce;
pub use l2::l2;
pub use neg_cosine::neg_cosine;
pub use vicreg::{VicregCoeffs, vicreg};

/// An energy's value, its named terms, and its gradients.
#[derive(Clone, Debug)]
pub struct Energy {
    /// The value.
    pub value: f64,
    /// Named terms (empty where the objective has none).
    pub terms: Vec<(&'static str, f64)>,
    /// ∂value/∂a (n×d).
    pub grad_a: Vec<f64>,
    /// ∂value/∂b (n×d).
    pub grad_b: Vec<f64>,
}

/// Per-column mean of x (n×d).
pub(crate) fn col_mean(x: &[f64], n: usize, d: usize) -> Vec<f64> {
    (0..d).map(|j| (0..n).map(|i| x[i * d + j]).sum::<f64>() / n as f64).collect()
}

/// x with each column's mean subtracted.
pub(crate) fn centred(x: &[f64], n: usize, d: usize) -> Vec<f64> {
    let m = col_mean(x, n, d);
    (0..n * d).map(|t| x[t] - m[t % d]).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::Energy;
    use crate::gradcheck::{directional, dot};
    use crate::tests::random;

    /// Checks both gradients of `f` at (a, b) against central differences along random directions.
    pub fn check_gradients(name: &str, f: &dyn Fn(&[f64], &[f64]) -> Energy, n: usize, d: usize, seed: u64) {
        let a = random(seed, n * d);
        let b = random(seed + 1, n * d);
        let e = f(&a, &b);
        for k in 0..3 {
            let va = random(seed + 10 + k, n * d);
            let vb = random(seed + 20 + k, n * d);
            let analytic = dot(&e.grad_a, &va) + dot(&e.grad_b, &vb);
            let g = |t: &[f64]| {
                let a2: Vec<f64> = a.iter().zip(&va).map(|(x, v)| x + t[0] * v).collect();
                let b2: Vec<f64> = b.iter().zip(&vb).map(|(x, v)| x + t[0] * v).collect();
                f(&a2, &b2).value
            };
            let numeric = directional(&g, &[0.0], &[1.0], 1e-6);
            let scale = analytic.abs().max(numeric.abs()).max(1e-6);
            assert!((analytic - numeric).abs() <= 1e-5 * scale, "{name} n={n} d={d}: {analytic} vs {numeric}");
        }
    }
}
