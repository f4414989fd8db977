//! BatchNorm1d, LayerNorm and L2 normalisation, forward and backward, against the reference.

use tandem::kernels::batch_norm::{
    BatchNormConfig, BatchNormMode, BatchNormSaved, BatchNormState, batch_norm_backward, batch_norm_forward,
};
use tandem::kernels::l2_normalize::{l2_normalize_backward, l2_normalize_forward};
use tandem::kernels::layer_norm::{LayerNormSaved, layer_norm_backward, layer_norm_forward};
use tandem::kernels::{HalfMatrix, Precision};
use tandem::reference::batch_norm as rbn;
use tandem::reference::l2_normalize as rl2;
use tandem::reference::layer_norm as rln;

use crate::common::*;

const SHAPES: &[(usize, usize)] = &[(1, 1), (1, 5), (2, 1), (7, 3), (13, 31), (64, 65), (257, 3), (100, 129)];

#[test]
fn batch_norm_matches_reference_in_training_and_eval() {
    for (s, &(n, d)) in SHAPES.iter().enumerate() {
        for affine in [true, false] {
            for training in [true, false] {
                for relu in [false, true] {
                    check_batch_norm(300 + s as u64, (n, d), affine, BatchNormMode { training, relu });
                }
            }
        }
    }
}

/// One BatchNorm forward and backward (twice: written, then accumulated) against the reference, with the
/// ReLU fused when the mode says so (reference: BatchNorm, then ReLU; backward through the ReLU's mask).
fn check_batch_norm(seed: u64, (n, d): (usize, usize), affine: bool, mode: BatchNormMode) {
    let mut r = rng(seed);
    let x: Vec<f32> = uniform(&mut r, n * d).iter().map(|v| 3.0 * v + 0.5).collect();
    let (gamma, beta, dy) = (uniform(&mut r, d), uniform(&mut r, d), uniform(&mut r, n * d));
    let rm = uniform(&mut r, d);
    let rv: Vec<f32> = uniform(&mut r, d).iter().map(|v| v.abs() + 0.5).collect();
    let cfg = BatchNormConfig { eps: 1e-5, momentum: 0.1, affine };
    let (tx, tg, tb, tdy) = (up(&[n, d], &x), up(&[d], &gamma), up(&[d], &beta), up(&[n, d], &dy));
    let (trm, trv) = (up(&[d], &rm), up(&[d], &rv));
    let g = gpu();
    let (ty, tdx) = (g.empty(&[n, d]).unwrap(), g.empty(&[n, d]).unwrap());
    let (tmean, tinv, tdg, tdb) =
        (g.empty(&[d]).unwrap(), g.empty(&[d]).unwrap(), g.empty(&[d]).unwrap(), g.empty(&[d]).unwrap());
    let state = BatchNormState {
        gamma: affine.then_some(&tg),
        beta: affine.then_some(&tb),
        running_mean: &trm,
        running_var: &trv,
    };
    let saved = BatchNormSaved { mean: &tmean, invstd: &tinv };
    // A second backward adds its affine gradients to what these hold (gamma and beta here).
    let (tdg_acc, tdb_acc) = (up(&[d], &gamma), up(&[d], &beta));
    run(|rec| {
        batch_norm_forward(rec, cfg, mode, &tx, &state, &ty, &saved)?;
        for (grads, accumulate) in [((&tdg, &tdb), false), ((&tdg_acc, &tdb_acc), true)] {
            let params = affine.then_some((&tg, &tb));
            batch_norm_backward(rec, cfg, mode, &tdy, &tx, &saved, params, &tdx, affine.then_some(grads), accumulate)?;
        }
        Ok(())
    });
    let rcfg = rbn::BatchNormConfig { eps: 1e-5, momentum: 0.1, affine };
    let (mut wrm, mut wrv) = (f64s(&rm), f64s(&rv));
    let (pre, wsaved) = rbn::batch_norm_forward(
        rcfg,
        mode.training,
        &f64s(&x),
        (n, d),
        &f64s(&gamma),
        &f64s(&beta),
        &mut wrm,
        &mut wrv,
    );
    let y = down(&ty);
    // The ReLU's mask is the device's (y > 0), so that values within roundoff of 0 cannot flip it; the
    // forward check below ties y to the reference.
    let (wy, wdy) = if mode.relu {
        let wy: Vec<f64> = pre.iter().map(|&v| v.max(0.0)).collect();
        let masked = dy.iter().zip(&y).map(|(&g, &v)| if v > 0.0 { f64::from(g) } else { 0.0 }).collect();
        (wy, masked)
    } else {
        (pre, f64s(&dy))
    };
    let (wdx, wdg, wdb) =
        rbn::batch_norm_backward(rcfg, mode.training, &wdy, &f64s(&x), (n, d), &wsaved, &f64s(&gamma));
    let what = format!("batch_norm {n}x{d} affine={affine} {mode:?}");
    // n = 1 in training normalises every value to exactly 0 and leaves tiny roundoff.
    assert_close(&format!("{what} y"), &y, &wy, 2e-4, 1e-4);
    assert_close(&format!("{what} running_mean"), &down(&trm), &wrm, 1e-5, 1e-5);
    assert_close(&format!("{what} running_var"), &down(&trv), &wrv, 1e-5, 1e-5);
    assert_close(&format!("{what} dx"), &down(&tdx), &wdx, 2e-4, 1e-3);
    if affine {
        assert_close(&format!("{what} dgamma"), &down(&tdg), &wdg, 1e-4, 1e-4);
        assert_close(&format!("{what} dbeta"), &down(&tdb), &wdb, 1e-4, 1e-4);
        let plus = |w: &[f64], v: &[f32]| w.iter().zip(v).map(|(a, &b)| a + f64::from(b)).collect::<Vec<_>>();
        assert_close(&format!("{what} dgamma accumulated"), &down(&tdg_acc), &plus(&wdg, &gamma), 1e-4, 1e-4);
        assert_close(&format!("{what} dbeta accumulated"), &down(&tdb_acc), &plus(&wdb, &beta), 1e-4, 1e-4);
    }
}

