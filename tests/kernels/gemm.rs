//! GEMM against `tandem_reference::gemm` for every variant and transpose, on awkward shapes.

use tandem::kernels::Precision;
use tandem::kernels::gemm::{Gemm, GemmVariant};
use tandem::reference::gemm as reference;

use crate::common::*;

/// Runs `op` and compares it with the f64 reference on operands rounded as `op.precision` says; returns
/// the output and the reference on the unrounded operands.
fn check(variant: GemmVariant, (m, n, k): (usize, usize, usize), op: Gemm, seed: u64) -> (Vec<f32>, Vec<f64>) {
    let mut r = rng(seed);
    let a = uniform(&mut r, m * k);
    let b = uniform(&mut r, k * n);
    let c0 = uniform(&mut r, m * n);
    let (ta, tb, tc) = (up(&op.a_shape(m, k), &a), up(&op.b_shape(k, n), &b), up(&[m, n], &c0));
    run(|rec| op.record_variant(rec, variant, &ta, &tb, &tc));
    let product = |a: &[f32], b: &[f32]| {
        let mut want = f64s(&c0);
        let (a, b) = (f64s(a), f64s(b));
        reference::gemm(&a, &b, &mut want, (m, n, k), op.trans_a, op.trans_b, op.alpha.into(), op.beta.into());
        want
    };
    let rounded = |v: &[f32], p: Precision| v.iter().map(|&x| p.round(x)).collect::<Vec<_>>();
    let want = product(&rounded(&a, op.precision[0]), &rounded(&b, op.precision[1]));
    let tol = 2e-6 * (k as f64).sqrt().max(1.0);
    let got = down(&tc);
    assert_close(&format!("{variant:?} {op:?} m={m} n={n} k={k}"), &got, &want, tol, tol);
    (got, product(&a, &b))
}

const SHAPES: &[(usize, usize, usize)] = &[
    (1, 1, 1),
    (1, 7, 3),
    (5, 1, 2),
    (13, 17, 1),
    (31, 67, 29),
    (33, 65, 17),
    (64, 64, 64),
    (100, 37, 129),
    (127, 131, 61),
    (257, 70, 5),
];

fn all_ops() -> [Gemm; 5] {
    [
        Gemm::nn(),
        Gemm::tn(),
        Gemm::nt(),
        Gemm { trans_a: true, trans_b: true, ..Gemm::default() },
        Gemm { alpha: -0.5, beta: 1.5, ..Gemm::nt() },
    ]
}

#[test]
fn gemm_matches_reference_on_awkward_shapes() {
    for variant in GemmVariant::supported(gpu()) {
        for (i, &dims) in SHAPES.iter().enumerate() {
            for (j, op) in all_ops().into_iter().enumerate() {
                check(variant, dims, op, (i * 10 + j) as u64);
            }
        }
    }
}

#[test]
fn gemm_matches_reference_on_random_shapes() {
    let mut r = rng(99);
    for variant in GemmVariant::supported(gpu()) {
        for s in 0..12 {
            use rand::Rng;
            let dims = (r.random_range(1..200), r.random_range(1..200), r.random_range(1..200));
            let op = all_ops()[s % 5];
            check(variant, dims, op, 1000 + s as u64);
        }
    }
}

/// f16 operands (mixed precision) in every combination, variant and transpose: the product equals the f64
/// product of the operands rounded to the nearest f16 to f32 accumulation accuracy, and visibly differs
/// from the product of the unrounded operands (the operands really are rounded).
#[test]
fn gemm_with_f16_operands_matches_the_reference_on_rounded_operands() {
    use Precision::{F16, F32};
    let shapes = [(1, 1, 1), (13, 17, 1), (31, 67, 29), (65, 63, 130), (127, 131, 61), (257, 70, 5)];
    for variant in GemmVariant::supported(gpu()) {
        for (i, &dims) in shapes.iter().enumerate() {
            for (j, op) in all_ops().into_iter().enumerate() {
                for (h, (pa, pb)) in [(F16, F16), (F32, F16), (F16, F32)].into_iter().enumerate() {
                    let (got, unrounded) =
                        check(variant, dims, op.with_precision(pa, pb), (i * 100 + j * 10 + h) as u64);
                    if dims.2 >= 29 {
                        let off =
                            got.iter().zip(&unrounded).map(|(&g, &u)| (f64::from(g) - u).abs()).fold(0.0, f64::max);
                        assert!(
                            off > 1e-4,
                            "{variant:?} {pa}x{pb} {dims:?}: no sign of f16 rounding (max deviation {off:e})"
                        );
                    }
                }
            }
        }
    }
}

