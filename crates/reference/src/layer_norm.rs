//! LayerNorm over the last dimension of `(n, d)`, and its backward.

/// What forward saves: the per-row mean and inverse standard deviation.
#[derive(Clone, Debug)]
pub struct LayerNormSaved {
    /// Per-row mean.
    pub mean: Vec<f64>,
    /// Per-row `1 / sqrt(var + eps)` (biased variance).
    pub invstd: Vec<f64>,
}

/// Forward: `y = gamma * (x - mean) / sqrt(var + eps) + beta` per row (no gamma/beta when `!affine`).
pub fn layer_norm_forward(
    x: &[f64],
    (n, d): (usize, usize),
    eps: f64,
    affine: bool,
    gamma: &[f64],
    beta: &[f64],
) -> (Vec<f64>, LayerNormSaved) {
    let mut y = vec![0.0; n * d];
    let mut saved = LayerNormSaved { mean: vec![0.0; n], invstd: vec![0.0; n] };
    for i in 0..n {
        let row = &x[i * d..(i + 1) * d];
        let mu = row.iter().sum::<f64>() / d as f64;
        let var = row.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / d as f64;
        let inv = 1.0 / (var + eps).sqrt();
        for j in 0..d {
            let xhat = (row[j] - mu) * inv;
            y[i * d + j] = if affine { gamma[j] * xhat + beta[j] } else { xhat };
        }
        saved.mean[i] = mu;
        saved.invstd[i] = inv;
    }
    (y, saved)
}

/// Backward: `(dx, dgamma, dbeta)`.
pub fn layer_norm_backward(
    dy: &[f64],
    x: &[f64],
    (n, d): (usize, usize),
    saved: &LayerNormSaved,
    affine: bool,
    gamma: &[f64],
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut dx = vec![0.0; n * d];
    let mut dgamma = vec![0.0; d];
    let mut dbeta = vec![0.0; d];
    for i in 0..n {
        let (mu, inv) = (saved.mean[i], saved.invstd[i]);
        let xhat: Vec<f64> = (0..d).map(|j| (x[i * d + j] - mu) * inv).collect();
        let g: Vec<f64> = (0..d).map(|j| dy[i * d + j] * if affine { gamma[j] } else { 1.0 }).collect();
        let sum_g: f64 = g.iter().sum();
        let sum_g_xhat: f64 = g.iter().zip(&xhat).map(|(a, b)| a * b).sum();
        for j in 0..d {
            dx[i * d + j] = inv / d as f64 * (d as f64 * g[j] - sum_g - xhat[j] * sum_g_xhat);
            dgamma[j] += dy[i * d + j] * xhat[j];
            dbeta[j] += dy[i * d + j];
        }
    }
    (dx, dgamma, dbeta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradient, dot};
    use crate::tests::{random, random_directions};

    #[test]
    fn backward_matches_finite_differences() {
        let (n, d) = (4, 7);
        let x = random(1, n * d);
        let dy = random(2, n * d);
        let gamma = random(3, d);
        let beta = random(4, d);
        for affine in [true, false] {
            let fwd = |x: &[f64], g: &[f64], b: &[f64]| layer_norm_forward(x, (n, d), 1e-5, affine, g, b);
            let (_, saved) = fwd(&x, &gamma, &beta);
            let (dx, dg, db) = layer_norm_backward(&dy, &x, (n, d), &saved, affine, &gamma);
            let f = |x: &[f64]| dot(&fwd(x, &gamma, &beta).0, &dy);
            assert_gradient("layer_norm dx", &f, &x, &dx, &random_directions(5, n * d, 3), 1e-5);
            if affine {
                let f = |g: &[f64]| dot(&fwd(&x, g, &beta).0, &dy);
                assert_gradient("layer_norm dgamma", &f, &gamma, &dg, &random_directions(6, d, 3), 1e-5);
                let f = |b: &[f64]| dot(&fwd(&x, &gamma, b).0, &dy);
                assert_gradient("layer_norm dbeta", &f, &beta, &db, &random_directions(7, d, 3), 1e-5);
            }
        }
    }
}
