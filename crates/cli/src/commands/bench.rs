//! `tandem bench <kernel>`: microbenchmarks that print one JSON object (or a line) per run.

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use tandem_gpu::{Gpu, GpuTimer};
use tandem_kernels::{Gemm, GemmVariant, Precision};

use super::bench_memory::Family;

/// The benchmarked kernel families.
#[derive(Subcommand)]
pub enum Bench {
    /// GEMM: median device time, GFLOP/s and max abs error against the f64 reference.
    Gemm(GemmArgs),
    /// A convolution's forward, backward-data and backward-weight against the GEMM at the same sizes.
    Conv2d(super::bench_conv::ConvBenchArgs),
    /// One energy (value and both gradients): median device time and peak device memory.
    Energy(EnergyArgs),
    /// The feeding pipeline alone: pairs per second from the loader through both views on the device.
    Data(super::bench_data::DataBenchArgs),
    /// The whole training step in steady state: pairs per second and the time spent waiting for data.
    Step(super::bench_step::StepBenchArgs),
    /// ReLU and GELU forward and backward: bandwidth against the device's streaming roofline.
    Activation(super::bench_memory::MemoryBenchArgs),
    /// BatchNorm, LayerNorm and L2 normalisation forward and backward, against the streaming roofline.
    Normalisation(super::bench_memory::MemoryBenchArgs),
    /// The optimizer step over every parameter of an MLP (SGD, AdamW, LARS), against the roofline.
    Optimizer(super::bench_memory::MemoryBenchArgs),
    /// Bias add, its column sum and axpy, against the streaming roofline.
    Elementwise(super::bench_memory::MemoryBenchArgs),
}