/// An f16 output (mixed precision's stored activation) holds the f32 output rounded to f16, for every
/// width (odd ones pad their rows), with and without the ReLU, and the statistics are the f32 ones.
#[test]
fn batch_norm_writes_an_f16_output() {
    for (s, &(n, d)) in SHAPES.iter().enumerate() {
        for relu in [false, true] {
            let mode = BatchNormMode { training: true, relu };
            let mut r = rng(900 + s as u64);
            let x: Vec<f32> = uniform(&mut r, n * d).iter().map(|v| 3.0 * v + 0.5).collect();
            let (gamma, beta) = (uniform(&mut r, d), uniform(&mut r, d));
            let g = gpu();
            let cfg = BatchNormConfig::default();
            let (tx, tg, tb) = (up(&[n, d], &x), up(&[d], &gamma), up(&[d], &beta));
            let stats =
                [g.zeros(&[d]).unwrap(), g.zeros(&[d]).unwrap(), g.zeros(&[d]).unwrap(), g.zeros(&[d]).unwrap()];
            let ty = g.empty(&[n, d]).unwrap();
            let th = HalfMatrix::empty(g, n, d).unwrap();
            let (tmean, tinv) = (g.empty(&[d]).unwrap(), g.empty(&[d]).unwrap());
            let (hmean, hinv) = (g.empty(&[d]).unwrap(), g.empty(&[d]).unwrap());
            run(|rec| {
                let state =
                    |rm, rv| BatchNormState { gamma: Some(&tg), beta: Some(&tb), running_mean: rm, running_var: rv };
                let saved = BatchNormSaved { mean: &tmean, invstd: &tinv };
                batch_norm_forward(rec, cfg, mode, &tx, &state(&stats[0], &stats[1]), &ty, &saved)?;
                let saved = BatchNormSaved { mean: &hmean, invstd: &hinv };
                batch_norm_forward(rec, cfg, mode, &tx, &state(&stats[2], &stats[3]), &th, &saved)
            });
            let want: Vec<f32> = down(&ty).iter().map(|&v| Precision::F16.round(v)).collect();
            let what = format!("batch_norm f16 output {n}x{d} relu={relu}");
            assert_eq!(th.download(g).unwrap(), want, "{what}");
            assert_eq!(down(&hmean), down(&tmean), "{what}: mean");
            assert_eq!(down(&hinv), down(&tinv), "{what}: invstd");
            assert_eq!(down(&stats[3]), down(&stats[1]), "{what}: running variance");
        }
    }
}

