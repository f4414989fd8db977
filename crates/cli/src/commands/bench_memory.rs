//! `tandem bench activation|normalisation|optimizer|elementwise`: the step's memory-bound kernel families at
//! the step's shapes, each kernel's bandwidth (the bytes it must move at least, over its device time)
//! against the device's streaming roofline measured in the same run: `axpy` (`y = a·x + y`, `vec4`
//! accesses, two streams read and one written, STREAM's triad) over the largest case's bytes, timed
//! interleaved with the kernels.

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use serde_json::json;
use tandem_gpu::{Gpu, GpuTimer, Recorder, Tensor};
use tandem_kernels::axpy::axpy;
use tandem_kernels::batch_norm::{BatchNormConfig, BatchNormMode, BatchNormSaved};
use tandem_kernels::bias::{bias_add_backward, bias_add_forward};
use tandem_kernels::l2_normalize::{l2_normalize_backward, l2_normalize_forward};
use tandem_kernels::layer_norm::{LayerNormSaved, layer_norm_backward, layer_norm_forward};
use tandem_kernels::{Activation, HalfMatrix};
use tandem_nn::{BatchNorm1d, MlpConfig, MlpEncoder, ParamArena};
use tandem_train::{Optimizer, OptimizerConfig};

use super::bench::{emit, median};

/// A family of memory-bound kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Family {
    /// ReLU and GELU, forward and backward.
    Activation,
    /// BatchNorm (training), LayerNorm and L2 row normalisation, forward and backward.
    Normalisation,
    /// SGD, AdamW and LARS over every parameter of an MLP (squared norms, clipping factor and update).
    Optimizer,
    /// Bias add and its column sum, axpy (the two views' gradient sum).
    Elementwise,
}

/// Arguments of the memory-bound benchmarks.
#[derive(Args)]
pub struct MemoryBenchArgs {
    /// Rows of the activations (the batch).
    #[arg(long, default_value_t = 256)]
    pub rows: usize,
    /// Columns of the activations (the layer width).
    #[arg(long, default_value_t = 1024)]
    pub cols: usize,
    /// Widths of the MLP whose parameters the optimizer updates (default: mlp-a's encoder).
    #[arg(long, default_value = "3072-1024-1024-256")]
    pub mlp: String,
    /// Timed runs of each kernel (after one untimed); the median is reported.
    #[arg(long, default_value_t = 7)]
    pub iters: usize,
    /// Print one JSON object per kernel.
    #[arg(long)]
    pub json: bool,
}

/// Records one kernel launch.
type Record<'a> = Box<dyn Fn(&mut Recorder<'_>) -> tandem_gpu::Result<()> + 'a>;

/// One kernel under test: its name, the bytes it must move at least, and how to record it.
struct Case<'a> {
    name: String,
    bytes: usize,
    record: Record<'a>,
}

impl<'a> Case<'a> {
    fn new(
        name: impl Into<String>,
        bytes: usize,
        record: impl Fn(&mut Recorder<'_>) -> tandem_gpu::Result<()> + 'a,
    ) -> Self {
        Self { name: name.into(), bytes, record: Box::new(record) }
    }
}

/// A tensor of `shape` with values in [-1, 1).
fn filled(gpu: &Gpu, shape: &[usize]) -> Result<Tensor> {
    let n: usize = shape.iter().product();
    Ok(gpu.upload(shape, &(0..n).map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0).collect::<Vec<_>>())?)
}

