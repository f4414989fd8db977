//! The MLP encoder: forward, backward and running statistics against `tandem_reference::mlp`, and the
//! device gradient as a directional derivative against central differences of the f64 reference.

use tandem::kernels::Precision;
use tandem::nn::{LastBlock, MlpConfig, MlpEncoder};
use tandem::reference::batch_norm::BatchNormConfig as RefBn;
use tandem::reference::gradcheck::{directional, dot};
use tandem::reference::mlp::{mlp_backward, mlp_backward_rounded, mlp_forward, mlp_forward_rounded};

use crate::common::*;

fn check(config: MlpConfig, n: usize, training: bool) {
    let g = gpu();
    let enc = MlpEncoder::new(g, config.clone()).unwrap();
    let mut blocks = reference_blocks(&enc);
    let (d_in, d_out) = (enc.d_in(), enc.d_out());
    let mut r = rng(config.seed + 77);
    let x = uniform(&mut r, n * d_in);
    let dy = uniform(&mut r, n * d_out);
    let ws = enc.workspace(g, n).unwrap();
    let (tx, tdy, tdx) = (up(&[n, d_in], &x), up(&[n, d_out], &dy), g.empty(&[n, d_in]).unwrap());
    run(|rec| {
        enc.forward(rec, training, &tx, &ws)?;
        enc.backward(rec, training, &tx, &ws, &tdy, Some(&tdx))
    });
    let cfg = RefBn { eps: config.bn.eps.into(), momentum: config.bn.momentum.into(), affine: config.bn.affine };
    let before = blocks.clone();
    let (y, caches) = mlp_forward(&mut blocks, &f64s(&x), n, training, cfg);
    let (grads, dx) = mlp_backward(&blocks, &caches, &f64s(&dy), n, training, cfg);
    let what = format!("mlp {:?} n={n} training={training}", config.widths);
    assert_close(&format!("{what} output"), &down(ws.output()), &y, 1e-4, 1e-3);
    assert_close(&format!("{what} dx"), &down(&tdx), &dx, 1e-4, 1e-3);
    for (i, (b, gr)) in enc.blocks.iter().zip(&grads).enumerate() {
        assert_close(&format!("{what} block {i} dW"), &down(&b.linear.weight.grad), &gr.weight, 1e-4, 1e-3);
        assert_close(&format!("{what} block {i} db"), &down(&b.linear.bias.grad), &gr.bias, 1e-4, 1e-3);
        if let (Some(bn), Some(rb)) = (&b.bn, &blocks[i].running) {
            assert_close(&format!("{what} block {i} running mean"), &down(&bn.running_mean), &rb.0, 1e-5, 1e-4);
            assert_close(&format!("{what} block {i} running var"), &down(&bn.running_var), &rb.1, 1e-5, 1e-4);
        }
        if let (Some((gamma, beta)), Some((dg, db))) = (b.bn.as_ref().and_then(|bn| bn.affine.as_ref()), &gr.bn) {
            assert_close(&format!("{what} block {i} dgamma"), &down(&gamma.grad), dg, 1e-4, 1e-3);
            assert_close(&format!("{what} block {i} dbeta"), &down(&beta.grad), db, 1e-4, 1e-3);
        }
    }

    // The device gradient along a random direction in weight space against central differences of the
    // f64 reference loss <mlp(x), dy>, from the parameters as they were before this step.
    let dirs: Vec<Vec<f64>> = before.iter().map(|b| f64s(&uniform(&mut r, b.weight.len()))).collect();
    let analytic: f64 = enc.blocks.iter().zip(&dirs).map(|(b, v)| dot(&f64s(&down(&b.linear.weight.grad)), v)).sum();
    let loss = |t: &[f64]| {
        let mut moved = before.clone();
        for (b, v) in moved.iter_mut().zip(&dirs) {
            b.weight.iter_mut().zip(v).for_each(|(w, d)| *w += t[0] * d);
        }
        dot(&mlp_forward(&mut moved, &f64s(&x), n, training, cfg).0, &f64s(&dy))
    };
    let numeric = directional(&loss, &[0.0], &[1.0], 1e-5);
    let tol = 1e-3 * numeric.abs().max(1.0);
    assert!(
        (analytic - numeric).abs() <= tol,
        "{what}: directional derivative {analytic} vs finite difference {numeric}"
    );
}