/// The bias epilogue (a Linear layer's forward in one kernel): `C = alpha op(A) op(B) + beta C + bias`, the
/// bias broadcast over rows, for every variant, with f32 and f16 operands, on awkward shapes.
#[test]
fn gemm_adds_a_bias_to_every_row_in_its_epilogue() {
    let shapes = [(1, 1, 1), (13, 17, 5), (65, 63, 70), (127, 131, 61), (257, 70, 33)];
    for variant in GemmVariant::supported(gpu()) {
        for (i, &(m, n, k)) in shapes.iter().enumerate() {
            for (j, op) in [Gemm::nt(), Gemm { alpha: -0.5, beta: 1.5, ..Gemm::nn() }].into_iter().enumerate() {
                for p in [Precision::F32, Precision::F16] {
                    let op = op.with_precision(p, p);
                    let mut r = rng((i * 10 + j) as u64 + 500);
                    let (a, b, c0, bias) =
                        (uniform(&mut r, m * k), uniform(&mut r, k * n), uniform(&mut r, m * n), uniform(&mut r, n));
                    let (ta, tb, tc) = (up(&op.a_shape(m, k), &a), up(&op.b_shape(k, n), &b), up(&[m, n], &c0));
                    let tbias = up(&[n], &bias);
                    run(|rec| op.record_with(rec, variant, ((&ta).into(), (&tb).into(), &tc), None, Some(&tbias)));
                    let rounded = |v: &[f32]| f64s(&v.iter().map(|&x| p.round(x)).collect::<Vec<_>>());
                    let mut want = f64s(&c0);
                    let (alpha, beta) = (op.alpha.into(), op.beta.into());
                    reference::gemm(
                        &rounded(&a),
                        &rounded(&b),
                        &mut want,
                        (m, n, k),
                        op.trans_a,
                        op.trans_b,
                        alpha,
                        beta,
                    );
                    for (row, w) in want.chunks_mut(n).zip(std::iter::repeat(&bias)) {
                        for (x, &bj) in row.iter_mut().zip(w) {
                            *x += f64::from(bj);
                        }
                    }
                    let tol = 2e-6 * (k as f64).sqrt().max(1.0);
                    assert_close(&format!("{variant:?} {op:?} + bias m={m} n={n} k={k}"), &down(&tc), &want, tol, tol);
                }
            }
        }
    }
}

#[test]
fn gemm_on_a_window_reads_and_writes_only_the_window() {
    use tandem::kernels::gemm::GemmWindow;
    let (m, n, k, a_at, c_at) = (37, 19, 23, 5 * 23, 3 * 19);
    let mut r = rng(77);
    let (a, b) = (uniform(&mut r, a_at + m * k + 11), uniform(&mut r, k * n));
    let c0 = uniform(&mut r, c_at + m * n + 7);
    for variant in GemmVariant::supported(gpu()) {
        let (ta, tb, tc) = (up(&[a.len()], &a), up(&[k, n], &b), up(&[c0.len()], &c0));
        let w = GemmWindow { a_offset: a_at, c_offset: c_at, ..GemmWindow::dense(m, n, k) };
        run(|rec| Gemm::nn().accumulate().record_window_variant(rec, variant, &ta, &tb, &tc, w));
        let mut want = f64s(&c0);
        let window = &mut want[c_at..c_at + m * n];
        reference::gemm(&f64s(&a[a_at..a_at + m * k]), &f64s(&b), window, (m, n, k), false, false, 1.0, 1.0);
        assert_close(&format!("{variant:?} window"), &down(&tc), &want, 1e-5, 1e-5);
    }
}

