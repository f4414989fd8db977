// Vector updates over `len` elements, one thread per element:
//   entry axpy:  y = alpha * x + y   (backward: dx = alpha * dy, dy passes through to y: entry scale)
//   entry scale: y = alpha * x       (backward: dx = alpha * dy: this entry again)

struct Params {
    len: u32,
    alpha: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn axpy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.y * nwg.x * 256u + gid.x;
    if i < p.len {
        y[i] = fma(p.alpha, x[i], y[i]);
    }
}

@compute @workgroup_size(256)
fn scale(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.y * nwg.x * 256u + gid.x;
    if i < p.len {
        y[i] = p.alpha * x[i];
    }
}
