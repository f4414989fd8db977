use super::{Energy, centred};

/// VICReg's loss weights (the published defaults: 25, 25, 1).
#[derive(Clone, Copy, Debug)]
pub struct VicregCoeffs {
    /// Weight of the invariance term.
    pub sim: f64,
    /// Weight of the variance term.
    pub std: f64,
    /// Weight of the covariance term.
    pub cov: f64,
}

impl Default for VicregCoeffs {
    fn default() -> Self {
        Self { sim: 25.0, std: 25.0, cov: 1.0 }
    }
}

/// Variance floor inside the square root.
pub const VICREG_EPS: f64 = 1e-4;

/// Variance and covariance terms of one branch and their gradients with respect to it:
/// `(var_term, cov_term, d var_term / dx, d cov_term / dx)`.
fn branch(x: &[f64], n: usize, d: usize) -> (f64, f64, Vec<f64>, Vec<f64>) {
    let xc = centred(x, n, d);
    let nm1 = (n - 1) as f64;
    let mut var_term = 0.0;
    let mut dvar = vec![0.0; n * d];
    for j in 0..d {
        let var = (0..n).map(|i| xc[i * d + j].powi(2)).sum::<f64>() / nm1;
        let std = (var + VICREG_EPS).sqrt();
        var_term += (1.0 - std).max(0.0) / d as f64;
        if std < 1.0 {
            // d/dx_ij of −std_j/d = −xc_ij / (d std_j (n−1)); centring adds nothing since Σ_i xc_ij = 0.
            for i in 0..n {
                dvar[i * d + j] = -xc[i * d + j] / (d as f64 * std * nm1);
            }
        }
    }
    // C = xcᵀ xc / (n−1); cov_term = Σ_{k≠l} C_kl² / d; d cov_term / dx = 4/(d(n−1)) · xc · offdiag(C).
    let mut c = vec![0.0; d * d];
    for k in 0..d {
        for l in 0..d {
            c[k * d + l] = (0..n).map(|i| xc[i * d + k] * xc[i * d + l]).sum::<f64>() / nm1;
        }
    }
    let mut cov_term = 0.0;
    for k in 0..d {
        for l in 0..d {
            if k != l {
                cov_term += c[k * d + l].powi(2) / d as f64;
            }
        }
    }
    let mut dcov = vec![0.0; n * d];
    for i in 0..n {
        for l in 0..d {
            let s: f64 = (0..d).filter(|&k| k != l).map(|k| xc[i * d + k] * c[k * d + l]).sum();
            dcov[i * d + l] = 4.0 * s / (d as f64 * nm1);
        }
    }
    (var_term, cov_term, dvar, dcov)
}

/// `vicreg`: invariance = mean over all n·d elements of (a − b)²; per branch, after centring the columns,
/// std_j = sqrt(unbiased var_j + 1e-4), variance = mean_j relu(1 − std_j), C = xcᵀxc/(n−1),
/// covariance = Σ_{i≠j} C_ij² / d. Value = sim·invariance + std·(var_a + var_b)/2 + cov·(cov_a + cov_b).
/// Terms: invariance, variance (the averaged one), covariance (the summed one).
/// Source: Bardes, Ponce & LeCun, VICReg (ICLR 2022), and facebookresearch/vicreg `main_vicreg.py`.
pub fn vicreg(a: &[f64], b: &[f64], n: usize, d: usize, w: VicregCoeffs) -> Energy {
    assert!(n >= 2, "vicreg needs n >= 2");
    let nd = (n * d) as f64;
    let invariance = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / nd;
    let (va, ca, dva, dca) = branch(a, n, d);
    let (vb, cb, dvb, dcb) = branch(b, n, d);
    let variance = (va + vb) / 2.0;
    let covariance = ca + cb;
    let value = w.sim * invariance + w.std * variance + w.cov * covariance;
    let grad = |x: &[f64], y: &[f64], dv: &[f64], dc: &[f64]| -> Vec<f64> {
        (0..n * d).map(|t| w.sim * 2.0 * (x[t] - y[t]) / nd + w.std * dv[t] / 2.0 + w.cov * dc[t]).collect()
    };
    Energy {
        value,
        terms: vec![("invariance", invariance), ("variance", variance), ("covariance", covariance)],
        grad_a: grad(a, b, &dva, &dca),
        grad_b: grad(b, a, &dvb, &dcb),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradients_match_finite_differences() {
        // Inputs in [-1, 1) with n = 5 give std below 1, so the variance term is active.
        let f = |a: &[f64], b: &[f64]| vicreg(a, b, 5, 4, VicregCoeffs::default());
        super::super::tests::check_gradients("vicreg", &f, 5, 4, 3);
        let f = |a: &[f64], b: &[f64]| vicreg(a, b, 2, 1, VicregCoeffs { sim: 1.0, std: 2.0, cov: 3.0 });
        super::super::tests::check_gradients("vicreg n=2 d=1", &f, 2, 1, 4);
    }
}