#[test]
fn gemm_on_strided_blocks_of_wider_matrices() {
    use tandem::kernels::gemm::GemmWindow;
    // op(A) is columns 3..3+k of a matrix whose rows are lda long (transposed: rows of the stored (K, M)
    // block); C is columns 5..5+n of rows ldc long. Everything outside the block must stay untouched.
    let (m, n, k, lda, ldc) = (37, 19, 23, 61, 29);
    for trans_a in [false, true] {
        let mut r = rng(78);
        let (rows, cols) = if trans_a { (k, m) } else { (m, k) };
        let a = uniform(&mut r, rows * lda);
        let b = uniform(&mut r, k * n);
        let c0 = uniform(&mut r, m * ldc);
        let block: Vec<f32> = (0..rows).flat_map(|i| a[i * lda + 3..i * lda + 3 + cols].to_vec()).collect();
        for variant in GemmVariant::supported(gpu()) {
            let (ta, tb, tc) = (up(&[a.len()], &a), up(&[k, n], &b), up(&[c0.len()], &c0));
            let w =
                GemmWindow { a_offset: 3, c_offset: 5, lda: Some(lda), ldc: Some(ldc), ..GemmWindow::dense(m, n, k) };
            let op = Gemm { trans_a, beta: 1.0, ..Gemm::default() };
            run(|rec| op.record_window_variant(rec, variant, &ta, &tb, &tc, w));
            let mut out = vec![0.0; m * n];
            for i in 0..m {
                for j in 0..n {
                    out[i * n + j] = f64::from(c0[5 + i * ldc + j]);
                }
            }
            reference::gemm(&f64s(&block), &f64s(&b), &mut out, (m, n, k), trans_a, false, 1.0, 1.0);
            let mut want = f64s(&c0);
            for i in 0..m {
                for j in 0..n {
                    want[5 + i * ldc + j] = out[i * n + j];
                }
            }
            assert_close(&format!("{variant:?} trans_a={trans_a} strided"), &down(&tc), &want, 1e-5, 1e-5);
        }
    }
}

#[test]
fn a_shared_b_is_packed_once_per_recording_until_something_writes_it() {
    shared_b_reuse(Precision::F32);
    shared_b_reuse(Precision::F16);
}

/// `record_shared_b` with B entering at `precision`: packed once, reused, packed again after a write.
fn shared_b_reuse(precision: Precision) {
    let g = gpu();
    let (m, n, k) = (70, 45, 33);
    let mut r = rng(91);
    let (a1, a2, b) = (uniform(&mut r, m * k), uniform(&mut r, m * k), uniform(&mut r, n * k));
    let (ta1, ta2, tb) = (up(&[m, k], &a1), up(&[m, k], &a2), up(&[n, k], &b));
    let (c1, c2, c3) = (up(&[m, n], &vec![0.0; m * n]), up(&[m, n], &vec![0.0; m * n]), up(&[m, n], &vec![0.0; m * n]));
    let panels = tandem::kernels::gemm::shared_b_panels(g, k, n, precision).unwrap();
    let op = Gemm::nt().with_precision(Precision::F32, precision);
    let mut rec = tandem::gpu::Recorder::new(g);
    op.record_shared_b(&mut rec, ((&ta1).into(), (&tb).into(), &c1), panels.as_ref(), None).unwrap();
    let first = rec.dispatches();
    op.record_shared_b(&mut rec, ((&ta2).into(), (&tb).into(), &c2), panels.as_ref(), None).unwrap();
    let second = rec.dispatches() - first;
    // B changes inside the recording (B += B): the next product must see the new values. (The copy of B
    // lives until the submission: a tensor dropped mid-recording could be handed to another test's thread.)
    let tb_copy = up(&[n, k], &b);
    tandem::kernels::axpy::axpy(&mut rec, 1.0, &tb_copy, &tb).unwrap();
    op.record_shared_b(&mut rec, ((&ta1).into(), (&tb).into(), &c3), panels.as_ref(), None).unwrap();
    let third = rec.dispatches() - first - second;
    rec.submit().unwrap();
    if panels.is_some() {
        // pack A + pack B + main; B reused; the axpy, then B packed again.
        assert_eq!((first, second, third), (3, 2, 4), "dispatches per product ({precision})");
    }
    let product = |a: &[f32], scale: f64| {
        let mut want = vec![0.0; m * n];
        let b: Vec<f32> = b.iter().map(|&x| precision.round(x)).collect();
        reference::gemm(&f64s(a), &f64s(&b), &mut want, (m, n, k), false, true, scale, 0.0);
        want
    };
    let tol = 2e-6 * (k as f64).sqrt();
    assert_close("first product", &down(&c1), &product(&a1, 1.0), tol, tol);
    assert_close("second product, B reused", &down(&c2), &product(&a2, 1.0), tol, tol);
    assert_close("after B was written", &down(&c3), &product(&a1, 2.0), tol, tol);
}