#[test]
fn layer_norm_matches_reference() {
    for (s, &(n, d)) in SHAPES.iter().enumerate() {
        for affine in [true, false] {
            let mut r = rng(400 + s as u64);
            let x: Vec<f32> = uniform(&mut r, n * d).iter().map(|v| 2.0 * v - 0.3).collect();
            let (gamma, beta, dy) = (uniform(&mut r, d), uniform(&mut r, d), uniform(&mut r, n * d));
            let g = gpu();
            let (tx, tg, tb, tdy) = (up(&[n, d], &x), up(&[d], &gamma), up(&[d], &beta), up(&[n, d], &dy));
            let (ty, tdx) = (g.empty(&[n, d]).unwrap(), g.empty(&[n, d]).unwrap());
            let (tmean, tinv) = (g.empty(&[n]).unwrap(), g.empty(&[n]).unwrap());
            let (tdg, tdb) = (g.empty(&[d]).unwrap(), g.empty(&[d]).unwrap());
            let saved = LayerNormSaved { mean: &tmean, invstd: &tinv };
            run(|rec| {
                layer_norm_forward(rec, 1e-5, &tx, affine.then_some((&tg, &tb)), &ty, &saved)?;
                layer_norm_backward(rec, &tdy, &tx, &saved, affine.then_some(&tg), &tdx, Some((&tdg, &tdb)))
            });
            let (wy, ws) = rln::layer_norm_forward(&f64s(&x), (n, d), 1e-5, affine, &f64s(&gamma), &f64s(&beta));
            let (wdx, wdg, wdb) = rln::layer_norm_backward(&f64s(&dy), &f64s(&x), (n, d), &ws, affine, &f64s(&gamma));
            let what = format!("layer_norm {n}x{d} affine={affine}");
            assert_close(&format!("{what} y"), &down(&ty), &wy, 2e-4, 1e-4);
            assert_close(&format!("{what} dx"), &down(&tdx), &wdx, 2e-4, 1e-3);
            assert_close(&format!("{what} dgamma"), &down(&tdg), &wdg, 1e-4, 1e-4);
            assert_close(&format!("{what} dbeta"), &down(&tdb), &wdb, 1e-4, 1e-4);
        }
    }
}

#[test]
fn l2_normalize_matches_reference_including_zero_rows() {
    for (s, &(n, d)) in SHAPES.iter().enumerate() {
        let mut r = rng(500 + s as u64);
        let mut x = uniform(&mut r, n * d);
        // A zero row exercises the eps branch.
        x[..d].fill(0.0);
        let dy = uniform(&mut r, n * d);
        let g = gpu();
        let (tx, tdy) = (up(&[n, d], &x), up(&[n, d], &dy));
        let (ty, tdx, tnorm) = (g.empty(&[n, d]).unwrap(), g.empty(&[n, d]).unwrap(), g.empty(&[n]).unwrap());
        let eps = 1e-6;
        run(|rec| {
            l2_normalize_forward(rec, eps, &tx, &ty, &tnorm)?;
            l2_normalize_backward(rec, eps, &tdy, &ty, &tnorm, &tdx)
        });
        let (wy, wn) = rl2::l2_normalize_forward(&f64s(&x), d, f64::from(eps));
        let wdx = rl2::l2_normalize_backward(&f64s(&dy), &wy, &wn, d, f64::from(eps));
        assert_close(&format!("l2_normalize {n}x{d} y"), &down(&ty), &wy, 1e-6, 1e-5);
        assert_close(&format!("l2_normalize {n}x{d} norm"), &down(&tnorm), &wn, 1e-6, 1e-5);
        assert_close(&format!("l2_normalize {n}x{d} dx"), &down(&tdx), &wdx, 1e-4, 1e-4);
    }
}

/// Batches of rows far beyond one invocation's loop budget on llvmpipe (65,535 iterations): a kernel that
/// loops over every row in one invocation silently stops there (found on a 32-image 32×32 convolution's
/// BatchNorm, 32,768 rows). Row counts around the 4,096-row chunks.
#[test]
fn batch_norm_handles_batches_of_any_length() {
    for (s, n) in [4095usize, 4096, 4097, 70001].into_iter().enumerate() {
        for training in [true, false] {
            check_batch_norm(950 + s as u64, (n, 5), true, BatchNormMode { training, relu: true });
        }
    }
}
