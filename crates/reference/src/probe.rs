//! Probes and collapse metrics in f64: the weighted kNN vote, softmax cross-entropy, the linear probe's
//! training loop, per-dimension std of normalised rows, RankMe's effective rank, and Wang & Isola's
//! alignment and uniformity.

use crate::optim::{self, Sched};

/// Rows scaled to unit norm (norm floored at 1e-12).
pub fn normalize_rows(x: &[f64], d: usize) -> Vec<f64> {
    x.chunks(d)
        .flat_map(|r| {
            let n = r.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
            r.iter().map(move |v| v / n)
        })
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Weighted kNN: cosine similarity of normalised features, the `k` most similar training samples (ties to
/// the lower index) each vote exp(s / t) for their class; the class with most weight wins, ties to the
/// lower class id.
pub fn knn_predict(
    train: &[f64],
    labels: &[u32],
    test: &[f64],
    d: usize,
    k: usize,
    t: f64,
    classes: usize,
) -> Vec<u32> {
    let (tr, te) = (normalize_rows(train, d), normalize_rows(test, d));
    te.chunks(d)
        .map(|q| {
            let mut sims: Vec<(f64, usize)> =
                tr.chunks(d).map(|r| dot(q, r)).enumerate().map(|(i, s)| (s, i)).collect();
            sims.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let mut votes = vec![0.0; classes];
            for &(s, i) in sims.iter().take(k) {
                votes[labels[i] as usize] += (s / t).exp();
            }
            let mut best = 0;
            for c in 1..classes {
                if votes[c] > votes[best] {
                    best = c;
                }
            }
            best as u32
        })
        .collect()
}

/// Per-row softmax cross-entropy and the gradient of the mean loss with respect to the logits.
pub fn softmax_xent(z: &[f64], labels: &[u32], classes: usize) -> (Vec<f64>, Vec<f64>) {
    let rows = z.len() / classes;
    let mut loss = Vec::with_capacity(rows);
    let mut dz = vec![0.0; z.len()];
    for (r, row) in z.chunks(classes).enumerate() {
        let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = row.iter().map(|v| (v - m).exp()).sum();
        let y = labels[r] as usize;
        loss.push(m + s.ln() - row[y]);
        for c in 0..classes {
            dz[r * classes + c] = ((row[c] - m).exp() / s - if c == y { 1.0 } else { 0.0 }) / rows as f64;
        }
    }
    (loss, dz)
}

/// The linear probe's training loop: weights (classes × d) and bias from zero, full-batch Adam (betas
/// 0.9/0.999, eps 1e-8, bias-corrected) on the mean cross-entropy plus (l2 / 2)·‖W‖²; returns (W, b).
pub fn linear_probe(
    x: &[f64],
    labels: &[u32],
    d: usize,
    classes: usize,
    steps: usize,
    lr: f64,
    l2: f64,
) -> (Vec<f64>, Vec<f64>) {
    let n = x.len() / d;
    let (mut w, mut b) = (vec![0.0; classes * d], vec![0.0; classes]);
    let (mut mw, mut vw, mut mb, mut vb) =
        (vec![0.0; w.len()], vec![0.0; w.len()], vec![0.0; classes], vec![0.0; classes]);
    for t in 1..=steps {
        let z: Vec<f64> = (0..n * classes)
            .map(|i| dot(&x[(i / classes) * d..][..d], &w[(i % classes) * d..][..d]) + b[i % classes])
            .collect();
        let (_, dz) = softmax_xent(&z, labels, classes);
        let mut dw = vec![0.0; w.len()];
        let mut db = vec![0.0; classes];
        for r in 0..n {
            for c in 0..classes {
                let g = dz[r * classes + c];
                db[c] += g;
                for j in 0..d {
                    dw[c * d + j] += g * x[r * d + j];
                }
            }
        }
        for (g, wv) in dw.iter_mut().zip(&w) {
            *g += l2 * wv;
        }
        let s = Sched { lr, bc1: 1.0 - 0.9f64.powi(t as i32), bc2: 1.0 - 0.999f64.powi(t as i32), tau: 0.0 };
        optim::adamw(&mut w, &dw, &mut mw, &mut vw, 1.0, s, (0.9, 0.999, 1e-8), 0.0, false);
        optim::adamw(&mut b, &db, &mut mb, &mut vb, 1.0, s, (0.9, 0.999, 1e-8), 0.0, false);
    }
    (w, b)
}

/// Mean over dimensions of the (unbiased) standard deviation of the L2-normalised rows.
pub fn mean_std(z: &[f64], d: usize) -> f64 {
    let zn = normalize_rows(z, d);
    let n = zn.len() / d;
    (0..d)
        .map(|j| {
            let m = (0..n).map(|i| zn[i * d + j]).sum::<f64>() / n as f64;
            ((0..n).map(|i| (zn[i * d + j] - m).powi(2)).sum::<f64>() / (n as f64 - 1.0)).sqrt()
        })
        .sum::<f64>()
        / d as f64
}

/// RankMe's effective rank from singular values: exp(−Σ p log p), p_k = σ_k / Σσ + 1e-7.
pub fn effective_rank_from_singular_values(sigma: &[f64]) -> f64 {
    let total: f64 = sigma.iter().sum::<f64>().max(1e-300);
    let entropy: f64 = sigma
        .iter()
        .map(|s| {
            let p = s / total + 1e-7;
            -p * p.ln()
        })
        .sum();
    entropy.exp()
}

/// Eigenvalues of a symmetric matrix (n × n) by cyclic Jacobi rotations.
pub fn symmetric_eigenvalues(a: &[f64], n: usize) -> Vec<f64> {
    let mut a = a.to_vec();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j].powi(2))
            .sum();
        if off < 1e-22 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
            }
        }
    }
    (0..n).map(|i| a[i * n + i]).collect()
}

