use super::Energy;

/// Norm floor of `torch.nn.functional.cosine_similarity` (each norm is clamped to at least this).
pub const COSINE_EPS: f64 = 1e-8;

/// `neg-cosine` (SimSiam, BYOL): value = −mean_i cos(a_i, b_i), with
/// cos(a, b) = a·b / (max(‖a‖, ε) max(‖b‖, ε)), ε = 1e-8, as `F.cosine_similarity`. Both gradients are
/// returned; stop-gradient is the trainer's business.
/// Source: SimSiam (Chen & He, 2021), Algorithm 1: `D(p, z) = -(normalize(p) * normalize(z)).sum(dim=1).mean()`.
pub fn neg_cosine(a: &[f64], b: &[f64], n: usize, d: usize) -> Energy {
    let mut value = 0.0;
    let mut grad_a = vec![0.0; n * d];
    let mut grad_b = vec![0.0; n * d];
    for i in 0..n {
        let (ar, br) = (&a[i * d..(i + 1) * d], &b[i * d..(i + 1) * d]);
        let na = ar.iter().map(|v| v * v).sum::<f64>().sqrt();
        let nb = br.iter().map(|v| v * v).sum::<f64>().sqrt();
        let (ca, cb) = (na.max(COSINE_EPS), nb.max(COSINE_EPS));
        let dot: f64 = ar.iter().zip(br).map(|(x, y)| x * y).sum();
        let cos = dot / (ca * cb);
        value -= cos / n as f64;
        // d cos/d a = b/(ca cb) − cos a/ca² (the second part only where the norm is not clamped).
        for j in 0..d {
            let ga = br[j] / (ca * cb) - if na > COSINE_EPS { cos * ar[j] / (ca * ca) } else { 0.0 };
            let gb = ar[j] / (ca * cb) - if nb > COSINE_EPS { cos * br[j] / (cb * cb) } else { 0.0 };
            grad_a[i * d + j] = -ga / n as f64;
            grad_b[i * d + j] = -gb / n as f64;
        }
    }
    Energy { value, terms: Vec::new(), grad_a, grad_b }
}

#[cfg(test)]
mod tests {
    #[test]
    fn gradients_match_finite_differences() {
        super::super::tests::check_gradients("neg_cosine", &|a, b| super::neg_cosine(a, b, 4, 6), 4, 6, 2);
    }
}
