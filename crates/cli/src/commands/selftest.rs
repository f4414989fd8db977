//! `tandem selftest`: open the device, report it, check the kernels and the MLP encoder against the f64
//! reference on awkward shapes, and time the GEMM. Exits non-zero when a check fails.

use anyhow::{Result, bail};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tandem_gpu::{Gpu, GpuTimer, Recorder};
use tandem_kernels::{Gemm, GemmVariant};
use tandem_nn::{MlpConfig, MlpEncoder};
use tandem_reference::batch_norm::BatchNormConfig as RefBn;
use tandem_reference::mlp::{BlockParams, mlp_backward, mlp_forward};

/// Arguments of `tandem selftest`.
#[derive(clap::Args)]
pub struct Args {
    /// Size of the timed square GEMM.
    #[arg(long, default_value_t = 1024)]
    pub gemm_size: usize,
}

fn random(rng: &mut ChaCha8Rng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

fn widen(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}

fn max_err(got: &[f32], want: &[f64]) -> f64 {
    got.iter().zip(want).map(|(g, w)| (f64::from(*g) - w).abs()).fold(0.0, f64::max)
}

/// One named check: its max abs error against the reference and the bound it must stay under.
struct Check {
    name: String,
    err: f64,
    bound: f64,
}

fn gemm_checks(gpu: &Gpu, rng: &mut ChaCha8Rng) -> Result<Vec<Check>> {
    let (m, n, k) = (67, 45, 33);
    let mut out = Vec::new();
    for variant in GemmVariant::supported(gpu) {
        for (trans_a, trans_b) in [(false, false), (true, false), (false, true), (true, true)] {
            let op = Gemm { trans_a, trans_b, ..Gemm::default() };
            let (a, b) = (random(rng, m * k), random(rng, k * n));
            let ta = gpu.upload(&op.a_shape(m, k), &a)?;
            let tb = gpu.upload(&op.b_shape(k, n), &b)?;
            let tc = gpu.empty(&[m, n])?;
            let mut rec = Recorder::new(gpu);
            op.record_variant(&mut rec, variant, &ta, &tb, &tc)?;
            rec.submit()?;
            let want = tandem_reference::gemm::matmul(&widen(&a), &widen(&b), (m, n, k), trans_a, trans_b);
            let t = |f: bool| if f { 't' } else { 'n' };
            let name = format!("gemm {} {}{} {m}x{n}x{k}", variant.name(), t(trans_a), t(trans_b));
            out.push(Check { name, err: max_err(&gpu.download(&tc)?, &want), bound: 1e-4 });
        }
    }
    Ok(out)
}

fn mlp_checks(gpu: &Gpu, rng: &mut ChaCha8Rng) -> Result<Vec<Check>> {
    let n = 9;
    let enc = MlpEncoder::new(gpu, MlpConfig::new(&[32, 48, 16], 7))?;
    let mut blocks = Vec::new();
    for b in &enc.blocks {
        let bn = b.bn.as_ref();
        let affine = bn.and_then(|bn| bn.affine.as_ref());
        blocks.push(BlockParams {
            d_in: b.linear.d_in(),
            d_out: b.linear.d_out(),
            weight: widen(&gpu.download(&b.linear.weight.value)?),
            bias: widen(&gpu.download(&b.linear.bias.value)?),
            bn: match affine {
                Some((g, be)) => Some((widen(&gpu.download(&g.value)?), widen(&gpu.download(&be.value)?))),
                None => None,
            },
            running: bn.map(|bn| (vec![0.0; bn.running_mean.len()], vec![1.0; bn.running_var.len()])),
            relu: b.relu,
        });
    }
    let (x, dy) = (random(rng, n * 32), random(rng, n * 16));
    let ws = enc.workspace(gpu, n)?;
    let (tx, tdy) = (gpu.upload(&[n, 32], &x)?, gpu.upload(&[n, 16], &dy)?);
    let mut rec = Recorder::new(gpu);
    enc.forward(&mut rec, true, &tx, &ws)?;
    enc.backward(&mut rec, true, &tx, &ws, &tdy, None)?;
    rec.submit()?;
    let cfg = RefBn { eps: 1e-5, momentum: 0.1, affine: true };
    let (y, caches) = mlp_forward(&mut blocks, &widen(&x), n, true, cfg);
    let (grads, _) = mlp_backward(&blocks, &caches, &widen(&dy), n, true, cfg);
    Ok(vec![
        Check { name: "mlp 32-48-16 forward".into(), err: max_err(&gpu.download(ws.output())?, &y), bound: 1e-4 },
        Check {
            name: "mlp 32-48-16 backward dW0".into(),
            err: max_err(&gpu.download(&enc.blocks[0].linear.weight.grad)?, &grads[0].weight),
            bound: 1e-3,
        },
    ])
}

/// Runs the self-test.
pub fn run(args: &Args) -> Result<()> {
    let gpu = super::open_gpu()?;
    let info = gpu.info();
    let limits = gpu.limits();
    println!(
        "adapter   {} ({:?}, {:?}), driver {} {}",
        info.name, info.backend, info.device_type, info.driver, info.driver_info
    );
    println!(
        "limits    storage binding {} MiB, buffer {} MiB, workgroup storage {} KiB, {} invocations/workgroup",
        limits.max_storage_buffer_binding_size >> 20,
        limits.max_buffer_size >> 20,
        limits.max_compute_workgroup_storage_size >> 10,
        limits.max_compute_invocations_per_workgroup
    );
    println!("features  {:?}; subgroup size {}..{}", gpu.features(), info.subgroup_min_size, info.subgroup_max_size);
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let mut checks = gemm_checks(&gpu, &mut rng)?;
    checks.extend(mlp_checks(&gpu, &mut rng)?);
    let mut failed = 0;
    for c in &checks {
        let ok = c.err <= c.bound;
        failed += usize::from(!ok);
        println!(
            "{}  {:<32} max abs err {:.2e} (bound {:.0e})",
            if ok { "ok  " } else { "FAIL" },
            c.name,
            c.err,
            c.bound
        );
    }
    let s = args.gemm_size.max(1);
    let variant = GemmVariant::for_device(&gpu);
    let (a, b) = (gpu.upload(&[s, s], &random(&mut rng, s * s))?, gpu.upload(&[s, s], &random(&mut rng, s * s))?);
    let c = gpu.empty(&[s, s])?;
    let timer = GpuTimer::new(&gpu);
    let mut times = Vec::new();
    for _ in 0..5 {
        times.push(timer.time(&gpu, |rec| Gemm::nn().record_variant(rec, variant, &a, &b, &c))?);
    }
    let ms = super::bench::median(times[1..].to_vec());
    println!(
        "gemm      {} {s}x{s}x{s}: {ms:.2} ms, {:.2} GFLOP/s",
        variant.name(),
        2.0 * (s as f64).powi(3) / (ms * 1e6)
    );
    if failed > 0 {
        bail!("{failed} of {} self-test checks failed", checks.len());
    }
    println!("selftest passed: {} checks", checks.len());
    Ok(())
}
