// L2 row normalisation of x (N, D), one thread per row, as torch.nn.functional.normalize:
//   norm_i = sqrt(sum_j x_ij^2), y_i = x_i / max(norm_i, eps).  Saves norm_i for the backward pass.

struct Params {
    n: u32,
    d: u32,
    eps: f32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;           // (N, D)
@group(0) @binding(1) var<storage, read_write> y: array<f32>;     // (N, D)
@group(0) @binding(2) var<storage, read_write> norm: array<f32>;  // (N) saved
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.y * nwg.x * 64u + gid.x;
    if i >= p.n {
        return;
    }
    let row = i * p.d;
    var ss = 0.0;
    for (var j = 0u; j < p.d; j++) {
        ss += x[row + j] * x[row + j];
    }
    let nrm = sqrt(ss);
    let inv = 1.0 / max(nrm, p.eps);
    for (var j = 0u; j < p.d; j++) {
        y[row + j] = x[row + j] * inv;
    }
    norm[i] = nrm;
}
