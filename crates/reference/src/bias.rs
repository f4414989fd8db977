//! Bias add over rows, and its backward (the column sum).

/// `y[i, j] += bias[j]` for `y` of `(n, d)`.
pub fn bias_add_forward(bias: &[f64], y: &mut [f64], d: usize) {
    for row in y.chunks_mut(d) {
        for (v, b) in row.iter_mut().zip(bias) {
            *v += b;
        }
    }
}

/// `dbias[j] = Σ_i dy[i, j]`.
pub fn bias_add_backward(dy: &[f64], d: usize) -> Vec<f64> {
    crate::reduce::reduce_forward(dy, (dy.len() / d.max(1), d), crate::reduce::ReduceOp::Sum, crate::reduce::Axis::Cols)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradient, dot};
    use crate::tests::{random, random_directions};

    #[test]
    fn backward_matches_finite_differences() {
        let (n, d) = (5, 3);
        let y0 = random(1, n * d);
        let dy = random(2, n * d);
        let bias = random(3, d);
        let f = |b: &[f64]| {
            let mut y = y0.clone();
            bias_add_forward(b, &mut y, d);
            dot(&y, &dy)
        };
        assert_gradient("bias", &f, &bias, &bias_add_backward(&dy, d), &random_directions(4, d, 3), 1e-7);
    }
}
