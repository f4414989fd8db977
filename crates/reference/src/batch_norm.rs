//! BatchNorm1d over `(n, d)`: per-column statistics, training and eval modes, and the backward.

/// BatchNorm hyper-parameters.
#[derive(Clone, Copy, Debug)]
pub struct BatchNormConfig {
    /// Added to the variance inside the square root.
    pub eps: f64,
    /// Weight of the new batch statistic in the running averages.
    pub momentum: f64,
    /// Whether gamma and beta are applied.
    pub affine: bool,
}

/// What forward saves for backward: the mean and inverse standard deviation used, per column.
#[derive(Clone, Debug)]
pub struct BatchNormSaved {
    /// Per-column mean.
    pub mean: Vec<f64>,
    /// Per-column `1 / sqrt(var + eps)`.
    pub invstd: Vec<f64>,
}

/// Forward. Training: batch statistics (biased variance), and running statistics updated with momentum
/// and the unbiased variance (biased when n = 1), as PyTorch. Eval: running statistics.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_forward(
    cfg: BatchNormConfig,
    training: bool,
    x: &[f64],
    (n, d): (usize, usize),
    gamma: &[f64],
    beta: &[f64],
    running_mean: &mut [f64],
    running_var: &mut [f64],
) -> (Vec<f64>, BatchNormSaved) {
    let mut mean = vec![0.0; d];
    let mut invstd = vec![0.0; d];
    for j in 0..d {
        if training {
            let mu = (0..n).map(|i| x[i * d + j]).sum::<f64>() / n as f64;
            let ss: f64 = (0..n).map(|i| (x[i * d + j] - mu).powi(2)).sum();
            let var = ss / n as f64;
            mean[j] = mu;
            invstd[j] = 1.0 / (var + cfg.eps).sqrt();
            let unbiased = if n > 1 { ss / (n - 1) as f64 } else { var };
            running_mean[j] = (1.0 - cfg.momentum) * running_mean[j] + cfg.momentum * mu;
            running_var[j] = (1.0 - cfg.momentum) * running_var[j] + cfg.momentum * unbiased;
        } else {
            mean[j] = running_mean[j];
            invstd[j] = 1.0 / (running_var[j] + cfg.eps).sqrt();
        }
    }
    let mut y = vec![0.0; n * d];
    for i in 0..n {
        for j in 0..d {
            let xhat = (x[i * d + j] - mean[j]) * invstd[j];
            y[i * d + j] = if cfg.affine { gamma[j] * xhat + beta[j] } else { xhat };
        }
    }
    (y, BatchNormSaved { mean, invstd })
}

/// Backward: `(dx, dgamma, dbeta)`; the parameter gradients are empty when not affine.
pub fn batch_norm_backward(
    cfg: BatchNormConfig,
    training: bool,
    dy: &[f64],
    x: &[f64],
    (n, d): (usize, usize),
    saved: &BatchNormSaved,
    gamma: &[f64],
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut dx = vec![0.0; n * d];
    let mut dgamma = vec![0.0; d];
    let mut dbeta = vec![0.0; d];
    for j in 0..d {
        let g = if cfg.affine { gamma[j] } else { 1.0 };
        let (mu, inv) = (saved.mean[j], saved.invstd[j]);
        let xhat = |i: usize| (x[i * d + j] - mu) * inv;
        let sum_dy: f64 = (0..n).map(|i| dy[i * d + j]).sum();
        let sum_dy_xhat: f64 = (0..n).map(|i| dy[i * d + j] * xhat(i)).sum();
        dgamma[j] = sum_dy_xhat;
        dbeta[j] = sum_dy;
        for i in 0..n {
            let idx = i * d + j;
            dx[idx] = if training {
                g * inv / n as f64 * (n as f64 * dy[idx] - sum_dy - xhat(i) * sum_dy_xhat)
            } else {
                g * dy[idx] * inv
            };
        }
    }
    if !cfg.affine {
        dgamma.clear();
        dbeta.clear();
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
        let (n, d) = (6, 4);
        let x = random(1, n * d);
        let dy = random(2, n * d);
        let gamma = random(3, d);
        let beta = random(4, d);
        let rm = random(5, d);
        let rv: Vec<f64> = random(6, d).iter().map(|v| v.abs() + 0.5).collect();
        for affine in [true, false] {
            for training in [true, false] {
                let cfg = BatchNormConfig { eps: 1e-5, momentum: 0.1, affine };
                let fwd = |x: &[f64], g: &[f64], b: &[f64]| {
                    let (mut m, mut v) = (rm.clone(), rv.clone());
                    batch_norm_forward(cfg, training, x, (n, d), g, b, &mut m, &mut v)
                };
                let (_, saved) = fwd(&x, &gamma, &beta);
                let (dx, dg, db) = batch_norm_backward(cfg, training, &dy, &x, (n, d), &saved, &gamma);
                let what = format!("batch_norm affine={affine} training={training}");
                let f = |x: &[f64]| dot(&fwd(x, &gamma, &beta).0, &dy);
                assert_gradient(&format!("{what} dx"), &f, &x, &dx, &random_directions(7, n * d, 3), 1e-5);
                if affine {
                    let f = |g: &[f64]| dot(&fwd(&x, g, &beta).0, &dy);
                    assert_gradient(&format!("{what} dgamma"), &f, &gamma, &dg, &random_directions(8, d, 3), 1e-5);
                    let f = |b: &[f64]| dot(&fwd(&x, &gamma, b).0, &dy);
                    assert_gradient(&format!("{what} dbeta"), &f, &beta, &db, &random_directions(9, d, 3), 1e-5);
                }
            }
        }
    }
}
