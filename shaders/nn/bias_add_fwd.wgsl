// Bias add, in place: y (N, D) += bias (D), broadcast over rows.
// Backward: d bias = column sum of dy (linalg/reduce_fwd.wgsl, entry sum_cols); dy passes through to x.
// One thread per element; flat index folded into 2-D for large tensors.

struct Params {
    rows: u32,
    cols: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> bias: array<f32>;    // (D)
@group(0) @binding(1) var<storage, read_write> y: array<f32>; // (N, D)
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.y * nwg.x * 256u + gid.x;
    if i >= p.rows * p.cols {
        return;
    }
    y[i] += bias[i % p.cols];
}
