// Column blocks of an (N, D) matrix, one thread per element of the (N, W) block:
//   entry gather:      dst (N, W) = alpha * src[:, j0 .. j0 + W]          (src is (N, D))
//   entry scatter_add: dst[:, j0 .. j0 + W] += alpha * src (N, W)         (dst is (N, D))

struct Params {
    n: u32,
    d: u32,
    w: u32,
    j0: u32,
    alpha: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

fn flat(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.y * nwg.x * 256u + gid.x;
}

@compute @workgroup_size(256)
fn gather(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = flat(gid, nwg);
    if t >= p.n * p.w {
        return;
    }
    let i = t / p.w;
    let j = t % p.w;
    dst[t] = p.alpha * src[i * p.d + p.j0 + j];
}

@compute @workgroup_size(256)
fn scatter_add(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = flat(gid, nwg);
    if t >= p.n * p.w {
        return;
    }
    let i = t / p.w;
    let j = t % p.w;
    let idx = i * p.d + p.j0 + j;
    dst[idx] = dst[idx] + p.alpha * src[t];
}
