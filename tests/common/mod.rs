//! Shared test helpers: the device, seeded random data, and the tolerance check.

#![allow(dead_code)]

use std::sync::OnceLock;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tandem::gpu::{Gpu, Recorder, Tensor};

/// The shared test device. No adapter is a test failure with the install hint, never a skip.
pub fn gpu() -> &'static Gpu {
    static GPU: OnceLock<Gpu> = OnceLock::new();
    GPU.get_or_init(|| match Gpu::new() {
        Ok(g) => g,
        Err(e) => panic!("GPU tests need an adapter (CI={:?}): {e}", std::env::var("CI").ok()),
    })
}

/// A seeded generator.
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// `n` values uniform in [-1, 1).
pub fn uniform(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

/// Widens to f64 for the reference.
pub fn f64s(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}

/// Uploads a host vector.
pub fn up(shape: &[usize], v: &[f32]) -> Tensor {
    gpu().upload(shape, v).expect("upload")
}

/// Downloads a tensor.
pub fn down(t: &Tensor) -> Vec<f32> {
    gpu().download(t).expect("download")
}

/// Records with `f`, submits, and waits.
pub fn run(f: impl FnOnce(&mut Recorder<'_>) -> tandem::gpu::Result<()>) {
    let mut rec = Recorder::new(gpu());
    f(&mut rec).expect("record");
    rec.submit().expect("submit");
    gpu().synchronize().expect("synchronize");
}

/// Asserts `|got - want| <= atol + rtol * |want|` everywhere; a failure names the count, the worst
/// index and both values.
#[track_caller]
pub fn assert_close(what: &str, got: &[f32], want: &[f64], atol: f64, rtol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let mut bad = 0usize;
    let mut worst = (0usize, 0.0f64);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let err = (f64::from(g) - w).abs();
        let tol = atol + rtol * w.abs();
        // NaN in either value counts as out of tolerance.
        let excess = if err.is_nan() { f64::INFINITY } else { err / tol };
        if excess > 1.0 {
            bad += 1;
        }
        if excess > worst.1 {
            worst = (i, excess);
        }
    }
    if bad > 0 {
        let i = worst.0;
        panic!(
            "{what}: {bad} of {} values out of tolerance (atol {atol:e}, rtol {rtol:e}); worst at {i}: got {}, want {}",
            got.len(),
            got[i],
            want[i]
        );
    }
}

/// An MLP's current parameters and running statistics, downloaded into the reference's structure.
pub fn reference_blocks(enc: &tandem::nn::MlpEncoder) -> Vec<tandem::reference::mlp::BlockParams> {
    enc.blocks
        .iter()
        .map(|b| tandem::reference::mlp::BlockParams {
            d_in: b.linear.d_in(),
            d_out: b.linear.d_out(),
            weight: f64s(&down(&b.linear.weight.value)),
            bias: f64s(&down(&b.linear.bias.value)),
            bn: b
                .bn
                .as_ref()
                .and_then(|bn| bn.affine.as_ref())
                .map(|(g, be)| (f64s(&down(&g.value)), f64s(&down(&be.value)))),
            running: b.bn.as_ref().map(|bn| (f64s(&down(&bn.running_mean)), f64s(&down(&bn.running_var)))),
            relu: b.relu,
        })
        .collect()
}
