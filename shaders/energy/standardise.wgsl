// Per-column standardisation with batch statistics (BatchNorm without affine) over one window of rows,
// one thread per element. stats = [mean | var | s1 | s2] (4 D), filled beforehand by column_sums.wgsl over
// every window: mean and biased var of x; s1 = mean_i dhat_ij, s2 = mean_i dhat_ij * hat_ij.
//   entry forward:  hat = (x - mean_j) / sqrt(var_j + eps)                 (in0 = x)
//   entry backward: dx = (dhat - s1_j - hat * s2_j) / sqrt(var_j + eps)     (in0 = dhat, in1 = hat)

struct Params {
    rows: u32,
    d: u32,
    eps: f32,
    _pad0: u32,
}

@group(0) @binding(0) var<storage, read> in0: array<f32>;        // (R, D)
@group(0) @binding(1) var<storage, read> in1: array<f32>;        // (R, D)
@group(0) @binding(2) var<storage, read> stats: array<f32>;      // (4 D)
@group(0) @binding(3) var<storage, read_write> out: array<f32>;  // (R, D)
@group(0) @binding(4) var<uniform> p: Params;

fn element(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.y * nwg.x * 256u + gid.x;
}

@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = element(gid, nwg);
    if t >= p.rows * p.d {
        return;
    }
    let j = t % p.d;
    out[t] = (in0[t] - stats[j]) * inverseSqrt(stats[p.d + j] + p.eps);
}

@compute @workgroup_size(256)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = element(gid, nwg);
    if t >= p.rows * p.d {
        return;
    }
    let j = t % p.d;
    let invstd = inverseSqrt(stats[p.d + j] + p.eps);
    out[t] = invstd * (in0[t] - stats[2u * p.d + j] - in1[t] * stats[3u * p.d + j]);
}
