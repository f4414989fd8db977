//! The device layer itself: errors name what failed, and a repeated recording creates no wgpu object.

use tandem::gpu::{Access, GpuError, KernelKey, KernelSpec, Recorder};
use tandem::kernels::Gemm;

use crate::common::*;

struct Broken;

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "test_broken_kernel")
    }
}

impl KernelKey for Broken {
    fn spec(&self) -> KernelSpec {
        KernelSpec {
            file: "test/broken.wgsl",
            source: "@group(0) @binding(0) var<storage, read_write> y: array<f32>;\n\
                     @compute @workgroup_size(1) fn main() { y[0] = undefined_name; }",
            entry: "main",
            storage: &[Access::ReadWrite],
            constants: Vec::new(),
        }
    }
}

#[test]
fn a_shader_error_names_the_kernel() {
    match gpu().kernel(&Broken) {
        Err(GpuError::Shader { kernel, file, .. }) => {
            assert_eq!(kernel, "test_broken_kernel");
            assert_eq!(file, "test/broken.wgsl");
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a broken shader compiled"),
    }
    // The device stays usable afterwards.
    gpu().check_device_error().expect("no stray device error");
}

#[test]
fn a_tensor_over_the_binding_limit_is_refused_before_any_dispatch() {
    let g = gpu();
    let too_many = (g.limits().max_storage_buffer_binding_size / 4 + 1) as usize;
    match g.empty(&[too_many]) {
        Err(GpuError::TooLarge { bytes, limit, .. }) => assert!(bytes > limit),
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[test]
fn a_tensor_larger_than_a_binding_is_processed_in_row_windows() {
    let g = gpu();
    let binding = g.limits().max_storage_buffer_binding_size;
    // Past the binding limit where that is affordable (lavapipe: 128 MiB); on devices whose bindings are
    // larger, the same windows at non-zero offsets of a 96 MiB tensor.
    let d = 1000;
    let rows = if binding <= 256 << 20 { (binding / 4) as usize / d + 100 } else { (96 << 20) / (4 * d) };
    let x = g.empty_large(&[rows, d]).unwrap();
    let y = g.empty_large(&[rows, d]).unwrap();
    let data: Vec<f32> = (0..rows * d).map(|i| (i % 9973) as f32).collect();
    g.write(&x, &data);
    if (rows * d * 4) as u64 > binding {
        let mut rec = Recorder::new(g);
        match tandem::kernels::axpy::scale(&mut rec, 2.0, &x, &y) {
            Err(GpuError::BadLaunch { message, .. }) => assert!(message.contains("row windows"), "{message}"),
            other => panic!("binding a {rows}x{d} tensor whole: expected BadLaunch, got {other:?}"),
        }
    }
    // Windows of 4096 rows (16 MB), the last one ragged, at offsets far past the first binding's reach.
    let mut rec = Recorder::new(g);
    for r0 in (0..rows).step_by(4096) {
        let r = 4096.min(rows - r0);
        tandem::kernels::axpy::scale(&mut rec, 2.0, &x.rows(r0, r), &y.rows(r0, r)).unwrap();
    }
    rec.submit().unwrap();
    let got = g.download(&y).unwrap();
    let bad = got.iter().zip(&data).position(|(g, x)| *g != 2.0 * x);
    assert_eq!(bad, None, "first wrong element of {rows}x{d}");
    // A window downloads and copies as its own range.
    let tail = g.download(&y.rows(4096, 64)).unwrap();
    assert_eq!(tail[..], got[4096 * d..4160 * d]);
}

#[test]
fn a_buffer_released_during_a_recording_is_not_reused_before_that_recording_is_submitted() {
    let g = gpu();
    // An unusual size, so that this test meets its own buffers in the pool.
    let len = 1237;
    let data: Vec<f32> = (0..len).map(|i| i as f32).collect();
    let x = g.upload(&[len], &data).unwrap();
    let y = g.zeros(&[len]).unwrap();
    let mut first = Recorder::new(g);
    tandem::kernels::axpy::scale(&mut first, 1.0, &x, &y).unwrap();
    drop(x);
    // Another recording is submitted meanwhile (another thread's, say), then a tensor of the same size is
    // written from the host: had x's buffer been handed out again, that write would land before `first`.
    Recorder::new(g).submit().unwrap();
    let z = g.upload(&[len], &vec![-1.0; len]).unwrap();
    first.submit().unwrap();
    assert_eq!(g.download(&y).unwrap(), data, "the recorded copy read a reused buffer");
    drop(z);
}

#[test]
#[should_panic(expected = "multiple of 64")]
fn a_row_window_must_start_on_an_aligned_row() {
    let t = gpu().empty(&[100, 3]).unwrap();
    let _ = t.rows(10, 5);
}

#[test]
fn a_repeated_recording_creates_no_wgpu_object() {
    // A device of its own, so that tests running in parallel do not touch its counters.
    let g = tandem::gpu::Gpu::new().expect("device");
    let mut r = rng(7);
    let (m, n, k) = (70, 33, 129);
    let a = g.upload(&[m, k], &uniform(&mut r, m * k)).unwrap();
    let b = g.upload(&[n, k], &uniform(&mut r, n * k)).unwrap();
    let c = g.empty(&[m, n]).unwrap();
    let y = g.empty(&[m, n]).unwrap();
    let step = || {
        let mut rec = Recorder::new(&g);
        Gemm::nt().record(&mut rec, &a, &b, &c).unwrap();
        tandem::kernels::Activation::Relu.forward(&mut rec, &c, &y).unwrap();
        rec.submit().unwrap();
        g.synchronize().unwrap();
    };
    step();
    let first = g.stats();
    assert!(first.pipelines > 0 && first.bind_groups > 0, "the first run compiles and binds: {first:?}");
    step();
    step();
    assert_eq!(g.stats(), first, "later runs must come entirely from the caches");
}

#[test]
fn allocations_past_the_memory_budget_are_refused_with_the_sizes() {
    use tandem::gpu::{Gpu, GpuOptions};
    let g = Gpu::with_options(&GpuOptions { memory_budget: Some(1 << 20), ..GpuOptions::default() }).unwrap();
    assert_eq!(g.memory_budget().map(|b| (b.bytes, b.source)), Some((1 << 20, "TANDEM_DEVICE_MEMORY")));
    let first = g.empty(&[150_000]).unwrap();
    let err = g.empty(&[150_000]).unwrap_err();
    assert!(
        matches!(err, GpuError::OutOfMemory { bytes: 600_000, allocated: 600_000, budget: 1_048_576, .. }),
        "{err}"
    );
    let msg = err.to_string();
    assert!(msg.contains("tensor of shape [150000]") && msg.contains("smaller batch"), "{msg}");
    // Freed buffers are reused without counting twice.
    drop(first);
    g.synchronize().unwrap();
    let mut rec = Recorder::new(&g);
    rec.clear(&g.empty(&[1]).unwrap());
    rec.submit().unwrap();
    assert!(g.empty(&[150_000]).is_ok());
}

#[test]
fn a_profiled_recording_times_each_dispatch_by_kernel() {
    let g = gpu();
    if !g.profile_next_recording() {
        // Adapters without timestamps inside passes report no profile; lavapipe has them.
        assert!(!g.features().contains(tandem::gpu::wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES));
        return;
    }
    let (a, b, c) = (up(&[64, 64], &[1.0; 4096]), up(&[64, 64], &[1.0; 4096]), g.empty(&[64, 64]).unwrap());
    let mut rec = Recorder::new(g);
    Gemm::nn().record(&mut rec, &a, &b, &c).unwrap();
    Gemm::nt().record(&mut rec, &a, &b, &c).unwrap();
    let dispatches = rec.dispatches();
    rec.submit().unwrap();
    let profile = g.take_profile().unwrap().expect("the armed recording was profiled");
    assert_eq!(profile.len(), dispatches);
    assert!(profile.iter().all(|(k, ms)| k.starts_with("gemm") && *ms >= 0.0), "{profile:?}");
    assert!(profile.iter().map(|(_, ms)| ms).sum::<f64>() > 0.0, "{profile:?}");
    // Only the armed recording is profiled.
    let mut rec = Recorder::new(g);
    Gemm::nn().record(&mut rec, &a, &b, &c).unwrap();
    rec.submit().unwrap();
    assert!(g.take_profile().unwrap().is_none());
}