/// RankMe's effective rank of z (n × d, uncentred): singular values from the eigenvalues of zᵀz.
pub fn effective_rank(z: &[f64], d: usize) -> f64 {
    let n = z.len() / d;
    let gram: Vec<f64> = (0..d * d).map(|ij| (0..n).map(|r| z[r * d + ij / d] * z[r * d + ij % d]).sum()).collect();
    let sigma: Vec<f64> = symmetric_eigenvalues(&gram, d).into_iter().map(|l| l.max(0.0).sqrt()).collect();
    effective_rank_from_singular_values(&sigma)
}

/// Alignment: mean ‖a_i − b_i‖² of the normalised rows.
pub fn alignment(a: &[f64], b: &[f64], d: usize) -> f64 {
    let (an, bn) = (normalize_rows(a, d), normalize_rows(b, d));
    let n = an.len() / d;
    an.iter().zip(&bn).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / n as f64
}

/// Uniformity: log of the mean over distinct pairs i ≠ j of exp(−2‖z_i − z_j‖²), normalised rows.
pub fn uniformity(z: &[f64], d: usize) -> f64 {
    let zn = normalize_rows(z, d);
    let n = zn.len() / d;
    let mut s = 0.0;
    for i in 0..n {
        for j in 0..n {
            if i != j {
                let dist: f64 = (0..d).map(|k| (zn[i * d + k] - zn[j * d + k]).powi(2)).sum();
                s += (-2.0 * dist).exp();
            }
        }
    }
    (s / (n * (n - 1)) as f64).ln()
}

/// Mean energy ‖a_i − b_j‖² of the normalised rows over negative pairs i ≠ j.
pub fn negative_energy(a: &[f64], b: &[f64], d: usize) -> f64 {
    let (an, bn) = (normalize_rows(a, d), normalize_rows(b, d));
    let n = an.len() / d;
    let mut s = 0.0;
    for i in 0..n {
        for j in 0..n {
            if i != j {
                s += (0..d).map(|k| (an[i * d + k] - bn[j * d + k]).powi(2)).sum::<f64>();
            }
        }
    }
    s / (n * (n - 1)) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_finds_a_known_spectrum() {
        // Q diag(4, 1, 0.25) Qᵀ with a rotation Q.
        let (c, s) = (0.6f64, 0.8f64);
        let q = [c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0];
        let l = [4.0, 1.0, 0.25];
        let a: Vec<f64> =
            (0..9).map(|ij| (0..3).map(|k| q[(ij / 3) * 3 + k] * l[k] * q[(ij % 3) * 3 + k]).sum()).collect();
        let mut e = symmetric_eigenvalues(&a, 3);
        e.sort_by(|x, y| y.total_cmp(x));
        for (got, want) in e.iter().zip(l) {
            assert!((got - want).abs() < 1e-10, "{e:?}");
        }
    }

    #[test]
    fn effective_rank_of_equal_singular_values_is_their_count() {
        assert!((effective_rank_from_singular_values(&[2.0; 5]) - 5.0).abs() < 1e-4);
        assert!(effective_rank_from_singular_values(&[1.0, 0.0, 0.0]) < 1.001);
    }

    #[test]
    fn knn_breaks_ties_toward_the_lower_class() {
        // Two training points equally similar to the query, classes 1 and 0.
        let train = [1.0, 1.0, 1.0, 1.0];
        assert_eq!(knn_predict(&train, &[1, 0], &[1.0, 1.0], 2, 2, 0.07, 2), vec![0]);
        assert_eq!(knn_predict(&train, &[1, 0], &[1.0, 1.0], 2, 1, 0.07, 2), vec![1], "k = 1 takes the lower index");
    }
}