/// Arguments of `tandem bench energy`.
#[derive(Args)]
pub struct EnergyArgs {
    /// info-nce, vicreg, barlow-twins, neg-cosine or l2 (published default hyper-parameters).
    #[arg(long)]
    pub objective: String,
    /// Rows (samples).
    #[arg(long, default_value_t = 4096)]
    pub n: usize,
    /// Columns (embedding width).
    #[arg(long, default_value_t = 512)]
    pub d: usize,
    /// Timed runs (0: allocate and report memory only, dispatching nothing).
    #[arg(long, default_value_t = 3)]
    pub iters: usize,
    /// Largest block (of the similarity or d×d matrices) and row window, in values, instead of one storage
    /// binding: smaller blocks trade dispatches for memory, and embeddings larger than it are processed in
    /// row windows (which also rules out the Gram routes of vicreg and barlow-twins).
    #[arg(long)]
    pub block_budget: Option<usize>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `tandem bench gemm`.
#[derive(Args)]
pub struct GemmArgs {
    /// Rows of op(A) and C.
    #[arg(long, default_value_t = 1024)]
    pub m: usize,
    /// Columns of op(B) and C.
    #[arg(long, default_value_t = 1024)]
    pub n: usize,
    /// Inner dimension.
    #[arg(long, default_value_t = 1024)]
    pub k: usize,
    /// A is stored (K, M): C = Aᵀ·B.
    #[arg(long)]
    pub trans_a: bool,
    /// B is stored (N, K): C = A·Bᵀ.
    #[arg(long)]
    pub trans_b: bool,
    /// Kernel variant: auto (the device's choice), tiled or sg8.
    #[arg(long, default_value = "auto")]
    pub variant: String,
    /// Untimed runs before measuring.
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    /// Timed runs; the median is reported.
    #[arg(long, default_value_t = 10)]
    pub iters: usize,
    /// Time A·B, Aᵀ·B and A·Bᵀ interleaved in the same run and report each one's ratio to A·B
    /// (overrides --trans-a and --trans-b).
    #[arg(long)]
    pub all_transposes: bool,
    /// Operand precisions to time, interleaved: f32, f16 (f16 operands, f32 accumulation) or both
    /// (`f32,f16`).
    #[arg(long, value_delimiter = ',', default_value = "f32")]
    pub precision: Vec<String>,
    /// Print one JSON object per kernel instead of a line of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs a benchmark.
pub fn run(bench: Bench) -> Result<()> {
    match bench {
        Bench::Gemm(args) => gemm(&args),
        Bench::Conv2d(args) => super::bench_conv::run(&args),
        Bench::Energy(args) => energy(&args),
        Bench::Data(args) => super::bench_data::run(&args),
        Bench::Step(args) => super::bench_step::run(&args),
        Bench::Activation(args) => super::bench_memory::run(Family::Activation, &args),
        Bench::Normalisation(args) => super::bench_memory::run(Family::Normalisation, &args),
        Bench::Optimizer(args) => super::bench_memory::run(Family::Optimizer, &args),
        Bench::Elementwise(args) => super::bench_memory::run(Family::Elementwise, &args),
    }
}

/// The GEMM variant named on the command line.
pub fn variant(gpu: &Gpu, name: &str) -> Result<GemmVariant> {
    let v = match name {
        "auto" => return Ok(GemmVariant::for_device(gpu)),
        "tiled" => GemmVariant::Tiled,
        "sg8" => GemmVariant::Subgroup8,
        other => bail!("unknown --variant '{other}': use auto, tiled or sg8"),
    };
    if !GemmVariant::supported(gpu).contains(&v) {
        bail!("--variant {name} is not supported on {} (needs 8-lane subgroups)", gpu.describe());
    }
    Ok(v)
}

fn energy(args: &EnergyArgs) -> Result<()> {
    let Some(obj) = tandem_objectives::Objective::from_name(&args.objective) else {
        bail!("unknown objective '{}': use one of {}", args.objective, tandem_objectives::Objective::NAMES.join(", "));
    };
    let (n, d) = (args.n, args.d);
    let gpu = super::open_gpu()?;
    let before = gpu.allocated_bytes();
    let a = gpu.empty_large(&[n, d])?;
    let b = gpu.empty_large(&[n, d])?;
    let plan = match args.block_budget {
        Some(budget) => obj.plan_with_block_budget(&gpu, n, d, budget)?,
        None => obj.plan(&gpu, n, d)?,
    };
    // Everything is allocated up front, so this is the peak: inputs, outputs and scratch.
    let peak = gpu.allocated_bytes() - before;
    let timer = GpuTimer::new(&gpu);
    let mut times = Vec::new();
    if args.iters > 0 {
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let data: Vec<f32> = (0..n * d).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        gpu.write(&a, &data);
        gpu.write(&b, &data.iter().map(|x| x * 0.9 + 0.05).collect::<Vec<_>>());
        for _ in 0..args.iters {
            times.push(timer.time(&gpu, |rec| plan.record(rec, &a, &b))?);
        }
    }
    let median_ms = if times.is_empty() { None } else { Some(median(times)) };
    // The value of the last run (a finite number is the first sign of health at scale).
    let value = if args.iters > 0 { Some(gpu.download(plan.values())?[0]) } else { None };
    let out = json!({
        "objective": obj.name(), "n": n, "d": d,
        "value": value,
        "peak_device_bytes": peak,
        "input_bytes": 2 * n * d * 4,
        "row_windows": plan.row_windows().len(),
        "route": plan.route(),
        "median_ms": median_ms,
        "iters": args.iters,
        "adapter": gpu.describe(),
    });
    emit(args.json, &out, || {
        format!(
            "{} n={n} d={d}: peak device memory {:.1} MiB (inputs {:.1} MiB){}",
            obj.name(),
            peak as f64 / (1 << 20) as f64,
            (2 * n * d * 4) as f64 / (1 << 20) as f64,
            median_ms.map(|m| format!(", {m:.2} ms median")).unwrap_or_default()
        )
    });
    Ok(())
}

/// Prints the result as one JSON object, or as the line `text` makes.
pub fn emit(json: bool, out: &serde_json::Value, text: impl FnOnce() -> String) {
    if json {
        println!("{out}");
    } else {
        println!("{}", text());
    }
}

/// Median of a non-empty sample.
pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 { xs[n / 2] } else { 0.5 * (xs[n / 2 - 1] + xs[n / 2]) }
}

/// One GEMM under test: its operands on the device and the host copies for the error check.
struct GemmCase {
    op: Gemm,
    a: Vec<f32>,
    b: Vec<f32>,
    ta: tandem_gpu::Tensor,
    tb: tandem_gpu::Tensor,
    tc: tandem_gpu::Tensor,
    times: Vec<f64>,
}

fn gemm(args: &GemmArgs) -> Result<()> {
    let (m, n, k) = (args.m, args.n, args.k);
    if m == 0 || n == 0 || k == 0 || args.iters == 0 {
        bail!("--m, --n, --k and --iters must be at least 1");
    }
    let gpu = super::open_gpu()?;
    let variant = variant(&gpu, &args.variant)?;
    let layouts = if args.all_transposes {
        vec![Gemm::nn(), Gemm::tn(), Gemm::nt()]
    } else {
        vec![Gemm { trans_a: args.trans_a, trans_b: args.trans_b, ..Gemm::default() }]
    };
    let precisions = args.precision.iter().map(|p| p.parse::<Precision>()).collect::<Result<Vec<_>, _>>()?;
    if precisions.contains(&Precision::F16) && !gpu.has_f16_conversion() {
        bail!("--precision f16 needs f16 conversion in shaders, which {} lacks", gpu.describe());
    }
    let ops = precisions.iter().flat_map(|&p| layouts.iter().map(move |op| op.with_precision(p, p)));
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let mut cases = Vec::new();
    for op in ops {
        let mut rand = |len: usize| -> Vec<f32> { (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect() };
        let (a, b) = (rand(m * k), rand(k * n));
        let ta = gpu.upload(&op.a_shape(m, k), &a)?;
        let tb = gpu.upload(&op.b_shape(k, n), &b)?;
        let tc = gpu.zeros(&[m, n])?;
        cases.push(GemmCase { op, a, b, ta, tb, tc, times: Vec::new() });
    }
    let timer = GpuTimer::new(&gpu);
    // Interleaved, so that the machine's drift affects every variant alike and ratios are fair.
    for i in 0..args.warmup + args.iters {
        for case in &mut cases {
            let ms = timer.time(&gpu, |rec| case.op.record_variant(rec, variant, &case.ta, &case.tb, &case.tc))?;
            if i >= args.warmup {
                case.times.push(ms);
            }
        }
    }
    let mut baseline = None;
    for case in cases {
        let median_ms = median(case.times);
        let base = *baseline.get_or_insert(median_ms);
        let gflops = 2.0 * (m * n * k) as f64 / (median_ms * 1e6);
        let c = gpu.download(&case.tc)?;
        let (max_abs_err, checked) = max_abs_err(&case.a, &case.b, &c, (m, n, k), case.op);
        let key = tandem_kernels::gemm::GemmKey {
            variant,
            trans_a: case.op.trans_a,
            trans_b: case.op.trans_b,
            precision: case.op.precision,
            stored_half: [false; 2],
            bias: false,
        };
        let t = |b: bool| if b { 't' } else { 'n' };
        let out = json!({
            "kernel": key.to_string(),
            "variant": variant.name(),
            "op": format!("{}{}", t(case.op.trans_a), t(case.op.trans_b)),
            "m": m, "n": n, "k": k,
            "trans_a": case.op.trans_a, "trans_b": case.op.trans_b,
            "precision": case.op.precision[0].name(),
            "median_ms": median_ms,
            "gflops": gflops,
            "speed_vs_first": base / median_ms,
            "max_abs_err": max_abs_err,
            "checked_outputs": checked,
            "timing": if timer.uses_timestamps() { "gpu-timestamps" } else { "wall-clock" },
            "iters": args.iters,
            "adapter": gpu.describe(),
        });
        emit(args.json, &out, || {
            format!(
                "{key} {}{} {m}x{n}x{k}: {median_ms:.3} ms median, {gflops:.2} GFLOP/s ({:.0}% of the first), max abs err {max_abs_err:.2e} on {}",
                t(case.op.trans_a),
                t(case.op.trans_b),
                100.0 * base / median_ms,
                gpu.describe()
            )
        });
    }
    Ok(())
}

/// Max |C - reference| over every output for small problems, or over 4096 seeded samples for large
/// ones (the full f64 reference at 2048³ takes minutes on the host). The reference rounds the operands
/// as the product does (f16 operands), so the error is the kernel's accumulation error.
fn max_abs_err(a: &[f32], b: &[f32], c: &[f32], (m, n, k): (usize, usize, usize), op: Gemm) -> (f64, usize) {
    let entry = |i: usize, j: usize| -> f64 {
        (0..k)
            .map(|p| {
                let av = if op.trans_a { a[p * m + i] } else { a[i * k + p] };
                let bv = if op.trans_b { b[j * k + p] } else { b[p * n + j] };
                f64::from(op.precision[0].round(av)) * f64::from(op.precision[1].round(bv))
            })
            .sum()
    };
    let err = |i: usize, j: usize| (f64::from(c[i * n + j]) - entry(i, j)).abs();
    if m * n * k <= 1 << 27 {
        let all = (0..m).flat_map(|i| (0..n).map(move |j| (i, j)));
        (all.map(|(i, j)| err(i, j)).fold(0.0, f64::max), m * n)
    } else {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let samples = 4096;
        let e = (0..samples).map(|_| err(rng.random_range(0..m), rng.random_range(0..n))).fold(0.0, f64::max);
        (e, samples)
    }
}