#[test]
fn mlp_matches_reference_and_finite_differences() {
    for training in [true, false] {
        check(MlpConfig::new(&[13, 17, 9, 5], 1), 11, training);
        check(MlpConfig::new(&[1, 1], 2), 3, training);
        check(MlpConfig { last: LastBlock::Full, ..MlpConfig::new(&[64, 65, 31], 3) }, 4, training);
        check(
            MlpConfig { last: LastBlock::BatchNorm { affine: false }, ..MlpConfig::new(&[9, 16, 8], 5) },
            6,
            training,
        );
        check(MlpConfig { batch_norm: false, ..MlpConfig::new(&[7, 129, 3], 4) }, 37, training);
    }
}

/// Mixed precision: every Linear takes its input and weight as f16, and the hidden activations are kept as
/// f16 (the BatchNorm writes them so, with its ReLU fused). Against the reference with the same rounding;
/// the tolerance allows an element whose f32 and f64 values round to neighbouring f16s.
#[test]
fn an_f16_mlp_matches_the_reference_with_rounded_operands() {
    let round = |v: f64| f64::from(Precision::F16.round(v as f32));
    let configs = [
        MlpConfig::new(&[13, 17, 9, 5], 1),
        MlpConfig { last: LastBlock::Full, ..MlpConfig::new(&[64, 65, 31], 3) },
        MlpConfig { batch_norm: false, ..MlpConfig::new(&[7, 129, 3], 4) },
    ];
    for config in configs {
        for training in [true, false] {
            let config = MlpConfig { precision: Precision::F16, ..config.clone() };
            let (g, n) = (gpu(), 11);
            let enc = MlpEncoder::new(g, config.clone()).unwrap();
            let mut blocks = reference_blocks(&enc);
            let (d_in, d_out) = (enc.d_in(), enc.d_out());
            let mut r = rng(config.seed + 91);
            let (x, dy) = (uniform(&mut r, n * d_in), uniform(&mut r, n * d_out));
            let ws = enc.workspace(g, n).unwrap();
            let (tx, tdy, tdx) = (up(&[n, d_in], &x), up(&[n, d_out], &dy), g.empty(&[n, d_in]).unwrap());
            run(|rec| {
                enc.forward(rec, training, &tx, &ws)?;
                enc.backward(rec, training, &tx, &ws, &tdy, Some(&tdx))
            });
            let cfg = RefBn { eps: config.bn.eps.into(), momentum: config.bn.momentum.into(), affine: true };
            let (y, caches) = mlp_forward_rounded(&mut blocks, &f64s(&x), n, training, cfg, round);
            let (grads, dx) = mlp_backward_rounded(&blocks, &caches, &f64s(&dy), n, training, cfg, round);
            let what = format!("f16 mlp {:?} training={training}", config.widths);
            let (atol, rtol) = (2e-3, 1e-2);
            assert_close(&format!("{what} output"), &down(ws.output()), &y, atol, rtol);
            assert_close(&format!("{what} dx"), &down(&tdx), &dx, atol, rtol);
            for (i, (b, gr)) in enc.blocks.iter().zip(&grads).enumerate() {
                assert_close(&format!("{what} block {i} dW"), &down(&b.linear.weight.grad), &gr.weight, atol, rtol);
                assert_close(&format!("{what} block {i} db"), &down(&b.linear.bias.grad), &gr.bias, atol, rtol);
            }
        }
    }
}

#[test]
fn initialisation_is_deterministic_and_seeded() {
    let g = gpu();
    let a = MlpEncoder::new(g, MlpConfig::new(&[10, 20, 5], 42)).unwrap();
    let b = MlpEncoder::new(g, MlpConfig::new(&[10, 20, 5], 42)).unwrap();
    let c = MlpEncoder::new(g, MlpConfig::new(&[10, 20, 5], 43)).unwrap();
    let w = |e: &MlpEncoder| down(&e.blocks[0].linear.weight.value);
    assert_eq!(w(&a), w(&b));
    assert_ne!(w(&a), w(&c));
    let bound = 1.0 / 10f32.sqrt();
    assert!(w(&a).iter().all(|v| v.abs() <= bound), "PyTorch's Linear init bound 1/sqrt(fan_in)");
    let names: Vec<&str> = a.params().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "blocks.0.linear.weight",
            "blocks.0.linear.bias",
            "blocks.0.bn.weight",
            "blocks.0.bn.bias",
            "blocks.1.linear.weight",
            "blocks.1.linear.bias"
        ]
    );
}

#[test]
fn malformed_widths_are_refused() {
    for bad in ["", "12", "3-x-4", "3--4", "0-5"] {
        assert!(MlpConfig::parse(bad, 0).is_err(), "{bad:?} was accepted");
    }
    assert_eq!(MlpConfig::parse("3072-1024-256", 0).unwrap().widths, [3072, 1024, 256]);
}
