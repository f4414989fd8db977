//! `tandem bench conv2d`: the three passes of a convolution against the GEMM kernel at the equivalent
//! GEMM sizes, timed interleaved in one run, so that the ratio is fair on a noisy machine.

use anyhow::{Result, bail};
use clap::Args;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use tandem_gpu::{Gpu, GpuTimer, Recorder, Tensor};
use tandem_kernels::conv2d::{Conv2d, Conv2dShape, Layout};
use tandem_kernels::gemm::{Gemm, GemmVariant};

use super::bench::{emit, median};

/// Arguments of `tandem bench conv2d`.
#[derive(Args)]
pub struct ConvBenchArgs {
    /// Images per batch.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Input channels.
    #[arg(long, default_value_t = 64)]
    pub c_in: usize,
    /// Output channels.
    #[arg(long, default_value_t = 64)]
    pub c_out: usize,
    /// Input height and width.
    #[arg(long, default_value_t = 32)]
    pub size: usize,
    /// Kernel height and width.
    #[arg(long, default_value_t = 3)]
    pub kernel: usize,
    /// Stride.
    #[arg(long, default_value_t = 1)]
    pub stride: usize,
    /// Padding (default: kernel / 2).
    #[arg(long)]
    pub pad: Option<usize>,
    /// Every distinct 3×3 convolution of ResNet-18 with the CIFAR stem at --batch (overrides the shape).
    #[arg(long)]
    pub resnet18_cifar: bool,
    /// GEMM variant: auto, tiled or sg8.
    #[arg(long, default_value = "auto")]
    pub variant: String,
    /// Untimed runs before measuring.
    #[arg(long, default_value_t = 1)]
    pub warmup: usize,
    /// Timed runs; medians are reported.
    #[arg(long, default_value_t = 5)]
    pub iters: usize,
    /// One JSON object per convolution.
    #[arg(long)]
    pub json: bool,
}

/// ResNet-18 (CIFAR stem) 3×3 convolutions: `(c_in, c_out, input size, stride)`, each distinct once.
const RESNET18_CIFAR_3X3: &[(usize, usize, usize, usize)] = &[
    (3, 64, 32, 1),
    (64, 64, 32, 1),
    (64, 128, 32, 2),
    (128, 128, 16, 1),
    (128, 256, 16, 2),
    (256, 256, 8, 1),
    (256, 512, 8, 2),
    (512, 512, 4, 1),
];

/// Runs the benchmark.
pub fn run(args: &ConvBenchArgs) -> Result<()> {
    if args.batch == 0 || args.iters == 0 || args.kernel == 0 || args.stride == 0 {
        bail!("--batch, --iters, --kernel and --stride must be at least 1");
    }
    let gpu = super::open_gpu()?;
    let variant = super::bench::variant(&gpu, &args.variant)?;
    let shapes: Vec<Conv2dShape> = if args.resnet18_cifar {
        RESNET18_CIFAR_3X3
            .iter()
            .map(|&(c_in, c_out, size, stride)| shape(args.batch, c_in, c_out, size, 3, stride, 1))
            .collect()
    } else {
        let pad = args.pad.unwrap_or(args.kernel / 2);
        if args.size + 2 * pad < args.kernel {
            bail!("--kernel {} is larger than the padded input {}", args.kernel, args.size + 2 * pad);
        }
        vec![shape(args.batch, args.c_in, args.c_out, args.size, args.kernel, args.stride, pad)]
    };
    for s in shapes {
        bench_one(&gpu, variant, s, args)?;
    }
    Ok(())
}

fn shape(batch: usize, c_in: usize, c_out: usize, size: usize, k: usize, stride: usize, pad: usize) -> Conv2dShape {
    Conv2dShape { batch, c_in, h: size, w: size, c_out, kh: k, kw: k, stride, pad, input: Layout::Nhwc }
}

fn random(gpu: &Gpu, rng: &mut ChaCha8Rng, shape: &[usize]) -> Result<Tensor> {
    let data: Vec<f32> = (0..shape.iter().product()).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    Ok(gpu.upload(shape, &data)?)
}

type Pass<'a> = Box<dyn Fn(&mut Recorder<'_>) -> tandem_gpu::Result<()> + 'a>;

