//! Vector updates: `y = alpha x + y` and `y = alpha x`.

/// `y = alpha * x + y`.
pub fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    for (yv, xv) in y.iter_mut().zip(x) {
        *yv += alpha * xv;
    }
}

/// `alpha * x`.
pub fn scale(alpha: f64, x: &[f64]) -> Vec<f64> {
    x.iter().map(|v| alpha * v).collect()
}
