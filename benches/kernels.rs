//! Criterion benchmarks of the kernels, timed on the device (GPU timestamps where the adapter has them,
//! else wall time around a synchronised submit), reported as throughput in FLOP (GEMM, MLP) or bytes
//! (elementwise). Run with `cargo bench`; one module per kernel family.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tandem::gpu::{Gpu, GpuTimer, Recorder, Tensor};
use tandem::kernels::{Activation, Gemm, GemmVariant, Precision};
use tandem::nn::{MlpConfig, MlpEncoder};

fn gpu() -> &'static Gpu {
    static GPU: std::sync::OnceLock<Gpu> = std::sync::OnceLock::new();
    GPU.get_or_init(|| Gpu::new().expect("benchmarks need a GPU adapter"))
}

fn filled(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    let data: Vec<f32> = (0..n).map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0).collect();
    gpu().upload(shape, &data).unwrap()
}

/// Times `iters` recordings of `record`, each submitted and measured on its own.
fn device_time(iters: u64, record: &dyn Fn(&mut Recorder<'_>) -> tandem::gpu::Result<()>) -> Duration {
    let timer = GpuTimer::new(gpu());
    let mut total = 0.0;
    for _ in 0..iters {
        total += timer.time(gpu(), |rec| record(rec)).unwrap();
    }
    Duration::from_secs_f64(total / 1e3)
}

mod gemm {
    use super::*;

    pub fn bench(c: &mut Criterion) {
        let mut group = c.benchmark_group("gemm");
        group.sample_size(10).measurement_time(Duration::from_secs(3));
        for variant in GemmVariant::supported(gpu()) {
            for n in [256usize, 512] {
                let f16 = |op: Gemm| op.with_precision(Precision::F16, Precision::F16);
                for (name, op) in
                    [("nn", Gemm::nn()), ("tn", Gemm::tn()), ("nt", Gemm::nt()), ("nn_f16", f16(Gemm::nn()))]
                {
                    let (a, b, out) = (filled(&[n, n]), filled(&[n, n]), filled(&[n, n]));
                    group.throughput(Throughput::Elements(2 * (n * n * n) as u64));
                    group.bench_function(BenchmarkId::new(format!("{}_{name}", variant.name()), n), |bench| {
                        bench.iter_custom(|iters| {
                            device_time(iters, &|rec| op.record_variant(rec, variant, &a, &b, &out))
                        })
                    });
                }
            }
        }
        group.finish();
    }
}

mod elementwise {
    use super::*;

    pub fn bench(c: &mut Criterion) {
        let mut group = c.benchmark_group("elementwise");
        group.sample_size(10).measurement_time(Duration::from_secs(2));
        let n = 1 << 22;
        let (x, y) = (filled(&[n]), filled(&[n]));
        // The streaming roofline the other memory-bound kernels are read against: two streams in, one out.
        group.throughput(Throughput::Bytes(12 * n as u64));
        group.bench_function(BenchmarkId::new("axpy_roofline", n), |bench| {
            bench.iter_custom(|iters| device_time(iters, &|rec| tandem::kernels::axpy::axpy(rec, 1.0, &x, &y)))
        });
        for act in [Activation::Relu, Activation::Gelu] {
            // One read and one write per element.
            group.throughput(Throughput::Bytes(8 * n as u64));
            group.bench_function(BenchmarkId::new(format!("{act:?}_forward"), n), |bench| {
                bench.iter_custom(|iters| device_time(iters, &|rec| act.forward(rec, &x, &y)))
            });
        }
        group.finish();
    }
}

mod mlp {
    use super::*;

    pub fn bench(c: &mut Criterion) {
        let mut group = c.benchmark_group("mlp");
        group.sample_size(10).measurement_time(Duration::from_secs(5));
        let (batch, widths) = (256usize, [512usize, 512, 128]);
        let enc = MlpEncoder::new(gpu(), MlpConfig::new(&widths, 0)).unwrap();
        let ws = enc.workspace(gpu(), batch).unwrap();
        let (x, dy) = (filled(&[batch, widths[0]]), filled(&[batch, widths[2]]));
        // Forward is one GEMM per block, backward two: 3 * 2 * batch * in * out FLOP per block.
        let flops: usize = widths.windows(2).map(|w| 6 * batch * w[0] * w[1]).sum();
        group.throughput(Throughput::Elements(flops as u64));
        group.bench_function(BenchmarkId::new("forward_backward", "512-512-128/b256"), |bench| {
            bench.iter_custom(|iters| {
                device_time(iters, &|rec| {
                    enc.forward(rec, true, &x, &ws)?;
                    enc.backward(rec, true, &x, &ws, &dy, None)
                })
            })
        });
        group.finish();
    }
}

mod conv2d {
    use super::*;
    use tandem::kernels::conv2d::{Conv2d, Conv2dShape, Layout};

    pub fn bench(c: &mut Criterion) {
        let mut group = c.benchmark_group("conv2d");
        group.sample_size(10).measurement_time(Duration::from_secs(5));
        // ResNet-18's second stage at batch 8: 3×3, 128 → 128 channels, 16×16.
        let s = Conv2dShape {
            batch: 8,
            c_in: 128,
            h: 16,
            w: 16,
            c_out: 128,
            kh: 3,
            kw: 3,
            stride: 1,
            pad: 1,
            input: Layout::Nhwc,
        };
        let conv = Conv2d::new(gpu(), s);
        let (x, w) = (filled(&[s.input_len()]), filled(&[s.c_out, s.k()]));
        let (y, dy, dx, dw) = (
            filled(&[s.positions(), s.c_out]),
            filled(&[s.positions(), s.c_out]),
            filled(&[s.input_len()]),
            filled(&[s.c_out, s.k()]),
        );
        group.throughput(Throughput::Elements(s.flops() as u64));
        group.bench_function(BenchmarkId::new("forward", "128x16x16/b8"), |bench| {
            bench.iter_custom(|iters| device_time(iters, &|rec| conv.forward(rec, &x, &w, &y)))
        });
        group.bench_function(BenchmarkId::new("backward_data", "128x16x16/b8"), |bench| {
            bench.iter_custom(|iters| device_time(iters, &|rec| conv.backward_data(rec, &dy, &w, &dx, false)))
        });
        group.bench_function(BenchmarkId::new("backward_weight", "128x16x16/b8"), |bench| {
            bench.iter_custom(|iters| device_time(iters, &|rec| conv.backward_weight(rec, &x, &dy, &dw, false)))
        });
        group.finish();
    }
}

mod normalisation {
    use super::*;
    use tandem::kernels::batch_norm::{BatchNormConfig, BatchNormMode, BatchNormSaved};
    use tandem::nn::BatchNorm1d;

    pub fn bench(c: &mut Criterion) {
        let mut group = c.benchmark_group("normalisation");
        group.sample_size(10).measurement_time(Duration::from_secs(2));
        let (n, d) = (256usize, 1024usize);
        let (x, y, dy, dx) = (filled(&[n, d]), filled(&[n, d]), filled(&[n, d]), filled(&[n, d]));
        let (mean, invstd) = (filled(&[d]), filled(&[d]));
        let saved = BatchNormSaved { mean: &mean, invstd: &invstd };
        let bn = BatchNorm1d::new(gpu(), "bench", d, BatchNormConfig::default()).unwrap();
        // At least one read and one write per element forward; backward reads dy and x. The fused ReLU
        // (a Linear -> BatchNorm -> ReLU block) moves the same bytes.
        for (name, mode) in
            [("batch_norm", BatchNormMode::new(true)), ("batch_norm_relu", BatchNormMode::new(true).with_relu())]
        {
            group.throughput(Throughput::Bytes(8 * (n * d) as u64));
            group.bench_function(BenchmarkId::new(format!("{name}_forward"), format!("{n}x{d}")), |bench| {
                bench.iter_custom(|iters| device_time(iters, &|rec| bn.forward(rec, mode, &x, &y, &saved)))
            });
            group.throughput(Throughput::Bytes(12 * (n * d) as u64));
            group.bench_function(BenchmarkId::new(format!("{name}_backward"), format!("{n}x{d}")), |bench| {
                bench.iter_custom(|iters| {
                    device_time(iters, &|rec| bn.backward(rec, mode, (&dy, &x), &saved, &dx, false))
                })
            });
        }
        group.finish();
    }
}

mod energy {
    use super::*;
    use tandem::objectives::Objective;

    pub fn bench(c: &mut Criterion) {
        let mut group = c.benchmark_group("energy");
        group.sample_size(10).measurement_time(Duration::from_secs(3));
        let (n, d) = (256usize, 256usize);
        let (a, b) = (filled(&[n, d]), filled(&[n, d]));
        for objective in [
            Objective::InfoNce { temperature: 0.1 },
            Objective::Vicreg { sim: 25.0, std: 25.0, cov: 1.0 },
            Objective::BarlowTwins { lambda: 0.0051 },
        ] {
            let plan = objective.plan(gpu(), n, d).unwrap();
            // Value and both gradients; throughput counted as the two embeddings read.
            group.throughput(Throughput::Bytes(8 * (n * d) as u64));
            group.bench_function(BenchmarkId::new(objective.name(), format!("{n}x{d}")), |bench| {
                bench.iter_custom(|iters| {
                    device_time(iters, &|rec| {
                        plan.record(rec, &a, &b).map_err(|e| tandem::gpu::GpuError::Device(e.to_string()))
                    })
                })
            });
        }
        group.finish();
    }
}

mod optimizer {
    use super::*;
    use tandem::kernels::optim::{Segment, SegmentTable, Update, UpdateTensors, update};

    pub fn bench(c: &mut Criterion) {
        let mut group = c.benchmark_group("optimizer");
        group.sample_size(10).measurement_time(Duration::from_secs(2));
        let n = 1 << 22;
        let (w, g, m, v) = (filled(&[n]), filled(&[n]), filled(&[n]), filled(&[n]));
        let (sched, stats) = (filled(&[4]), gpu().upload(&[4], &[1.0, 0.0, 0.0, 0.0]).unwrap());
        let t = UpdateTensors { w: &w, grad: &g, m: &m, v: &v, sched: &sched, stats: &stats };
        // One parameter of n elements (the stats' LARS slots are unused by these rules).
        let table = SegmentTable::new(gpu(), &[Segment { offset: 0, len: n, decay: true, index: 0 }], 1, n).unwrap();
        let rules = [
            ("sgd", Update::Sgd { momentum: 0.9, nesterov: false, weight_decay: 1e-4 }, 20),
            ("adamw", Update::AdamW { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 1e-4 }, 28),
        ];
        for (name, rule, bytes_per_element) in rules {
            // Bytes moved per element: every state read and written once, the gradient read.
            group.throughput(Throughput::Bytes(bytes_per_element * n as u64));
            group.bench_function(BenchmarkId::new(name, n), |bench| {
                bench.iter_custom(|iters| device_time(iters, &|rec| update(rec, &rule, &t, &table)))
            });
        }
        group.finish();
    }
}

criterion_group!(
    benches,
    gemm::bench,
    elementwise::bench,
    normalisation::bench,
    energy::bench,
    mlp::bench,
    conv2d::bench,
    optimizer::bench
);
criterion_main!(benches);
