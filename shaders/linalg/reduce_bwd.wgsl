// Backward of linalg/reduce_fwd.wgsl: dx (N, D) from dy, one per reduced row (entry rows) or column
// (entry cols), one thread per element of dx, written (=):
//   sum: dx = dy;  mean: dx = dy / len;  variance: dx = dy * 2 (x - mean) / (len - correction),
// where len is the reduced length and mean the per-row or per-column mean (bound only for variance).

struct Params {
    n: u32,
    d: u32,
    op: u32,
    correction: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;        // (N, D)
@group(0) @binding(1) var<storage, read> mean: array<f32>;     // (N) or (D), read for variance
@group(0) @binding(2) var<storage, read> dy: array<f32>;       // (N) or (D)
@group(0) @binding(3) var<storage, read_write> dx: array<f32>; // (N, D)
@group(0) @binding(4) var<uniform> p: Params;

fn grad(idx: u32, r: u32, len: u32) -> f32 {
    if p.op == 0u {
        return dy[r];
    }
    if p.op == 1u {
        return dy[r] / f32(len);
    }
    return dy[r] * 2.0 * (x[idx] - mean[r]) / f32(len - p.correction);
}

@compute @workgroup_size(256)
fn rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = gid.y * nwg.x * 256u + gid.x;
    if idx < p.n * p.d {
        dx[idx] = grad(idx, idx / p.d, p.d);
    }
}

@compute @workgroup_size(256)
fn cols(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let idx = gid.y * nwg.x * 256u + gid.x;
    if idx < p.n * p.d {
        dx[idx] = grad(idx, idx % p.d, p.n);
    }
}
