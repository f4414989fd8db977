//! Activations: ReLU and the exact (erf) GELU, forward and backward.

/// `y = max(x, 0)`.
pub fn relu_forward(x: &[f64]) -> Vec<f64> {
    x.iter().map(|&v| v.max(0.0)).collect()
}

/// `dx = dy` where `x > 0`, else 0.
pub fn relu_backward(x: &[f64], dy: &[f64]) -> Vec<f64> {
    x.iter().zip(dy).map(|(&v, &g)| if v > 0.0 { g } else { 0.0 }).collect()
}

/// `y = x Φ(x) = 0.5 x (1 + erf(x / √2))` (PyTorch's default GELU).
pub fn gelu_forward(x: &[f64]) -> Vec<f64> {
    x.iter().map(|&v| 0.5 * v * (1.0 + libm::erf(v / std::f64::consts::SQRT_2))).collect()
}

/// `dx = dy (Φ(x) + x φ(x))`.
pub fn gelu_backward(x: &[f64], dy: &[f64]) -> Vec<f64> {
    x.iter()
        .zip(dy)
        .map(|(&v, &g)| {
            let cdf = 0.5 * (1.0 + libm::erf(v / std::f64::consts::SQRT_2));
            let pdf = (-0.5 * v * v).exp() / (2.0 * std::f64::consts::PI).sqrt();
            g * (cdf + v * pdf)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradient, dot};
    use crate::tests::{away_from_zero, random, random_directions};

    #[test]
    fn backward_matches_finite_differences() {
        // Kinks at 0 are excluded from ReLU's check: its derivative is not defined there.
        let x = away_from_zero(random(1, 40), 1e-3);
        let dy = random(2, 40);
        let dirs = random_directions(3, 40, 4);
        let f = |x: &[f64]| dot(&relu_forward(x), &dy);
        assert_gradient("relu", &f, &x, &relu_backward(&x, &dy), &dirs, 1e-6);
        let f = |x: &[f64]| dot(&gelu_forward(x), &dy);
        assert_gradient("gelu", &f, &x, &gelu_backward(&x, &dy), &dirs, 1e-6);
    }
}