/// Operands already stored as f16 (mixed precision's saved activations, odd widths padding their rows) in
/// every variant, transpose and combination: the product equals the f64 product of the rounded operands,
/// and is bit-identical to the same product of f32-stored operands entering at f16.
#[test]
fn gemm_reads_operands_stored_as_f16() {
    use tandem::kernels::{HalfMatrix, MatrixRef};
    let shapes = [(1, 1, 1), (13, 17, 3), (31, 67, 29), (65, 63, 130), (127, 131, 61)];
    for variant in GemmVariant::supported(gpu()) {
        for (i, &(m, n, k)) in shapes.iter().enumerate() {
            for (j, op) in all_ops().into_iter().enumerate() {
                for (h, stored) in [[true, false], [false, true], [true, true]].into_iter().enumerate() {
                    let p = |s: bool| if s { Precision::F16 } else { Precision::F32 };
                    let op = op.with_precision(p(stored[0]), p(stored[1]));
                    let mut r = rng((i * 100 + j * 10 + h) as u64 + 700);
                    let (a, b, c0) = (uniform(&mut r, m * k), uniform(&mut r, k * n), uniform(&mut r, m * n));
                    let (a_shape, b_shape) = (op.a_shape(m, k), op.b_shape(k, n));
                    let (ta, tb) = (up(&a_shape, &a), up(&b_shape, &b));
                    let ha = HalfMatrix::upload(gpu(), (a_shape[0], a_shape[1]), &a).unwrap();
                    let hb = HalfMatrix::upload(gpu(), (b_shape[0], b_shape[1]), &b).unwrap();
                    let a_op = if stored[0] { MatrixRef::F16(&ha) } else { MatrixRef::F32(&ta) };
                    let b_op = if stored[1] { MatrixRef::F16(&hb) } else { MatrixRef::F32(&tb) };
                    let (tc, tc_f32) = (up(&[m, n], &c0), up(&[m, n], &c0));
                    run(|rec| {
                        op.record_with(rec, variant, (a_op, b_op, &tc), None, None)?;
                        op.record_with(rec, variant, ((&ta).into(), (&tb).into(), &tc_f32), None, None)
                    });
                    let what = format!("{variant:?} {op:?} stored f16 {stored:?} m={m} n={n} k={k}");
                    let rounded = |v: &[f32], s: bool| f64s(&v.iter().map(|&x| p(s).round(x)).collect::<Vec<_>>());
                    let mut want = f64s(&c0);
                    let (alpha, beta) = (op.alpha.into(), op.beta.into());
                    let (ra, rb) = (rounded(&a, stored[0]), rounded(&b, stored[1]));
                    reference::gemm(&ra, &rb, &mut want, (m, n, k), op.trans_a, op.trans_b, alpha, beta);
                    let tol = 2e-6 * (k as f64).sqrt().max(1.0);
                    assert_close(&what, &down(&tc), &want, tol, tol);
                    assert_eq!(down(&tc), down(&tc_f32), "{what}: differs from f32 storage entering at f16");
                }
            }
        }
    }
}

/// A K longer than one llvmpipe invocation's loop budget (65,535 iterations) is summed over several
/// dispatches: every variant and transpose, with alpha, beta and the bias epilogue. Without the split these
/// came out wrong (max error ~100 at K = 70,000) with no error reported.
#[test]
fn gemm_sums_a_k_beyond_one_invocations_loop_budget() {
    let (m, n, k) = (3, 5, 70_001);
    for variant in GemmVariant::supported(gpu()) {
        for (j, op) in [Gemm::nn(), Gemm::tn(), Gemm { alpha: -0.5, beta: 1.5, ..Gemm::nt() }].into_iter().enumerate() {
            let mut r = rng(1200 + j as u64);
            let (a, b, c0, bias) =
                (uniform(&mut r, m * k), uniform(&mut r, k * n), uniform(&mut r, m * n), uniform(&mut r, n));
            let (ta, tb, tc) = (up(&op.a_shape(m, k), &a), up(&op.b_shape(k, n), &b), up(&[m, n], &c0));
            let tbias = up(&[n], &bias);
            run(|rec| op.record_with(rec, variant, ((&ta).into(), (&tb).into(), &tc), None, Some(&tbias)));
            let mut want = f64s(&c0);
            let (alpha, beta) = (op.alpha.into(), op.beta.into());
            reference::gemm(&f64s(&a), &f64s(&b), &mut want, (m, n, k), op.trans_a, op.trans_b, alpha, beta);
            want.iter_mut().enumerate().for_each(|(i, w)| *w += f64::from(bias[i % n]));
            let tol = 2e-6 * (k as f64).sqrt();
            assert_close(&format!("{variant:?} {op:?} k={k}"), &down(&tc), &want, tol, tol);
        }
    }
}
