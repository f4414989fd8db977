//! Convolution (forward, backward-data, backward-weight) and pooling against `tandem_reference::{conv2d,
//! pool}` on every GEMM variant, on awkward shapes, and with staging windows small enough to split images.

use tandem::kernels::Precision;
use tandem::kernels::conv2d::{Conv2d, Conv2dShape, Layout, WINDOW_BYTES};
use tandem::kernels::gemm::GemmVariant;
use tandem::kernels::pool::{Pool2d, PoolKind};
use tandem::reference::conv2d as rconv;
use tandem::reference::pool as rpool;

use crate::common::*;

/// `(batch, c_in, h, w, c_out, k, stride, pad, layout)`.
type Case = (usize, usize, usize, usize, usize, usize, usize, usize, Layout);

const CASES: &[Case] = &[
    (1, 1, 1, 1, 1, 1, 1, 0, Layout::Nhwc),
    (1, 3, 5, 5, 2, 3, 1, 1, Layout::Nchw),
    (2, 3, 7, 6, 5, 3, 2, 1, Layout::Nchw),
    (3, 5, 9, 9, 7, 1, 1, 0, Layout::Nhwc),
    (2, 4, 8, 8, 6, 1, 2, 0, Layout::Nhwc),
    (1, 7, 11, 13, 67, 3, 1, 1, Layout::Nhwc),
    (2, 16, 10, 10, 65, 3, 2, 1, Layout::Nhwc),
    (1, 3, 16, 15, 8, 7, 2, 3, Layout::Nchw),
    (5, 2, 3, 4, 3, 3, 1, 1, Layout::Nhwc),
    (2, 3, 20, 19, 5, 3, 2, 1, Layout::Nchw),
];

fn shapes(&(batch, c_in, h, w, c_out, k, stride, pad, input): &Case) -> (Conv2dShape, rconv::Conv2dShape) {
    let s = Conv2dShape { batch, c_in, h, w, c_out, kh: k, kw: k, stride, pad, input };
    let r = rconv::Conv2dShape { batch, c_in, h, w, c_out, kh: k, kw: k, stride, pad, nchw: input == Layout::Nchw };
    (s, r)
}

fn check(conv: Conv2d, r: &rconv::Conv2dShape, seed: u64) {
    let s = conv.shape;
    let mut g = rng(seed);
    let x = uniform(&mut g, s.input_len());
    let w = uniform(&mut g, s.c_out * s.k());
    let dy = uniform(&mut g, s.positions() * s.c_out);
    let dx0 = uniform(&mut g, s.input_len());
    let (tx, tw, tdy) = (up(&[s.input_len()], &x), up(&[s.c_out, s.k()], &w), up(&[s.positions(), s.c_out], &dy));
    let ty = gpu().empty(&[s.positions(), s.c_out]).unwrap();
    let (tdx, tdx_acc) = (up(&[s.input_len()], &dx0), up(&[s.input_len()], &dx0));
    let dw0 = uniform(&mut g, s.c_out * s.k());
    let (tdw, tdw_acc) = (up(&[s.c_out, s.k()], &dw0), up(&[s.c_out, s.k()], &dw0));
    run(|rec| {
        conv.forward(rec, &tx, &tw, &ty)?;
        conv.backward_data(rec, &tdy, &tw, &tdx, false)?;
        conv.backward_data(rec, &tdy, &tw, &tdx_acc, true)?;
        conv.backward_weight(rec, &tx, &tdy, &tdw, false)?;
        conv.backward_weight(rec, &tx, &tdy, &tdw_acc, true)
    });
    // The reference sees the weight and the input as the products do (rounded to f16 in mixed precision).
    let rounded = |v: &[f32]| f64s(&v.iter().map(|&a| conv.precision.round(a)).collect::<Vec<_>>());
    let (x, w) = (rounded(&x), rounded(&w));
    let want_y = rconv::conv2d_forward(r, &x, &w);
    let want_dx = rconv::conv2d_backward_data(r, &f64s(&dy), &w);
    let want_dx_acc: Vec<f64> = want_dx.iter().zip(&dx0).map(|(a, &b)| a + f64::from(b)).collect();
    let want_dw = rconv::conv2d_backward_weight(r, &x, &f64s(&dy));
    let what = format!("{:?} {} window {} {s:?}", conv.variant, conv.precision, conv.window_bytes);
    let tol = 1e-5 * (s.k().max(s.positions()) as f64).sqrt();
    assert_close(&format!("{what} y"), &down(&ty), &want_y, tol, tol);
    assert_close(&format!("{what} dx"), &down(&tdx), &want_dx, tol, tol);
    assert_close(&format!("{what} dx accumulated"), &down(&tdx_acc), &want_dx_acc, tol, tol);
    assert_close(&format!("{what} dw"), &down(&tdw), &want_dw, tol, tol);
    let want_dw_acc: Vec<f64> = want_dw.iter().zip(&dw0).map(|(a, &b)| a + f64::from(b)).collect();
    assert_close(&format!("{what} dw accumulated"), &down(&tdw_acc), &want_dw_acc, tol, tol);
}

