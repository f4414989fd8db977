//! BatchNorm1d, LayerNorm and L2 normalisation, forward and backward, against the reference.

use tandem::kernels::batch_norm::{
    BatchNormConfig, BatchNormSaved, BatchNormState, batch_norm_backward, batch_norm_forward,
};
use tandem::kernels::l2_normalize::{l2_normalize_backward, l2_normalize_forward};
use tandem::kernels::layer_norm::{LayerNormSaved, layer_norm_backward, layer_norm_forward};
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
                let mut r = rng(300 + s as u64);
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
                    batch_norm_forward(rec, cfg, training, &tx, &state, &ty, &saved)?;
                    for (grads, accumulate) in [((&tdg, &tdb), false), ((&tdg_acc, &tdb_acc), true)] {
                        batch_norm_backward(
                            rec,
                            cfg,
                            training,
                            &tdy,
                            &tx,
                            &saved,
                            affine.then_some(&tg),
                            &tdx,
                            affine.then_some(grads),
                            accumulate,
                        )?;
                    }
                    Ok(())
                });
                let rcfg = rbn::BatchNormConfig { eps: 1e-5, momentum: 0.1, affine };
                let (mut wrm, mut wrv) = (f64s(&rm), f64s(&rv));
                let (wy, wsaved) = rbn::batch_norm_forward(
                    rcfg,
                    training,
                    &f64s(&x),
                    (n, d),
                    &f64s(&gamma),
                    &f64s(&beta),
                    &mut wrm,
                    &mut wrv,
                );
                let (wdx, wdg, wdb) =
                    rbn::batch_norm_backward(rcfg, training, &f64s(&dy), &f64s(&x), (n, d), &wsaved, &f64s(&gamma));
                let what = format!("batch_norm {n}x{d} affine={affine} training={training}");
                // n = 1 in training normalises every value to exactly 0 and leaves tiny roundoff.
                assert_close(&format!("{what} y"), &down(&ty), &wy, 2e-4, 1e-4);
                assert_close(&format!("{what} running_mean"), &down(&trm), &wrm, 1e-5, 1e-5);
                assert_close(&format!("{what} running_var"), &down(&trv), &wrv, 1e-5, 1e-5);
                assert_close(&format!("{what} dx"), &down(&tdx), &wdx, 2e-4, 1e-3);
                if affine {
                    assert_close(&format!("{what} dgamma"), &down(&tdg), &wdg, 1e-4, 1e-4);
                    assert_close(&format!("{what} dbeta"), &down(&tdb), &wdb, 1e-4, 1e-4);
                    let plus =
                        |w: &[f64], v: &[f32]| w.iter().zip(v).map(|(a, &b)| a + f64::from(b)).collect::<Vec<_>>();
                    assert_close(
                        &format!("{what} dgamma accumulated"),
                        &down(&tdg_acc),
                        &plus(&wdg, &gamma),
                        1e-4,
                        1e-4,
                    );
                    assert_close(&format!("{what} dbeta accumulated"), &down(&tdb_acc), &plus(&wdb, &beta), 1e-4, 1e-4);
                }
            }
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
