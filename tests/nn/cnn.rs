//! Convolutional encoders against the f64 reference network (`tandem_reference::cnn`): features, every
//! parameter gradient and the input gradient; the reference's own gradients against central
//! differences; torchvision's parameter names and shapes.

use tandem::kernels::batch_norm::BatchNormConfig;
use tandem::kernels::conv2d::Layout;
use tandem::nn::conv_bn::ConvBn;
use tandem::nn::{CnnArch, CnnConfig, CnnEncoder};
use tandem::reference::cnn as rcnn;
use tandem::reference::conv2d as rconv;
use tandem::reference::gradcheck::{directional, dot};
use tandem::reference::pool as rpool;

use crate::common::*;

/// The reference network with the device encoder's structure and current parameters, for `batch` images.
fn reference(enc: &CnnEncoder, batch: usize) -> rcnn::Cnn {
    let unit = |u: &ConvBn| {
        let g = u.geometry.shape(batch);
        let shape = rconv::Conv2dShape {
            batch,
            c_in: g.c_in,
            h: g.h,
            w: g.w,
            c_out: g.c_out,
            kh: g.kh,
            kw: g.kw,
            stride: g.stride,
            pad: g.pad,
            nchw: g.input == Layout::Nchw,
        };
        let (gamma, beta) = u.bn.affine.as_ref().expect("affine");
        rcnn::Unit {
            shape,
            weight: f64s(&down(&u.weight.value)),
            gamma: f64s(&down(&gamma.value)),
            beta: f64s(&down(&beta.value)),
            relu: u.relu,
        }
    };
    let last = enc.blocks.last().map(|b| &b.conv2).or(enc.stem.last()).unwrap().geometry;
    rcnn::Cnn {
        stem: enc.stem.iter().map(unit).collect(),
        max_pool: enc.max_pool.map(|(c, h, w)| rpool::Pool2d {
            max: true,
            batch,
            c,
            h,
            w,
            kh: 3,
            kw: 3,
            stride: 2,
            pad: 1,
        }),
        blocks: enc
            .blocks
            .iter()
            .map(|b| rcnn::Block {
                conv1: unit(&b.conv1),
                conv2: unit(&b.conv2),
                downsample: b.downsample.as_ref().map(unit),
            })
            .collect(),
        gap: rpool::Pool2d {
            max: false,
            batch,
            c: last.c_out,
            h: last.out_h(),
            w: last.out_w(),
            kh: last.out_h(),
            kw: last.out_w(),
            stride: 1,
            pad: 0,
        },
    }
}

/// The device encoder's features and gradients against the f64 reference network, and the reference
/// network's gradients against central differences of its own forward pass.
fn check(arch: CnnArch, input: (usize, usize, usize), n: usize, seed: u64) {
    compare(arch, input, n, seed, true);
}

/// The device's features and gradients against the reference's, after checking the reference's gradients
/// against finite differences when `gradcheck`.
fn compare(arch: CnnArch, input: (usize, usize, usize), n: usize, seed: u64, gradcheck: bool) {
    let enc = CnnEncoder::new(
        gpu(),
        CnnConfig { arch, input, bn: BatchNormConfig::default(), seed, precision: Default::default() },
    )
    .unwrap();
    let mut r = rng(seed);
    let x = uniform(&mut r, n * enc.d_in());
    let dy = uniform(&mut r, n * enc.d_out());
    let ws = enc.workspace(gpu(), n).unwrap();
    let (tx, tdy, tdx) =
        (up(&[n, enc.d_in()], &x), up(&[n, enc.d_out()], &dy), gpu().empty(&[n * enc.d_in()]).unwrap());
    let net = reference(&enc, n);
    run(|rec| {
        enc.forward(rec, true, &tx, &ws)?;
        enc.backward(rec, true, &tx, &ws, &tdy, Some(&tdx))
    });
    let (features, grads, dx) = rcnn::cnn_forward_backward(&net, &f64s(&x), &f64s(&dy));
    let what = format!("{arch:?} {input:?} n={n}");
    if gradcheck {
        // The reference's own gradients along random directions of the input and of every parameter.
        let dy64 = f64s(&dy);
        let loss = |net: &rcnn::Cnn, x: &[f64]| dot(&rcnn::cnn_forward_backward(net, x, &dy64).0, &dy64);
        let vx: Vec<f64> = f64s(&uniform(&mut r, x.len()));
        let x64 = f64s(&x);
        let numeric = directional(&|xv: &[f64]| loss(&net, xv), &x64, &vx, 1e-8);
        let analytic = dot(&dx, &vx);
        assert!(
            (numeric - analytic).abs() <= 1e-5 * analytic.abs().max(1.0),
            "{what} reference dx: {analytic} vs {numeric}"
        );
        let flat = |net: &rcnn::Cnn| -> Vec<f64> {
            net.units().iter().flat_map(|u| [&u.weight, &u.gamma, &u.beta]).flatten().copied().collect()
        };
        let rebuilt = |v: &[f64]| {
            let mut out = net.clone();
            let mut at = 0;
            for u in out.units_mut() {
                for t in [&mut u.weight, &mut u.gamma, &mut u.beta] {
                    let len = t.len();
                    t.copy_from_slice(&v[at..at + len]);
                    at += len;
                }
            }
            out
        };
        let theta = flat(&net);
        let vt: Vec<f64> = f64s(&uniform(&mut r, theta.len()));
        let numeric = directional(&|t: &[f64]| loss(&rebuilt(t), &x64), &theta, &vt, 1e-8);
        let g_flat: Vec<f64> = grads.iter().flat_map(|(w, g, b)| [w, g, b]).flatten().copied().collect();
        let analytic = dot(&g_flat, &vt);
        assert!(
            (numeric - analytic).abs() <= 1e-5 * analytic.abs().max(1.0),
            "{what} reference parameters: {analytic} vs {numeric}"
        );
    }
    assert_close(&format!("{what} features"), &down(ws.output()), &features, 1e-4, 1e-3);
    assert_relative("dx", &what, &down(&tdx), &dx);
    let params = enc.params();
    assert_eq!(params.len(), 3 * grads.len());
    for (p, want) in params.iter().zip(grads.iter().flat_map(|(w, g, b)| [w, g, b])) {
        assert_relative(&p.name, &what, &down(&p.grad), want);
    }
}

