// Column centring: xc (N, D) = x - mean (D), broadcast over rows; one thread per element.

struct Params {
    n: u32,
    d: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;          // (N, D)
@group(0) @binding(1) var<storage, read> mean: array<f32>;       // (D)
@group(0) @binding(2) var<storage, read_write> xc: array<f32>;   // (N, D)
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.y * nwg.x * 256u + gid.x;
    if t < p.n * p.d {
        xc[t] = x[t] - mean[t % p.d];
    }
}
