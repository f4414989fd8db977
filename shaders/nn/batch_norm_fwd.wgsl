// BatchNorm1d forward over x (N, D), one thread per column (feature).
//
// train: mean_j = mean_i x_ij, var_j = mean_i (x_ij - mean_j)^2 (biased), invstd_j = 1 / sqrt(var_j + eps),
//        y = gamma * (x - mean) * invstd + beta (gamma = 1, beta = 0 when not affine).
//        When UPDATE_RUNNING: running_mean = (1 - momentum) running_mean + momentum mean,
//        running_var = (1 - momentum) running_var + momentum var * N / (N - 1) (unbiased, as PyTorch;
//        the biased var when N == 1).
// eval:  the same normalisation with running_mean and running_var.
// Both save mean and invstd (those used) for the backward pass (nn/batch_norm_bwd.wgsl).

struct Params {
    n: u32,
    d: u32,
    eps: f32,
    momentum: f32,
    affine: u32,
    update_running: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;                 // (N, D)
@group(0) @binding(1) var<storage, read> gamma: array<f32>;             // (D), read when affine
@group(0) @binding(2) var<storage, read> beta: array<f32>;              // (D), read when affine
@group(0) @binding(3) var<storage, read_write> running_mean: array<f32>; // (D)
@group(0) @binding(4) var<storage, read_write> running_var: array<f32>;  // (D)
@group(0) @binding(5) var<storage, read_write> y: array<f32>;            // (N, D)
@group(0) @binding(6) var<storage, read_write> mean: array<f32>;         // (D) saved
@group(0) @binding(7) var<storage, read_write> invstd: array<f32>;       // (D) saved
@group(0) @binding(8) var<uniform> p: Params;

fn normalise(j: u32, mu: f32, inv: f32) {
    var g = 1.0;
    var b = 0.0;
    if p.affine != 0u {
        g = gamma[j];
        b = beta[j];
    }
    for (var i = 0u; i < p.n; i++) {
        let idx = i * p.d + j;
        y[idx] = g * (x[idx] - mu) * inv + b;
    }
    mean[j] = mu;
    invstd[j] = inv;
}

@compute @workgroup_size(64)
fn train(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    if j >= p.d {
        return;
    }
    var s = 0.0;
    for (var i = 0u; i < p.n; i++) {
        s += x[i * p.d + j];
    }
    let mu = s / f32(p.n);
    var ss = 0.0;
    for (var i = 0u; i < p.n; i++) {
        let c = x[i * p.d + j] - mu;
        ss += c * c;
    }
    let var_biased = ss / f32(p.n);
    normalise(j, mu, inverseSqrt(var_biased + p.eps));
    if p.update_running != 0u {
        let unbiased = select(var_biased, ss / f32(p.n - 1u), p.n > 1u);
        running_mean[j] = (1.0 - p.momentum) * running_mean[j] + p.momentum * mu;
        running_var[j] = (1.0 - p.momentum) * running_var[j] + p.momentum * unbiased;
    }
}

@compute @workgroup_size(64)
fn eval(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    if j >= p.d {
        return;
    }
    normalise(j, running_mean[j], inverseSqrt(running_var[j] + p.eps));
}
