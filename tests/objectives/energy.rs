use tandem::objectives::{EnergyError, EnergyPlan, Objective};
use tandem::reference::energy::{self as reference, Energy, VicregCoeffs};

use crate::common::*;

fn all() -> [Objective; 5] {
    [
        Objective::InfoNce { temperature: 0.1 },
        Objective::Vicreg { sim: 25.0, std: 25.0, cov: 1.0 },
        Objective::BarlowTwins { lambda: 0.0051 },
        Objective::NegCosine,
        Objective::L2,
    ]
}

fn reference(obj: Objective, a: &[f64], b: &[f64], n: usize, d: usize) -> Energy {
    match obj {
        Objective::InfoNce { temperature } => reference::info_nce(a, b, n, d, temperature.into()),
        Objective::Vicreg { sim, std, cov } => {
            reference::vicreg(a, b, n, d, VicregCoeffs { sim: sim.into(), std: std.into(), cov: cov.into() })
        }
        Objective::BarlowTwins { lambda } => reference::barlow_twins(a, b, n, d, lambda.into()),
        Objective::NegCosine => reference::neg_cosine(a, b, n, d),
        Objective::L2 => reference::l2(a, b, n, d),
    }
}

/// Runs `plan` on (a, b) and returns `[value, terms...]`, grad_a, grad_b.
fn device(plan: &EnergyPlan, a: &[f32], b: &[f32], n: usize, d: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let (ta, tb) = (up(&[n, d], a), up(&[n, d], b));
    let mut rec = tandem::gpu::Recorder::new(gpu());
    plan.record(&mut rec, &ta, &tb).expect("record");
    rec.submit().unwrap();
    (down(plan.values()), down(plan.grad_a()), down(plan.grad_b()))
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

fn check(obj: Objective, n: usize, d: usize, budget: Option<usize>, seed: u64) {
    let mut r = rng(seed);
    let (a, b) = (uniform(&mut r, n * d), uniform(&mut r, n * d));
    let plan = match budget {
        Some(bu) => obj.plan_with_block_budget(gpu(), n, d, bu),
        None => obj.plan(gpu(), n, d),
    }
    .unwrap();
    let (values, ga, gb) = device(&plan, &a, &b, n, d);
    let want = reference(obj, &f64s(&a), &f64s(&b), n, d);
    let what = format!("{} n={n} d={d} budget={budget:?}", obj.name());
    let mut want_values = vec![want.value];
    want_values.extend(want.terms.iter().map(|t| t.1));
    assert_close(&format!("{what} value and terms"), &values, &want_values, 1e-4, 1e-4);
    // Gradients: tolerance relative to the largest entry (sums of many terms in f32).
    let ga_tol = (1e-4 * max_abs(&want.grad_a)).max(2e-6);
    let gb_tol = (1e-4 * max_abs(&want.grad_b)).max(2e-6);
    assert_close(&format!("{what} grad_a"), &ga, &want.grad_a, ga_tol, 1e-3);
    assert_close(&format!("{what} grad_b"), &gb, &want.grad_b, gb_tol, 1e-3);
}

const SHAPES: &[(usize, usize)] = &[(2, 1), (2, 5), (3, 1), (7, 13), (33, 17), (64, 65), (100, 3)];

#[test]
fn every_objective_matches_reference() {
    for (i, &(n, d)) in SHAPES.iter().enumerate() {
        for obj in all() {
            check(obj, n, d, None, 10 * i as u64);
        }
    }
}

#[test]
fn blocked_paths_match_reference() {
    // Budgets far below a binding force many row blocks (InfoNCE), column blocks (d×d matrices) and row
    // windows of the n×d matrices (as for embeddings larger than a binding), including ragged last ones:
    // (37, 29): one window, InfoNCE blocks of 25 + 12 rows; (70, 130): windows 64 + 6, column blocks
    // 64 + 64 + 2; (150, 5): windows 64 + 64 + 22, one-row InfoNCE blocks, column blocks 2 + 2 + 1.
    for obj in all() {
        check(obj, 37, 29, Some(29 * 64), 500);
        check(obj, 70, 130, Some(130 * 64), 501);
        check(obj, 150, 5, Some(5 * 64), 502);
    }
}

#[test]
fn both_routes_through_d_by_d_matrices_match_reference() {
    // VICReg with fewer rows than columns goes through the n×n Gram matrix when the embeddings are one row
    // window, and through d×d column blocks otherwise: the same problem both ways, against the reference.
    let vicreg = Objective::Vicreg { sim: 25.0, std: 25.0, cov: 1.0 };
    check(vicreg, 130, 160, None, 510);
    check(vicreg, 130, 160, Some(160 * 64), 510);
    // A batch far narrower than wide, with a heavier covariance weight (the term dominates the gradient).
    check(Objective::Vicreg { sim: 1.0, std: 1.0, cov: 10.0 }, 24, 300, None, 511);
    // Barlow Twins takes the Gram route when 4n < 3d: the same problem both ways, and a wide one.
    let barlow = Objective::BarlowTwins { lambda: 0.0051 };
    check(barlow, 100, 200, None, 512);
    check(barlow, 100, 200, Some(200 * 64), 512);
    check(Objective::BarlowTwins { lambda: 0.5 }, 24, 300, None, 513);
}

#[test]
fn a_budget_below_one_row_window_is_refused() {
    // Row windows start at multiples of 64 rows; a budget that cannot hold 64 rows of an n×d matrix that
    // needs windowing is refused with the sizes, not dispatched.
    let err = Objective::L2.plan_with_block_budget(gpu(), 100, 10, 500).err().expect("refused");
    assert!(err.to_string().contains("64 rows of 10 columns"), "{err}");
}

#[test]
fn symmetric_objectives_are_symmetric_and_all_are_permutation_invariant() {
    let (n, d) = (9, 6);
    let mut r = rng(77);
    let (a, b) = (uniform(&mut r, n * d), uniform(&mut r, n * d));
    let perm: Vec<usize> = (0..n).rev().collect();
    let permute = |x: &[f32]| -> Vec<f32> { perm.iter().flat_map(|&i| x[i * d..(i + 1) * d].to_vec()).collect() };
    for obj in all() {
        let plan = obj.plan(gpu(), n, d).unwrap();
        let (v, ga, gb) = device(&plan, &a, &b, n, d);
        let (vp, gap, _) = device(&plan, &permute(&a), &permute(&b), n, d);
        assert_close(&format!("{} permuted value", obj.name()), &vp, &f64s(&v), 1e-5, 1e-5);
        assert_close(&format!("{} permuted grad", obj.name()), &gap, &f64s(&permute(&ga)), 1e-5, 1e-4);
        if matches!(
            obj,
            Objective::Vicreg { .. } | Objective::BarlowTwins { .. } | Objective::NegCosine | Objective::L2
        ) {
            let (vs, gas, gbs) = device(&plan, &b, &a, n, d);
            assert_close(&format!("{} swapped value", obj.name()), &vs[..1], &f64s(&v[..1]), 1e-5, 1e-5);
            assert_close(&format!("{} swapped grad_a", obj.name()), &gas, &f64s(&gb), 1e-5, 1e-4);
            assert_close(&format!("{} swapped grad_b", obj.name()), &gbs, &f64s(&ga), 1e-5, 1e-4);
        }
    }
}

#[test]
fn collapsed_and_minimal_inputs_stay_finite() {
    for &(n, d) in &[(2, 1), (2, 4), (16, 8)] {
        let row: Vec<f32> = (0..d).map(|j| 0.3 + j as f32).collect();
        let collapsed: Vec<f32> = (0..n).flat_map(|_| row.clone()).collect();
        let zeros = vec![0.0; n * d];
        for obj in all() {
            let plan = obj.plan(gpu(), n, d).unwrap();
            for (name, a, b) in [("collapsed", &collapsed, &collapsed), ("zero", &zeros, &zeros)] {
                let (v, ga, gb) = device(&plan, a, b, n, d);
                let finite = v.iter().chain(&ga).chain(&gb).all(|x| x.is_finite());
                assert!(finite, "{} on {name} input n={n} d={d}: {v:?}", obj.name());
            }
        }
    }
}

#[test]
fn bad_problems_are_refused_before_dispatch() {
    for obj in all() {
        assert!(matches!(obj.plan(gpu(), 1, 4), Err(EnergyError::TooFewRows { n: 1, .. })), "{}", obj.name());
        assert!(matches!(obj.plan(gpu(), 4, 0), Err(EnergyError::NoColumns { .. })), "{}", obj.name());
    }
    assert!(matches!(
        Objective::InfoNce { temperature: 0.0 }.plan(gpu(), 4, 4),
        Err(EnergyError::InvalidParameter { name: "temperature", .. })
    ));
    let plan = Objective::L2.plan(gpu(), 4, 4).unwrap();
    let (a, b) = (up(&[4, 4], &[0.0; 16]), up(&[4, 3], &[0.0; 12]));
    let mut rec = tandem::gpu::Recorder::new(gpu());
    assert!(matches!(plan.record(&mut rec, &a, &b), Err(EnergyError::ShapeMismatch { .. })));
}

#[test]
fn embeddings_beyond_the_largest_buffer_are_refused_before_dispatch() {
    let g = gpu();
    let d = 8192;
    let n = (g.limits().max_buffer_size / 4) as usize / d + 64;
    for obj in all() {
        match obj.plan(g, n, d) {
            Err(EnergyError::Gpu(tandem::gpu::GpuError::TooLarge { limit_name, bytes, limit, .. })) => {
                assert_eq!(limit_name, "max_buffer_size", "{}", obj.name());
                assert!(bytes > limit, "{}", obj.name());
            }
            Err(e) => panic!("{}: wrong error {e}", obj.name()),
            Ok(_) => panic!("{}: planned {n}x{d}", obj.name()),
        }
    }
}
