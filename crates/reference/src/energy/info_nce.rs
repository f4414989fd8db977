use super::Energy;

/// Norm floor of the row normalisation (`F.normalize`).
pub const NORMALIZE_EPS: f64 = 1e-12;

/// `info-nce` (SimCLR's NT-Xent): z = [normalize(a); normalize(b)] (2n×d), s_ij = z_i·z_j / τ. For each of
/// the 2n anchors i with positive p(i) = i+n (i < n) or i−n: ℓ_i = logsumexp_{k≠i} s_ik − s_{i,p(i)}.
/// Value = mean_i ℓ_i.
/// Source: Chen et al., SimCLR (ICML 2020), eq. 1; google-research/simclr `objective.py`.
pub fn info_nce(a: &[f64], b: &[f64], n: usize, d: usize, tau: f64) -> Energy {
    assert!(n >= 2, "info_nce needs n >= 2");
    let m = 2 * n;
    let raw: Vec<f64> = a.iter().chain(b).copied().collect();
    let (z, norms) = crate::l2_normalize::l2_normalize_forward(&raw, d, NORMALIZE_EPS);
    let s = |i: usize, k: usize| (0..d).map(|j| z[i * d + j] * z[k * d + j]).sum::<f64>() / tau;
    let pos = |i: usize| if i < n { i + n } else { i - n };
    let lse: Vec<f64> = (0..m)
        .map(|i| {
            let mx = (0..m).filter(|&k| k != i).map(|k| s(i, k)).fold(f64::NEG_INFINITY, f64::max);
            mx + (0..m).filter(|&k| k != i).map(|k| (s(i, k) - mx).exp()).sum::<f64>().ln()
        })
        .collect();
    let value = (0..m).map(|i| (lse[i] - s(i, pos(i))) / m as f64).sum();
    // dvalue/dz_i = 1/(2nτ) [Σ_{k≠i} (P_ik + P_ki) z_k − 2 z_{p(i)}], P_ik = exp(s_ik − lse_i).
    let mut dz = vec![0.0; m * d];
    for i in 0..m {
        for k in 0..m {
            if k == i {
                continue;
            }
            let mut w = (s(i, k) - lse[i]).exp() + (s(i, k) - lse[k]).exp();
            if k == pos(i) {
                w -= 2.0;
            }
            for j in 0..d {
                dz[i * d + j] += w * z[k * d + j] / (m as f64 * tau);
            }
        }
    }
    let draw = crate::l2_normalize::l2_normalize_backward(&dz, &z, &norms, d, NORMALIZE_EPS);
    Energy { value, terms: Vec::new(), grad_a: draw[..n * d].to_vec(), grad_b: draw[n * d..].to_vec() }
}

#[cfg(test)]
mod tests {
    #[test]
    fn gradients_match_finite_differences() {
        let f = |a: &[f64], b: &[f64]| super::info_nce(a, b, 4, 5, 0.1);
        super::super::tests::check_gradients("info_nce", &f, 4, 5, 7);
        let f = |a: &[f64], b: &[f64]| super::info_nce(a, b, 2, 1, 0.5);
        super::super::tests::check_gradients("info_nce n=2 d=1", &f, 2, 1, 8);
    }
}
