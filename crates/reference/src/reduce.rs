//! Row and column reductions (sum, mean, variance) and their backward.

/// What to reduce to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ReduceOp {
    /// Sum.
    Sum,
    /// Arithmetic mean.
    Mean,
    /// Variance with `correction` subtracted from the count (0: biased, 1: unbiased).
    Var {
        /// 0 or 1.
        correction: u32,
    },
}

/// Which lines are reduced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Axis {
    /// One result per row (reduce over columns): output length n.
    Rows,
    /// One result per column (reduce over rows): output length d.
    Cols,
}

fn line(x: &[f64], (n, d): (usize, usize), axis: Axis, r: usize) -> Vec<f64> {
    match axis {
        Axis::Rows => x[r * d..(r + 1) * d].to_vec(),
        Axis::Cols => (0..n).map(|i| x[i * d + r]).collect(),
    }
}

fn count(dims: (usize, usize), axis: Axis) -> (usize, usize) {
    match axis {
        Axis::Rows => (dims.0, dims.1),
        Axis::Cols => (dims.1, dims.0),
    }
}

/// Reduces each row or column of `x` (n, d).
pub fn reduce_forward(x: &[f64], dims: (usize, usize), op: ReduceOp, axis: Axis) -> Vec<f64> {
    let (lines, len) = count(dims, axis);
    (0..lines)
        .map(|r| {
            let v = line(x, dims, axis, r);
            let s: f64 = v.iter().sum();
            let mean = s / len as f64;
            match op {
                ReduceOp::Sum => s,
                ReduceOp::Mean => mean,
                ReduceOp::Var { correction } => {
                    v.iter().map(|a| (a - mean) * (a - mean)).sum::<f64>() / (len as f64 - f64::from(correction))
                }
            }
        })
        .collect()
}

/// `dx` (n, d) from `dy` (one value per reduced line).
pub fn reduce_backward(x: &[f64], dims: (usize, usize), op: ReduceOp, axis: Axis, dy: &[f64]) -> Vec<f64> {
    let (_, len) = count(dims, axis);
    let means = reduce_forward(x, dims, ReduceOp::Mean, axis);
    let (n, d) = dims;
    let mut dx = vec![0.0; n * d];
    for i in 0..n {
        for j in 0..d {
            let r = if axis == Axis::Rows { i } else { j };
            dx[i * d + j] = match op {
                ReduceOp::Sum => dy[r],
                ReduceOp::Mean => dy[r] / len as f64,
                ReduceOp::Var { correction } => {
                    dy[r] * 2.0 * (x[i * d + j] - means[r]) / (len as f64 - f64::from(correction))
                }
            };
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
        let dims = (4, 7);
        let x = random(1, 28);
        let dirs = random_directions(2, 28, 3);
        for axis in [Axis::Rows, Axis::Cols] {
            for op in [ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Var { correction: 0 }, ReduceOp::Var { correction: 1 }]
            {
                let lines = if axis == Axis::Rows { 4 } else { 7 };
                let dy = random(3, lines);
                let f = |x: &[f64]| dot(&reduce_forward(x, dims, op, axis), &dy);
                let g = reduce_backward(&x, dims, op, axis, &dy);
                assert_gradient(&format!("{op:?} {axis:?}"), &f, &x, &g, &dirs, 1e-6);
            }
        }
    }
}