#[test]
fn conv2d_matches_reference_on_every_variant() {
    for (i, case) in CASES.iter().enumerate() {
        let (s, r) = shapes(case);
        for variant in GemmVariant::supported(gpu()) {
            check(
                Conv2d { shape: s, variant, window_bytes: WINDOW_BYTES, precision: Precision::F32 },
                &r,
                500 + i as u64,
            );
        }
    }
}

/// Mixed precision: the weight and the input enter every pass as f16 (the output gradient stays f32); each
/// pass equals the f64 reference on operands rounded to the nearest f16, on every variant, whole and in
/// windows that split images.
#[test]
fn conv2d_with_f16_operands_matches_the_reference_on_rounded_operands() {
    for (i, case) in CASES.iter().enumerate() {
        let (s, r) = shapes(case);
        for variant in GemmVariant::supported(gpu()) {
            for window_bytes in [WINDOW_BYTES, 1 << 10] {
                let conv = Conv2d { shape: s, variant, window_bytes, precision: Precision::F16 };
                check(conv, &r, 700 + i as u64);
            }
        }
    }
}

#[test]
fn conv2d_in_windows_that_split_images_matches_reference() {
    // 1 KiB windows: 64 positions each, which split the images of more than 64 output positions (cases
    // 5 and 9) and share images between windows; 64 KiB: whole images per window.
    for (i, case) in [CASES[2], CASES[5], CASES[6], CASES[8], CASES[9]].iter().enumerate() {
        let (s, r) = shapes(case);
        for variant in GemmVariant::supported(gpu()) {
            for window_bytes in [1 << 10, 64 << 10] {
                check(Conv2d { shape: s, variant, window_bytes, precision: Precision::F32 }, &r, 600 + i as u64);
            }
        }
    }
}

#[test]
fn pooling_matches_reference() {
    // (kind, batch, c, h, w, k, stride, pad); the last two are global average pools.
    let cases = [
        (PoolKind::Max, 2, 3, 7, 5, 3, 2, 1),
        (PoolKind::Max, 1, 1, 1, 1, 1, 1, 0),
        (PoolKind::Max, 3, 5, 8, 8, 2, 2, 0),
        (PoolKind::Avg, 2, 3, 7, 5, 3, 2, 1),
        (PoolKind::Avg, 1, 67, 6, 9, 2, 1, 1),
        (PoolKind::Avg, 3, 65, 4, 4, 4, 1, 0),
        (PoolKind::Avg, 2, 7, 1, 1, 1, 1, 0),
    ];
    for (i, &(kind, batch, c, h, w, k, stride, pad)) in cases.iter().enumerate() {
        let p = Pool2d { kind, batch, c, h, w, kh: k, kw: k, stride, pad };
        let r = rpool::Pool2d { max: kind == PoolKind::Max, batch, c, h, w, kh: k, kw: k, stride, pad };
        let mut g = rng(700 + i as u64);
        let mut x = uniform(&mut g, p.input_len());
        // Ties, which max pooling must break like PyTorch (first in window order).
        x[0] = 0.5;
        if x.len() > c {
            x[c] = 0.5;
        }
        let dy = uniform(&mut g, p.output_len());
        let (tx, tdy) = (up(&[p.input_len()], &x), up(&[p.output_len()], &dy));
        let (ty, tdx) = (gpu().empty(&[p.output_len()]).unwrap(), gpu().empty(&[p.input_len()]).unwrap());
        run(|rec| {
            p.forward(rec, &tx, &ty)?;
            p.backward(rec, &tx, &tdy, &tdx)
        });
        let what = format!("{p:?}");
        assert_close(&format!("{what} y"), &down(&ty), &rpool::pool_forward(&r, &f64s(&x)), 1e-6, 1e-6);
        let want_dx = rpool::pool_backward(&r, &f64s(&x), &f64s(&dy));
        assert_close(&format!("{what} dx"), &down(&tdx), &want_dx, 1e-6, 1e-6);
    }
    let global = Pool2d::global_avg(2, 3, 4, 5);
    assert_eq!((global.out_h(), global.out_w(), global.output_len()), (1, 1, 6));
}
