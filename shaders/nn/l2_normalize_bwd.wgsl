// L2 row normalisation backward, one thread per row, from the forward output y and the saved norm:
//   norm > eps: dx = (dy - y (y . dy)) / norm
//   otherwise (y = x / eps is linear in x): dx = dy / eps
// dx is written (=).

struct Params {
    n: u32,
    d: u32,
    eps: f32,
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> dy: array<f32>;     // (N, D)
@group(0) @binding(1) var<storage, read> y: array<f32>;      // (N, D)
@group(0) @binding(2) var<storage, read> norm: array<f32>;   // (N)
@group(0) @binding(3) var<storage, read_write> dx: array<f32>; // (N, D)
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.y * nwg.x * 64u + gid.x;
    if i >= p.n {
        return;
    }
    let row = i * p.d;
    let nrm = norm[i];
    if nrm <= p.eps {
        for (var j = 0u; j < p.d; j++) {
            dx[row + j] = dy[row + j] / p.eps;
        }
        return;
    }
    var dot = 0.0;
    for (var j = 0u; j < p.d; j++) {
        dot += y[row + j] * dy[row + j];
    }
    for (var j = 0u; j < p.d; j++) {
        dx[row + j] = (dy[row + j] - y[row + j] * dot) / nrm;
    }
}
