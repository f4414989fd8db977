//! Row and column reductions, forward and backward, against the reference.

use tandem::kernels::reduce::{Axis, ReduceOp, reduce_backward, reduce_forward};
use tandem::reference::reduce as rr;

use crate::common::*;

const SHAPES: &[(usize, usize)] = &[(2, 1), (1, 2), (2, 2), (7, 3), (13, 31), (64, 65), (257, 3), (100, 129)];

fn ref_op(op: ReduceOp) -> rr::ReduceOp {
    match op {
        ReduceOp::Sum => rr::ReduceOp::Sum,
        ReduceOp::Mean => rr::ReduceOp::Mean,
        ReduceOp::Var { correction } => rr::ReduceOp::Var { correction },
    }
}

#[test]
fn reductions_match_reference() {
    for (s, &(n, d)) in SHAPES.iter().enumerate() {
        for axis in [Axis::Rows, Axis::Cols] {
            for op in [ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Var { correction: 0 }, ReduceOp::Var { correction: 1 }]
            {
                let raxis = if axis == Axis::Rows { rr::Axis::Rows } else { rr::Axis::Cols };
                let lines = if axis == Axis::Rows { n } else { d };
                let len = if axis == Axis::Rows { d } else { n };
                if matches!(op, ReduceOp::Var { correction } if len as u32 <= correction) {
                    continue; // the unbiased variance of one value is undefined
                }
                let mut r = rng(600 + s as u64);
                let x: Vec<f32> = uniform(&mut r, n * d).iter().map(|v| v + 2.0).collect();
                let dy = uniform(&mut r, lines);
                let g = gpu();
                let (tx, tdy) = (up(&[n, d], &x), up(&[lines], &dy));
                let (tout, tmean, tdx) =
                    (g.empty(&[lines]).unwrap(), g.empty(&[lines]).unwrap(), g.empty(&[n, d]).unwrap());
                run(|rec| {
                    reduce_forward(rec, op, axis, &tx, &tout)?;
                    reduce_forward(rec, ReduceOp::Mean, axis, &tx, &tmean)?;
                    reduce_backward(rec, op, axis, &tx, &tmean, &tdy, &tdx)
                });
                let what = format!("{op:?} {axis:?} {n}x{d}");
                let want = rr::reduce_forward(&f64s(&x), (n, d), ref_op(op), raxis);
                assert_close(&what, &down(&tout), &want, 1e-5, 1e-5);
                let want = rr::reduce_backward(&f64s(&x), (n, d), ref_op(op), raxis, &f64s(&dy));
                assert_close(&format!("{what} backward"), &down(&tdx), &want, 1e-5, 1e-5);
            }
        }
    }
}
