// LayerNorm forward over the last dimension of x (N, D), one thread per row:
//   mean_i = mean_j x_ij, var_i = mean_j (x_ij - mean_i)^2 (biased), invstd_i = 1 / sqrt(var_i + eps),
//   y = gamma * (x - mean) * invstd + beta (gamma = 1, beta = 0 when not affine).
// Saves mean and invstd per row for nn/layer_norm_bwd.wgsl.

struct Params {
    n: u32,
    d: u32,
    eps: f32,
    affine: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;            // (N, D)
@group(0) @binding(1) var<storage, read> gamma: array<f32>;        // (D), read when affine
@group(0) @binding(2) var<storage, read> beta: array<f32>;         // (D), read when affine
@group(0) @binding(3) var<storage, read_write> y: array<f32>;      // (N, D)
@group(0) @binding(4) var<storage, read_write> mean: array<f32>;   // (N) saved
@group(0) @binding(5) var<storage, read_write> invstd: array<f32>; // (N) saved
@group(0) @binding(6) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.y * nwg.x * 64u + gid.x;
    if i >= p.n {
        return;
    }
    let row = i * p.d;
    var s = 0.0;
    for (var j = 0u; j < p.d; j++) {
        s += x[row + j];
    }
    let mu = s / f32(p.d);
    var ss = 0.0;
    for (var j = 0u; j < p.d; j++) {
        let c = x[row + j] - mu;
        ss += c * c;
    }
    let inv = inverseSqrt(ss / f32(p.d) + p.eps);
    for (var j = 0u; j < p.d; j++) {
        var v = (x[row + j] - mu) * inv;
        if p.affine != 0u {
            v = gamma[j] * v + beta[j];
        }
        y[row + j] = v;
    }
    mean[i] = mu;
    invstd[i] = inv;
}
