// col2im, the input gradient of a convolution computed as a gather (no atomics): for every input element
// of images img0 .. img0 + total / (C H W), the sum of the entries of dcol (a window of `rows` output
// positions starting at pos0, row-major (rows, K), K ordered (c, ky, kx)) that read it in the forward
// im2col. Positions outside the window contribute nothing, so chunks that split an image accumulate.
// dx is written (or added to, when `accumulate`), NCHW or NHWC like the forward input.

struct Geometry {
    c: u32,
    h: u32,
    w: u32,
    kh: u32,
    kw: u32,
    stride: u32,
    pad: u32,
    oh: u32,
    ow: u32,
    k: u32,
    pos0: u32,
    rows: u32,
    total: u32,       // input elements written
    nchw: u32,
    img0: u32,        // first image written
    accumulate: u32,  // 1: dx += gradient
}

@group(0) @binding(0) var<storage, read> dcol: array<f32>;
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<uniform> g: Geometry;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.y * nwg.x * 256u + gid.x;
    if t >= g.total {
        return;
    }
    let per_image = g.c * g.h * g.w;
    let idx = g.img0 * per_image + t;
    let img = idx / per_image;
    let e = idx % per_image;
    var ci: u32;
    var iy: u32;
    var ix: u32;
    if g.nchw != 0u {
        ci = e / (g.h * g.w);
        iy = (e / g.w) % g.h;
        ix = e % g.w;
    } else {
        ci = e % g.c;
        iy = e / (g.c * g.w);
        ix = (e / g.c) % g.w;
    }
    var sum = 0.0;
    for (var ky = 0u; ky < g.kh; ky++) {
        let ny = i32(iy + g.pad) - i32(ky);
        if ny < 0 || u32(ny) % g.stride != 0u || u32(ny) / g.stride >= g.oh {
            continue;
        }
        let oy = u32(ny) / g.stride;
        for (var kx = 0u; kx < g.kw; kx++) {
            let nx = i32(ix + g.pad) - i32(kx);
            if nx < 0 || u32(nx) % g.stride != 0u || u32(nx) / g.stride >= g.ow {
                continue;
            }
            let pos = (img * g.oh + oy) * g.ow + u32(nx) / g.stride;
            if pos < g.pos0 || pos >= g.pos0 + g.rows {
                continue;
            }
            sum += dcol[(pos - g.pos0) * g.k + (ci * g.kh + ky) * g.kw + kx];
        }
    }
    if g.accumulate != 0u {
        sum += dx[idx];
    }
    dx[idx] = sum;
}