fn bench_one(gpu: &Gpu, variant: GemmVariant, s: Conv2dShape, args: &ConvBenchArgs) -> Result<()> {
    let conv = Conv2d { variant, ..Conv2d::new(gpu, s) };
    let (p, k, co) = (s.positions(), s.k(), s.c_out);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let x = random(gpu, &mut rng, &[s.input_len()])?;
    let w = random(gpu, &mut rng, &[co, k])?;
    let dy = random(gpu, &mut rng, &[p, co])?;
    let (y, dx, dw) = (gpu.empty(&[p, co])?, gpu.empty(&[s.input_len()])?, gpu.empty(&[co, k])?);
    // The equivalent GEMMs on plain matrices: col (p, k) · Wᵀ; dy · W (p, k); dyᵀ · col (co, k), with
    // p capped where the (p, k) matrix would not fit one binding (its GFLOP/s are compared, not its time).
    let binding = gpu.limits().max_storage_buffer_binding_size as usize;
    let gp = p.min((binding / (4 * k.max(co)) / 64 * 64).max(64));
    let gemm_flops = 2.0 * (gp * k * co) as f64;
    let col = random(gpu, &mut rng, &[gp, k])?;
    let dcol = gpu.empty(&[gp, k])?;
    let (gy, gdy) = (gpu.empty(&[gp, co])?, random(gpu, &mut rng, &[gp, co])?);
    let passes: Vec<(&str, Pass)> = vec![
        ("forward", Box::new(|rec| conv.forward(rec, &x, &w, &y))),
        ("backward_data", Box::new(|rec| conv.backward_data(rec, &dy, &w, &dx, false))),
        ("backward_weight", Box::new(|rec| conv.backward_weight(rec, &x, &dy, &dw, false))),
        ("gemm_forward", Box::new(|rec| Gemm::nt().record_variant(rec, variant, &col, &w, &gy))),
        ("gemm_backward_data", Box::new(|rec| Gemm::nn().record_variant(rec, variant, &gdy, &w, &dcol))),
        ("gemm_backward_weight", Box::new(|rec| Gemm::tn().record_variant(rec, variant, &gdy, &col, &dw))),
    ];
    let timer = GpuTimer::new(gpu);
    let mut times = vec![Vec::new(); passes.len()];
    for i in 0..args.warmup + args.iters {
        for (j, (_, pass)) in passes.iter().enumerate() {
            let ms = timer.time(gpu, |rec| pass(rec))?;
            if i >= args.warmup {
                times[j].push(ms);
            }
        }
    }
    let flops = |j: usize| if j < 3 { s.flops() } else { gemm_flops };
    let gflops: Vec<f64> = times.into_iter().enumerate().map(|(j, t)| flops(j) / (median(t) * 1e6)).collect();
    let mut passes_json = serde_json::Map::new();
    for (j, name) in ["forward", "backward_data", "backward_weight"].iter().enumerate() {
        passes_json.insert(
            name.to_string(),
            json!({ "gflops": gflops[j], "gemm_gflops": gflops[j + 3], "ratio_to_gemm": gflops[j] / gflops[j + 3] }),
        );
    }
    let out = json!({
        "kernel": "conv2d", "variant": variant.name(),
        "batch": s.batch, "c_in": s.c_in, "c_out": co, "h": s.h, "w": s.w,
        "kernel_size": s.kh, "stride": s.stride, "pad": s.pad,
        "gemm_m_n_k": [gp, co, k],
        "passes": passes_json,
        "timing": if timer.uses_timestamps() { "gpu-timestamps" } else { "wall-clock" },
        "iters": args.iters,
        "adapter": gpu.describe(),
    });
    emit(args.json, &out, || {
        format!(
            "conv2d {}x{}x{}x{} -> {co} k{} s{}: forward {:.2} GFLOP/s ({:.0}% of GEMM), backward-data {:.2} ({:.0}%), backward-weight {:.2} ({:.0}%)",
            s.batch,
            s.c_in,
            s.h,
            s.w,
            s.kh,
            s.stride,
            gflops[0],
            100.0 * gflops[0] / gflops[3],
            gflops[1],
            100.0 * gflops[1] / gflops[4],
            gflops[2],
            100.0 * gflops[2] / gflops[5]
        )
    });
    Ok(())
}