/// Runs the benchmark of `family`.
pub fn run(family: Family, args: &MemoryBenchArgs) -> Result<()> {
    let (n, d) = (args.rows, args.cols);
    if n == 0 || d == 0 || args.iters == 0 {
        bail!("--rows, --cols and --iters must be at least 1");
    }
    let gpu = super::open_gpu()?;
    let g = &gpu;
    let f = 4; // bytes per f32
    let t = |shape: &[usize]| filled(g, shape);
    let tensors = [t(&[n, d])?, t(&[n, d])?, t(&[n, d])?, t(&[n, d])?, t(&[n])?, t(&[n])?, t(&[d])?, t(&[d])?];
    let [x, y, dy, dx, row_a, row_b, col_a, col_b] = &tensors;
    let bn = &BatchNorm1d::new(g, "bench", d, BatchNormConfig::default())?;
    let bn_saved = &BatchNormSaved { mean: col_a, invstd: col_b };
    let half_y = &HalfMatrix::empty(g, n, d)?;
    let ln_saved = LayerNormSaved { mean: row_a, invstd: row_b };
    let mut optimizer_parts = None;
    let mut cases: Vec<Case<'_>> = Vec::new();
    match family {
        Family::Activation => {
            for act in [Activation::Relu, Activation::Gelu] {
                let name = format!("{act:?}").to_lowercase();
                cases.push(Case::new(format!("{name}_forward"), 2 * f * n * d, move |r| act.forward(r, x, y)));
                cases.push(Case::new(format!("{name}_backward"), 3 * f * n * d, move |r| act.backward(r, x, dy, dx)));
            }
        }
        Family::Normalisation => {
            let (plain, fused) = (BatchNormMode::new(true), BatchNormMode::new(true).with_relu());
            cases.push(Case::new("batch_norm_forward", 2 * f * n * d, move |r| bn.forward(r, plain, x, y, bn_saved)));
            cases.push(Case::new("batch_norm_backward", 3 * f * n * d, move |r| {
                bn.backward(r, plain, (dy, x), bn_saved, dx, false)
            }));
            cases.push(Case::new("batch_norm_relu_forward", 2 * f * n * d, move |r| {
                bn.forward(r, fused, x, y, bn_saved)
            }));
            cases.push(Case::new("batch_norm_relu_backward", 3 * f * n * d, move |r| {
                bn.backward(r, fused, (dy, x), bn_saved, dx, false)
            }));
            cases.push(Case::new("batch_norm_relu_forward_f16_out", (2 + 4) * n * d, move |r| {
                bn.forward(r, fused, x, half_y, bn_saved)
            }));
            cases.push(Case::new("layer_norm_forward", 2 * f * n * d, |r| {
                layer_norm_forward(r, 1e-5, x, None, y, &ln_saved)
            }));
            cases.push(Case::new("layer_norm_backward", 3 * f * n * d, |r| {
                layer_norm_backward(r, dy, x, &ln_saved, None, dx, None)
            }));
            cases.push(Case::new("l2_normalize_forward", 2 * f * n * d, |r| {
                l2_normalize_forward(r, 1e-12, x, y, row_a)
            }));
            cases.push(Case::new("l2_normalize_backward", 3 * f * n * d, |r| {
                l2_normalize_backward(r, 1e-12, dy, y, row_a, dx)
            }));
        }
        Family::Elementwise => {
            cases.push(Case::new("bias_add_forward", 2 * f * n * d, |r| bias_add_forward(r, col_a, y)));
            cases.push(Case::new("bias_add_backward", f * n * d, |r| bias_add_backward(r, dy, col_a, false)));
            cases.push(Case::new("axpy", 3 * f * n * d, |r| axpy(r, 1.0, x, y)));
        }
        Family::Optimizer => {
            let widths = MlpConfig::parse(&args.mlp, 0)?.widths;
            let mut mlp = MlpEncoder::new(g, MlpConfig::new(&widths, 0))?;
            let arena = ParamArena::pack(g, mlp.params_mut())?;
            let mut built = Vec::new();
            for name in ["sgd", "adamw", "lars"] {
                let config = OptimizerConfig {
                    name: name.into(),
                    momentum: 0.9,
                    nesterov: false,
                    weight_decay: 1e-4,
                    eta: 0.02,
                    betas: (0.9, 0.999),
                    eps: 1e-8,
                    clip_grad: 0.0,
                };
                let optimizer = Optimizer::new(g, &config, &arena, &mlp.params())?;
                optimizer.set_step(g, 1e-3, 1, 0.0);
                built.push((name, optimizer));
            }
            optimizer_parts = Some((mlp, arena, built));
        }
    }
    if let Some((mlp, arena, built)) = &optimizer_parts {
        let elements: usize = mlp.params().iter().map(|p| p.value.len()).sum();
        // Per element: the gradient read by the squared norms, then the update's reads and writes (w, g, m
        // in, w, m out; AdamW also v in and out); LARS reads w and g once more for its norms.
        for (name, optimizer) in built {
            let per_element = if *name == "sgd" { 24 } else { 32 };
            cases.push(Case::new(format!("{name}_step"), per_element * elements, move |r| {
                optimizer.record(r, arena).map_err(|e| tandem_gpu::GpuError::Device(e.to_string()))
            }));
        }
    }
    // The roofline: the streaming kernel over as many bytes as the largest case moves.
    let roof_len = (cases.iter().map(|c| c.bytes).max().unwrap_or(12) / 12).max(1);
    let roof = [t(&[roof_len])?, t(&[roof_len])?];
    cases.push(Case::new("roofline_axpy", 3 * f * roof_len, move |r| axpy(r, 1.0, &roof[0], &roof[1])));
    time_cases(g, family, &cases, args)
}

/// Times every case interleaved and prints each one's bandwidth and its share of the roofline.
fn time_cases(gpu: &Gpu, family: Family, cases: &[Case<'_>], args: &MemoryBenchArgs) -> Result<()> {
    let timer = GpuTimer::new(gpu);
    let mut times = vec![Vec::new(); cases.len()];
    for i in 0..=args.iters {
        for (case, t) in cases.iter().zip(&mut times) {
            let ms = timer.time(gpu, |rec| (case.record)(rec))?;
            if i > 0 {
                t.push(ms);
            }
        }
    }
    let medians: Vec<f64> = times.into_iter().map(median).collect();
    let gbs = |c: &Case<'_>, ms: f64| c.bytes as f64 / (ms * 1e6);
    let roof = gbs(cases.last().expect("the roofline case"), *medians.last().expect("timed"));
    for (case, &ms) in cases.iter().zip(&medians) {
        let rate = gbs(case, ms);
        let out = json!({
            "family": format!("{family:?}").to_lowercase(), "kernel": case.name,
            "rows": args.rows, "cols": args.cols, "bytes": case.bytes,
            "median_ms": ms, "gb_s": rate, "roofline_gb_s": roof, "of_roofline": rate / roof,
            "timing": if timer.uses_timestamps() { "gpu-timestamps" } else { "wall-clock" },
            "iters": args.iters, "adapter": gpu.describe(),
        });
        emit(args.json, &out, || {
            format!(
                "{:<24} {ms:9.3} ms  {rate:7.2} GB/s  {:5.1}% of the roofline ({roof:.2} GB/s) on {}",
                case.name,
                100.0 * rate / roof,
                gpu.describe()
            )
        });
    }
    Ok(())
}
