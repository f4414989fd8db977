//! L2 row normalisation (`torch.nn.functional.normalize`) and its backward.

/// `y_i = x_i / max(‖x_i‖, eps)` for each row of `x` (n, d); returns `(y, norms)`.
pub fn l2_normalize_forward(x: &[f64], d: usize, eps: f64) -> (Vec<f64>, Vec<f64>) {
    let mut y = Vec::with_capacity(x.len());
    let mut norms = Vec::new();
    for row in x.chunks(d) {
        let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
        y.extend(row.iter().map(|v| v / norm.max(eps)));
        norms.push(norm);
    }
    (y, norms)
}

/// `dx_i = (dy_i - y_i (y_i · dy_i)) / ‖x_i‖`, or `dy_i / eps` where the norm is at most `eps`.
pub fn l2_normalize_backward(dy: &[f64], y: &[f64], norms: &[f64], d: usize, eps: f64) -> Vec<f64> {
    let mut dx = Vec::with_capacity(dy.len());
    for ((g, yr), &norm) in dy.chunks(d).zip(y.chunks(d)).zip(norms) {
        if norm <= eps {
            dx.extend(g.iter().map(|v| v / eps));
        } else {
            let dot: f64 = g.iter().zip(yr).map(|(a, b)| a * b).sum();
            dx.extend(g.iter().zip(yr).map(|(gv, yv)| (gv - yv * dot) / norm));
        }
    }
    dx
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{assert_gradient, dot};
    use crate::tests::{random, random_directions};

    #[test]
    fn backward_matches_finite_differences() {
        let d = 6;
        let x = random(1, 5 * d);
        let dy = random(2, 5 * d);
        let f = |x: &[f64]| dot(&l2_normalize_forward(x, d, 1e-12).0, &dy);
        let (y, norms) = l2_normalize_forward(&x, d, 1e-12);
        let g = l2_normalize_backward(&dy, &y, &norms, d, 1e-12);
        assert_gradient("l2_normalize", &f, &x, &g, &random_directions(3, 5 * d, 4), 1e-6);
    }
}
