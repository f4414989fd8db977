// Vector updates over `len` elements, one thread per four (vec4; lanes past `len` keep their values):
//   entry axpy:  y = alpha * x + y   (backward: dx = alpha * dy, dy passes through to y: entry scale)
//   entry scale: y = alpha * x       (backward: dx = alpha * dy: this entry again)

struct Params {
    len: u32,
    alpha: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> y: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;

// One thread per four elements (vec4); lanes past `len` keep their old values.
fn lanes(i: u32) -> vec4<bool> {
    return vec4(4u * i, 4u * i + 1u, 4u * i + 2u, 4u * i + 3u) < vec4(p.len);
}

@compute @workgroup_size(256)
fn axpy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.y * nwg.x * 256u + gid.x;
    if 4u * i < p.len {
        let y0 = y[i];
        y[i] = select(y0, fma(vec4(p.alpha), x[i], y0), lanes(i));
    }
}

@compute @workgroup_size(256)
fn scale(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.y * nwg.x * 256u + gid.x;
    if 4u * i < p.len {
        y[i] = select(y[i], p.alpha * x[i], lanes(i));
    }
}
