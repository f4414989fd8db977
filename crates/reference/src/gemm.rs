//! Reference GEMM: `C = alpha * op(A) · op(B) + beta * C`.

/// `c` (m×n) = `alpha * op(a) · op(b) + beta * c`, where op(a) is m×k (stored k×m when `trans_a`) and
/// op(b) is k×n (stored n×k when `trans_b`).
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    a: &[f64],
    b: &[f64],
    c: &mut [f64],
    (m, n, k): (usize, usize, usize),
    trans_a: bool,
    trans_b: bool,
    alpha: f64,
    beta: f64,
) {
    assert_eq!(a.len(), m * k, "a");
    assert_eq!(b.len(), k * n, "b");
    assert_eq!(c.len(), m * n, "c");
    for i in 0..m {
        for j in 0..n {
            let mut s = 0.0;
            for p in 0..k {
                let av = if trans_a { a[p * m + i] } else { a[i * k + p] };
                let bv = if trans_b { b[j * k + p] } else { b[p * n + j] };
                s += av * bv;
            }
            let prev = if beta == 0.0 { 0.0 } else { beta * c[i * n + j] };
            c[i * n + j] = alpha * s + prev;
        }
    }
}

/// `op(a) · op(b)` as a new m×n matrix.
pub fn matmul(a: &[f64], b: &[f64], dims: (usize, usize, usize), trans_a: bool, trans_b: bool) -> Vec<f64> {
    let mut c = vec![0.0; dims.0 * dims.1];
    gemm(a, b, &mut c, dims, trans_a, trans_b, 1.0, 0.0);
    c
}
