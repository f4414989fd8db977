use super::Energy;
use crate::batch_norm::{BatchNormConfig, batch_norm_backward, batch_norm_forward};

/// BatchNorm eps used to standardise each branch.
pub const BARLOW_EPS: f64 = 1e-5;

/// `barlow-twins`: standardise each branch per column (batch mean, biased variance, eps 1e-5 inside the
/// square root: BatchNorm without affine, each view separately); C = âᵀb̂ / n (d×d);
/// value = Σ_i (1 − C_ii)² + λ Σ_{i≠j} C_ij². Terms: on_diagonal, off_diagonal (before λ).
/// Source: Zbontar et al., Barlow Twins (ICML 2021), and facebookresearch/barlowtwins `main.py`.
pub fn barlow_twins(a: &[f64], b: &[f64], n: usize, d: usize, lambda: f64) -> Energy {
    assert!(n >= 2, "barlow_twins needs n >= 2");
    let cfg = BatchNormConfig { eps: BARLOW_EPS, momentum: 0.0, affine: false };
    let std = |x: &[f64]| {
        let (mut rm, mut rv) = (vec![0.0; d], vec![1.0; d]);
        batch_norm_forward(cfg, true, x, (n, d), &[], &[], &mut rm, &mut rv)
    };
    let ((ah, sa), (bh, sb)) = (std(a), std(b));
    let mut c = vec![0.0; d * d];
    for k in 0..d {
        for l in 0..d {
            c[k * d + l] = (0..n).map(|i| ah[i * d + k] * bh[i * d + l]).sum::<f64>() / n as f64;
        }
    }
    let (mut on, mut off) = (0.0, 0.0);
    // G = dvalue/dC.
    let mut g = vec![0.0; d * d];
    for k in 0..d {
        for l in 0..d {
            let v = c[k * d + l];
            if k == l {
                on += (1.0 - v).powi(2);
                g[k * d + l] = -2.0 * (1.0 - v);
            } else {
                off += v * v;
                g[k * d + l] = 2.0 * lambda * v;
            }
        }
    }
    // dvalue/dâ = b̂ Gᵀ / n, dvalue/db̂ = â G / n, then back through the standardisation.
    let mut dah = vec![0.0; n * d];
    let mut dbh = vec![0.0; n * d];
    for i in 0..n {
        for k in 0..d {
            dah[i * d + k] = (0..d).map(|l| bh[i * d + l] * g[k * d + l]).sum::<f64>() / n as f64;
            dbh[i * d + k] = (0..d).map(|l| ah[i * d + l] * g[l * d + k]).sum::<f64>() / n as f64;
        }
    }
    let grad_a = batch_norm_backward(cfg, true, &dah, a, (n, d), &sa, &[]).0;
    let grad_b = batch_norm_backward(cfg, true, &dbh, b, (n, d), &sb, &[]).0;
    Energy { value: on + lambda * off, terms: vec![("on_diagonal", on), ("off_diagonal", off)], grad_a, grad_b }
}

#[cfg(test)]
mod tests {
    #[test]
    fn gradients_match_finite_differences() {
        let f = |a: &[f64], b: &[f64]| super::barlow_twins(a, b, 6, 4, 0.0051);
        super::super::tests::check_gradients("barlow", &f, 6, 4, 5);
        let f = |a: &[f64], b: &[f64]| super::barlow_twins(a, b, 3, 2, 0.5);
        super::super::tests::check_gradients("barlow", &f, 3, 2, 6);
    }
}
