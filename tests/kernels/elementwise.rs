//! Activations, bias add, axpy and scale against the reference, on awkward lengths, and one tensor
//! near the device's storage-binding limit (which also folds the dispatch into two dimensions).

use tandem::kernels::Activation;
use tandem::kernels::{axpy, bias};
use tandem::reference;

use crate::common::*;

const SHAPES: &[(usize, usize)] = &[(1, 1), (1, 7), (7, 1), (13, 31), (64, 65), (257, 3), (100, 129)];

#[test]
fn activations_match_reference() {
    for (s, &(n, d)) in SHAPES.iter().enumerate() {
        let mut r = rng(s as u64);
        let x: Vec<f32> = uniform(&mut r, n * d).iter().map(|v| v * 4.0).collect();
        let dy = uniform(&mut r, n * d);
        let (tx, tdy, ty, tdx) = (up(&[n, d], &x), up(&[n, d], &dy), up(&[n, d], &x), up(&[n, d], &x));
        for act in [Activation::Relu, Activation::Gelu] {
            run(|rec| {
                act.forward(rec, &tx, &ty)?;
                act.backward(rec, &tx, &tdy, &tdx)
            });
            let (fwd, bwd) = match act {
                Activation::Relu => (
                    reference::activation::relu_forward(&f64s(&x)),
                    reference::activation::relu_backward(&f64s(&x), &f64s(&dy)),
                ),
                Activation::Gelu => (
                    reference::activation::gelu_forward(&f64s(&x)),
                    reference::activation::gelu_backward(&f64s(&x), &f64s(&dy)),
                ),
            };
            assert_close(&format!("{act:?} forward {n}x{d}"), &down(&ty), &fwd, 2e-6, 1e-5);
            assert_close(&format!("{act:?} backward {n}x{d}"), &down(&tdx), &bwd, 2e-6, 1e-5);
        }
    }
}

#[test]
fn bias_add_and_its_column_sum_match_reference() {
    for (s, &(n, d)) in SHAPES.iter().enumerate() {
        let mut r = rng(100 + s as u64);
        let (y, b, dy) = (uniform(&mut r, n * d), uniform(&mut r, d), uniform(&mut r, n * d));
        let (ty, tb, tdy, tdb) = (up(&[n, d], &y), up(&[d], &b), up(&[n, d], &dy), up(&[d], &b));
        // Accumulating adds the column sum to what the gradient holds (here: b).
        let tdb_acc = up(&[d], &b);
        run(|rec| {
            bias::bias_add_forward(rec, &tb, &ty)?;
            bias::bias_add_backward(rec, &tdy, &tdb, false)?;
            bias::bias_add_backward(rec, &tdy, &tdb_acc, true)
        });
        let mut want = f64s(&y);
        reference::bias::bias_add_forward(&f64s(&b), &mut want, d);
        assert_close(&format!("bias_add {n}x{d}"), &down(&ty), &want, 1e-6, 1e-6);
        let want = reference::bias::bias_add_backward(&f64s(&dy), d);
        assert_close(&format!("bias backward {n}x{d}"), &down(&tdb), &want, 1e-5, 1e-5);
        let want_acc: Vec<f64> = want.iter().zip(&b).map(|(w, &b0)| w + f64::from(b0)).collect();
        assert_close(&format!("bias backward accumulated {n}x{d}"), &down(&tdb_acc), &want_acc, 1e-5, 1e-5);
    }
}

#[test]
fn axpy_and_scale_match_reference() {
    for (s, &(n, d)) in SHAPES.iter().enumerate() {
        let mut r = rng(200 + s as u64);
        let (x, y) = (uniform(&mut r, n * d), uniform(&mut r, n * d));
        let (tx, ty, tz) = (up(&[n * d], &x), up(&[n * d], &y), up(&[n * d], &y));
        run(|rec| {
            axpy::axpy(rec, -0.75, &tx, &ty)?;
            axpy::scale(rec, 1.5, &tx, &tz)
        });
        let mut want = f64s(&y);
        reference::axpy::axpy(-0.75, &f64s(&x), &mut want);
        assert_close("axpy", &down(&ty), &want, 1e-6, 1e-6);
        assert_close("scale", &down(&tz), &reference::axpy::scale(1.5, &f64s(&x)), 1e-6, 1e-6);
    }
}

#[test]
fn vector_kernels_leave_the_rest_of_a_longer_buffer_alone() {
    // Four elements per thread: a 7-element prefix of a 12-element buffer must keep elements 7..12.
    let (x, y) = ((0..12).map(|i| i as f32).collect::<Vec<_>>(), vec![100.0f32; 12]);
    let (tx, ty) = (up(&[12], &x), up(&[12], &y));
    run(|rec| axpy::axpy(rec, 2.0, &tx.prefix(&[7]), &ty.prefix(&[7])));
    let got = down(&ty);
    let want: Vec<f64> = (0..12).map(|i| if i < 7 { 100.0 + 2.0 * i as f64 } else { 100.0 }).collect();
    assert_close("axpy on a prefix", &got, &want, 0.0, 0.0);
}

#[test]
fn axpy_near_the_storage_binding_limit() {
    let g = gpu();
    // The largest f32 length one binding takes, less a ragged tail; capped so a GPU with a huge limit
    // still runs this in seconds.
    let max_len = (g.limits().max_storage_buffer_binding_size / 4).min(1 << 25) as usize;
    let len = max_len - 3;
    let x: Vec<f32> = (0..len).map(|i| (i % 1000) as f32 * 1e-3).collect();
    let y: Vec<f32> = (0..len).map(|i| (i % 7) as f32).collect();
    let (tx, ty) = (up(&[len], &x), up(&[len], &y));
    run(|rec| axpy::axpy(rec, 2.0, &tx, &ty));
    let got = down(&ty);
    let want: Vec<f64> = x.iter().zip(&y).map(|(a, b)| 2.0 * f64::from(*a) + f64::from(*b)).collect();
    assert_close("axpy near the binding limit", &got, &want, 1e-6, 1e-6);
}
