//! Probes and collapse metrics on the device against the f64 reference: kNN votes (with ties), the linear
//! probe's training loop and its accuracy on a separable set, and every collapse metric on random,
//! known-spectrum and collapsed embeddings.

#[path = "../common/mod.rs"]
mod common;

use rand::Rng;
use tandem::eval::linear::LinearProbe;
use tandem::eval::{collapse_metrics, knn_predict, linear_top1};
use tandem::reference::probe as reference;

use common::*;

fn close(what: &str, got: f64, want: f64, tol: f64) {
    assert!((got - want).abs() <= tol * (1.0 + want.abs()), "{what}: device {got} vs reference {want}");
}

#[test]
fn knn_votes_match_reference() {
    for (s, &(n, m, d, k, classes)) in
        [(50, 17, 8, 5, 3), (300, 64, 33, 20, 10), (7, 5, 3, 20, 2), (1, 1, 1, 1, 1)].iter().enumerate()
    {
        let mut r = rng(s as u64);
        let train = uniform(&mut r, n * d);
        let test = uniform(&mut r, m * d);
        let labels: Vec<u32> = (0..n).map(|_| r.random_range(0..classes as u32)).collect();
        let got = knn_predict(gpu(), &train, &labels, &test, d, k, 0.07).unwrap();
        let want = reference::knn_predict(&f64s(&train), &labels, &f64s(&test), d, k, 0.07, classes);
        assert_eq!(got, want, "kNN n={n} m={m} d={d} k={k}");
    }
    // Exact ties: duplicated training rows of different classes; the lower index and class win.
    let train = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0];
    let got = knn_predict(gpu(), &train, &[2, 1, 0], &[1.0, 0.0], 2, 1, 0.07).unwrap();
    assert_eq!(got, reference::knn_predict(&f64s(&train), &[2, 1, 0], &[1.0, 0.0], 2, 1, 0.07, 3));
    assert_eq!(got, vec![2]);
}

/// Where the device caps loop iterations per invocation (llvmpipe), a kNN vote too large for it is refused
/// with a message instead of returning truncated votes; just under the cap it matches the reference.
#[test]
fn a_knn_vote_beyond_the_devices_loop_budget_is_refused() {
    let Some(budget) = gpu().loop_budget() else { return };
    let (d, k) = (16, 200);
    let fits = 64 * ((budget as usize - 64) / k - 16);
    for (n, refused) in [(fits, false), (fits + 64, true)] {
        let mut r = rng(n as u64);
        let (train, test) = (uniform(&mut r, n * d), uniform(&mut r, 3 * d));
        let labels: Vec<u32> = (0..n).map(|_| r.random_range(0..4)).collect();
        match knn_predict(gpu(), &train, &labels, &test, d, k, 0.07) {
            Err(e) if refused => assert!(e.to_string().contains("loop iterations"), "{e}"),
            Ok(got) if !refused => {
                assert_eq!(got, reference::knn_predict(&f64s(&train), &labels, &f64s(&test), d, k, 0.07, 4))
            }
            other => panic!("n = {n}: refused = {refused} expected, got {other:?}"),
        }
    }
}

#[test]
fn linear_probe_follows_reference_and_separates_a_separable_set() {
    let (n, d, classes) = (90, 6, 3);
    let mut r = rng(7);
    let labels: Vec<u32> = (0..n).map(|i| (i % classes) as u32).collect();
    // Class c sits around a different corner: linearly separable.
    let x: Vec<f32> = (0..n * d)
        .map(|i| r.random_range(-0.3f32..0.3) + if (i % d) == labels[i / d] as usize { 2.0 } else { 0.0 })
        .collect();
    let probe = LinearProbe { steps: 40, lr: 0.05, l2: 1e-3 };
    let (w, b) = probe.fit(gpu(), &x, &labels, d).unwrap();
    let stats = tandem::eval::linear::column_stats(&x, d);
    let xs = f64s(&tandem::eval::linear::standardise(&x, &stats));
    let (rw, rb) = reference::linear_probe(&xs, &labels, d, classes, 40, 0.05, 1e-3);
    assert_close("probe weights", &w, &rw, 1e-4, 1e-3);
    // Softmax ignores a shift shared by every class's bias, and Adam magnifies the rounding in that
    // direction (its gradient is zero in exact arithmetic): compare the biases relative to their mean.
    let centre = |v: Vec<f64>| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        v.into_iter().map(|x| x - m).collect::<Vec<_>>()
    };
    let bc: Vec<f32> = centre(f64s(&b)).into_iter().map(|v| v as f32).collect();
    assert_close("probe bias (centred)", &bc, &centre(rb), 1e-4, 1e-3);
    let acc = linear_top1(gpu(), &LinearProbe::default(), &x, &labels, &x, &labels, d).unwrap();
    assert_eq!(acc, 1.0, "a separable set is separated");
}

#[test]
fn collapse_metrics_match_reference() {
    for (s, &(n, d)) in [(40, 8), (17, 31), (64, 64), (5, 3)].iter().enumerate() {
        let mut r = rng(100 + s as u64);
        let a = uniform(&mut r, n * d);
        let b: Vec<f32> = a.iter().map(|v| v + r.random_range(-0.2f32..0.2)).collect();
        let m = collapse_metrics(gpu(), &up(&[n, d], &a), Some(&up(&[n, d], &b))).unwrap();
        let (ra, rb) = (f64s(&a), f64s(&b));
        let what = format!("{n}x{d}");
        close(&format!("{what} mean_std"), m.mean_std, reference::mean_std(&ra, d), 1e-4);
        close(&format!("{what} effective_rank"), m.effective_rank, reference::effective_rank(&ra, d), 1e-3);
        close(&format!("{what} uniformity"), m.uniformity, reference::uniformity(&ra, d), 1e-4);
        close(&format!("{what} alignment"), m.alignment.unwrap(), reference::alignment(&ra, &rb, d), 1e-4);
        close(
            &format!("{what} negative energy"),
            m.negative_energy.unwrap(),
            reference::negative_energy(&ra, &rb, d),
            1e-4,
        );
    }
}

#[test]
fn effective_rank_reads_a_known_spectrum_and_collapse_reads_zero() {
    // z = rows of a scaled identity block: singular values exactly [3, 3, 3, 3, 1, 1, 0, 0].
    let (n, d) = (16, 8);
    let mut z = vec![0.0f32; n * d];
    for j in 0..6 {
        let sigma = if j < 4 { 3.0 } else { 1.0 };
        z[j * d + j] = sigma;
    }
    let m = collapse_metrics(gpu(), &up(&[n, d], &z), None).unwrap();
    let want = reference::effective_rank_from_singular_values(&[3.0, 3.0, 3.0, 3.0, 1.0, 1.0, 0.0, 0.0]);
    close("known spectrum", m.effective_rank, want, 1e-4);
    // Collapsed: every row the same.
    let same: Vec<f32> = (0..n * d).map(|i| (i % d) as f32 + 1.0).collect();
    let m = collapse_metrics(gpu(), &up(&[n, d], &same), Some(&up(&[n, d], &same))).unwrap();
    assert!(m.mean_std < 1e-4 && m.effective_rank < 1.01, "{m:?}");
    assert!(m.alignment.unwrap() < 1e-6 && m.negative_energy.unwrap() < 1e-5 && m.uniformity > -1e-3, "{m:?}");
}