/// `‖got − want‖ ≤ 3e-2 ‖want‖`: a gradient norm check rather than an elementwise one, because f32 and
/// f64 may put a ReLU input that is within rounding of zero on different sides, which changes a few
/// entries of every gradient upstream of it by O(1) of their own size (a wiring error changes the norm by
/// far more).
#[track_caller]
fn assert_relative(name: &str, what: &str, got: &[f32], want: &[f64]) {
    let err: f64 = got.iter().zip(want).map(|(&a, b)| (f64::from(a) - b).powi(2)).sum::<f64>().sqrt();
    let norm: f64 = want.iter().map(|b| b * b).sum::<f64>().sqrt();
    assert!(err <= 3e-2 * norm.max(1e-6), "{what} {name}: |got - want| = {err:.3e}, |want| = {norm:.3e}");
}

#[test]
fn small_cnn_matches_reference() {
    check(CnnArch::Small, (3, 9, 7), 3, 1);
    check(CnnArch::Small, (1, 5, 5), 2, 2);
}

#[test]
fn resnet18_matches_reference() {
    check(CnnArch::Resnet18Cifar, (3, 16, 16), 2, 3);
    check(CnnArch::Resnet18, (3, 37, 35), 2, 4);
}

#[test]
fn resnet18_has_torchvision_names_and_shapes() {
    let enc = CnnEncoder::new(
        gpu(),
        CnnConfig {
            arch: CnnArch::Resnet18Cifar,
            input: (3, 32, 32),
            bn: BatchNormConfig::default(),
            seed: 0,
            precision: Default::default(),
        },
    )
    .unwrap();
    assert_eq!(enc.d_out(), 512);
    let params: Vec<(String, Vec<usize>)> =
        enc.params().iter().map(|p| (p.name.clone(), p.value.shape().to_vec())).collect();
    // torchvision.models.resnet18().state_dict() less fc.* and num_batches_tracked, with the CIFAR stem.
    let mut want = vec![("conv1.weight".to_string(), vec![64, 3, 3, 3])];
    let bn = |name: &str, c: usize| vec![(format!("{name}.weight"), vec![c]), (format!("{name}.bias"), vec![c])];
    want.extend(bn("bn1", 64));
    let mut c_in = 64;
    for (stage, c) in [64usize, 128, 256, 512].into_iter().enumerate() {
        for j in 0..2 {
            let name = format!("layer{}.{j}", stage + 1);
            want.push((format!("{name}.conv1.weight"), vec![c, c_in, 3, 3]));
            want.extend(bn(&format!("{name}.bn1"), c));
            want.push((format!("{name}.conv2.weight"), vec![c, c, 3, 3]));
            want.extend(bn(&format!("{name}.bn2"), c));
            if c_in != c {
                want.push((format!("{name}.downsample.0.weight"), vec![c, c_in, 1, 1]));
                want.extend(bn(&format!("{name}.downsample.1"), c));
            }
            c_in = c;
        }
    }
    assert_eq!(params, want);
    let buffers: Vec<String> = enc.buffers().into_iter().map(|(n, _)| n).collect();
    let want_buffers: Vec<String> = want
        .iter()
        .filter_map(|(n, _)| {
            n.strip_suffix(".bias").map(|bn| [format!("{bn}.running_mean"), format!("{bn}.running_var")])
        })
        .flatten()
        .collect();
    assert_eq!(buffers, want_buffers);
    // torchvision's resnet18 has 11,689,512 parameters: less fc (513,000), and a 3×3 conv1 for the 7×7.
    let count: usize = enc.params().iter().map(|p| p.value.len()).sum();
    assert_eq!(count, 11_689_512 - 513_000 - 64 * 3 * 7 * 7 + 64 * 3 * 3 * 3);
}

/// cnn-small at the batch the trainer runs it with (32 images of 32×32: its first BatchNorm normalises
/// 32,768 rows, beyond one llvmpipe invocation's loop budget), against the reference. (The reference's own
/// finite-difference check is left out: at this size f64 differences no longer resolve the derivative.)
#[test]
fn small_cnn_matches_reference_at_a_training_batch() {
    compare(CnnArch::Small, (3, 32, 32), 32, 7, false);
}
