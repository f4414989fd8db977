//! Directional-derivative gradient checks in f64: `<grad f(x), v>` against
//! `(f(x + h v) - f(x - h v)) / 2h` for random directions `v`.

/// Central difference of `f` at `x` along `v` with step `h`.
pub fn directional(f: &dyn Fn(&[f64]) -> f64, x: &[f64], v: &[f64], h: f64) -> f64 {
    let plus: Vec<f64> = x.iter().zip(v).map(|(a, b)| a + h * b).collect();
    let minus: Vec<f64> = x.iter().zip(v).map(|(a, b)| a - h * b).collect();
    (f(&plus) - f(&minus)) / (2.0 * h)
}

/// Dot product.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Asserts that `grad` (the analytic gradient of `f` at `x`) matches the central difference along each
/// of `directions` to a relative error of `tol`.
#[track_caller]
pub fn assert_gradient(
    what: &str,
    f: &dyn Fn(&[f64]) -> f64,
    x: &[f64],
    grad: &[f64],
    directions: &[Vec<f64>],
    tol: f64,
) {
    assert_eq!(x.len(), grad.len(), "{what}: gradient length");
    for (i, v) in directions.iter().enumerate() {
        let analytic = dot(grad, v);
        let numeric = directional(f, x, v, 1e-6);
        let scale = analytic.abs().max(numeric.abs()).max(1e-8);
        assert!(
            (analytic - numeric).abs() <= tol * scale,
            "{what}: direction {i}: analytic {analytic} vs finite difference {numeric}"
        );
    }
}
