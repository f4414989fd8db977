//! Optimizer steps in f64, the twins of `shaders/optim/*.wgsl` (PyTorch's formulas; see each function).

/// Hyper-parameters of one step that change with the step: learning rate, Adam's bias corrections
/// (`1 - beta^t`), EMA momentum.
#[derive(Clone, Copy, Debug)]
pub struct Sched {
    /// Learning rate.
    pub lr: f64,
    /// 1 - beta1^t.
    pub bc1: f64,
    /// 1 - beta2^t.
    pub bc2: f64,
    /// EMA momentum.
    pub tau: f64,
}

/// PyTorch's `clip_grad_norm_` factor over all gradients: min(1, max_norm / (norm + 1e-6)); 1 when
/// `max_norm` is 0.
pub fn clip_factor(grads: &[&[f64]], max_norm: f64) -> f64 {
    if max_norm <= 0.0 {
        return 1.0;
    }
    let total: f64 = grads.iter().flat_map(|g| g.iter()).map(|v| v * v).sum();
    (max_norm / (total.sqrt() + 1e-6)).min(1.0)
}

/// SGD with momentum (dampening 0): g = c grad + wd w (wd only when `decay`); m = momentum m + g;
/// w -= lr (nesterov ? g + momentum m : m).
#[allow(clippy::too_many_arguments)]
pub fn sgd(
    w: &mut [f64],
    grad: &[f64],
    m: &mut [f64],
    c: f64,
    s: Sched,
    momentum: f64,
    nesterov: bool,
    wd: f64,
    decay: bool,
) {
    for i in 0..w.len() {
        let g = c * grad[i] + if decay { wd * w[i] } else { 0.0 };
        m[i] = momentum * m[i] + g;
        w[i] -= s.lr * if nesterov { g + momentum * m[i] } else { m[i] };
    }
}

/// AdamW: w *= 1 - lr wd (when `decay`); m, v moments of g = c grad; w -= lr (m / bc1) / (sqrt(v / bc2)
/// + eps).
#[allow(clippy::too_many_arguments)]
pub fn adamw(
    w: &mut [f64],
    grad: &[f64],
    m: &mut [f64],
    v: &mut [f64],
    c: f64,
    s: Sched,
    (beta1, beta2, eps): (f64, f64, f64),
    wd: f64,
    decay: bool,
) {
    for i in 0..w.len() {
        let g = c * grad[i];
        if decay {
            w[i] *= 1.0 - s.lr * wd;
        }
        m[i] = beta1 * m[i] + (1.0 - beta1) * g;
        v[i] = beta2 * v[i] + (1.0 - beta2) * g * g;
        w[i] -= s.lr * (m[i] / s.bc1) / ((v[i] / s.bc2).sqrt() + eps);
    }
}

/// LARS: g = c grad; for `decay` parameters g += wd w and g *= eta |w| / |g| (1 when either norm is 0);
/// m = momentum m + g; w -= lr m.
#[allow(clippy::too_many_arguments)]
pub fn lars(
    w: &mut [f64],
    grad: &[f64],
    m: &mut [f64],
    c: f64,
    s: Sched,
    momentum: f64,
    wd: f64,
    eta: f64,
    decay: bool,
) {
    let mut g: Vec<f64> = grad.iter().zip(w.iter()).map(|(g, w)| c * g + if decay { wd * w } else { 0.0 }).collect();
    if decay {
        let wn = w.iter().map(|v| v * v).sum::<f64>().sqrt();
        let gn = g.iter().map(|v| v * v).sum::<f64>().sqrt();
        if wn > 0.0 && gn > 0.0 {
            g.iter_mut().for_each(|v| *v *= eta * wn / gn);
        }
    }
    for i in 0..w.len() {
        m[i] = momentum * m[i] + g[i];
        w[i] -= s.lr * m[i];
    }
}

/// EMA of a target: t = tau t + (1 - tau) online.
pub fn ema(target: &mut [f64], online: &[f64], tau: f64) {
    for (t, o) in target.iter_mut().zip(online) {
        *t = tau * *t + (1.0 - tau) * o;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Sched = Sched { lr: 0.1, bc1: 0.1, bc2: 0.001, tau: 0.9 };

    #[test]
    fn sgd_matches_hand_computed_pytorch_steps() {
        let (mut w, mut m) = (vec![1.0], vec![0.0]);
        sgd(&mut w, &[0.5], &mut m, 1.0, S, 0.9, false, 0.1, true);
        // g = 0.5 + 0.1 * 1 = 0.6; m = 0.6; w = 1 - 0.06
        assert!((w[0] - 0.94).abs() < 1e-12 && (m[0] - 0.6).abs() < 1e-12);
        sgd(&mut w, &[0.5], &mut m, 1.0, S, 0.9, true, 0.0, false);
        // g = 0.5; m = 0.54 + 0.5 = 1.04; nesterov step = 0.5 + 0.936 = 1.436
        assert!((w[0] - (0.94 - 0.1436)).abs() < 1e-12);
    }

    #[test]
    fn adamw_first_step_moves_by_lr_times_sign() {
        let (mut w, mut m, mut v) = (vec![1.0, -2.0], vec![0.0; 2], vec![0.0; 2]);
        adamw(&mut w, &[3.0, -0.01], &mut m, &mut v, 1.0, S, (0.9, 0.999, 0.0), 0.0, true);
        assert!((w[0] - 0.9).abs() < 1e-9 && (w[1] + 1.9).abs() < 1e-9, "{w:?}");
    }

    #[test]
    fn lars_scales_by_the_trust_ratio_and_skips_excluded() {
        let (mut w, mut m) = (vec![3.0, 4.0], vec![0.0; 2]);
        lars(&mut w, &[0.0, 1.0], &mut m, 1.0, S, 0.9, 0.0, 0.001, true);
        // |w| = 5, |g| = 1: g * 0.005 = [0, 0.005]
        assert!((m[1] - 0.005).abs() < 1e-12 && (w[1] - (4.0 - 0.0005)).abs() < 1e-12);
        let (mut w, mut m) = (vec![3.0, 4.0], vec![0.0; 2]);
        lars(&mut w, &[0.0, 1.0], &mut m, 1.0, S, 0.9, 0.5, 0.001, false);
        assert!((m[1] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn clip_factor_caps_the_global_norm() {
        assert_eq!(clip_factor(&[&[3.0], &[4.0]], 0.0), 1.0);
        assert!((clip_factor(&[&[3.0], &[4.0]], 1.0) - 1.0 / (5.0 + 1e-6)).abs() < 1e-12);
        assert_eq!(clip_factor(&[&[0.3], &[0.4]], 1.0), 1.0);
    }
}
