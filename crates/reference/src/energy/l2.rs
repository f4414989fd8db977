use super::Energy;

/// `l2`: value = mean_i ‖a_i − b_i‖² (the plain joint-embedding energy; also the denoising
/// reconstruction energy). Gradients: ∂/∂a = 2(a − b)/n, ∂/∂b = −∂/∂a.
pub fn l2(a: &[f64], b: &[f64], n: usize, _d: usize) -> Energy {
    let value = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>() / n as f64;
    let grad_a: Vec<f64> = a.iter().zip(b).map(|(x, y)| 2.0 * (x - y) / n as f64).collect();
    let grad_b = grad_a.iter().map(|g| -g).collect();
    Energy { value, terms: Vec::new(), grad_a, grad_b }
}

#[cfg(test)]
mod tests {
    #[test]
    fn gradients_match_finite_differences() {
        super::super::tests::check_gradients("l2", &|a, b| super::l2(a, b, 5, 3), 5, 3, 1);
    }
}
