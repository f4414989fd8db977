// im2col for convolutions as GEMMs: the (positions, K) matrix whose row is the receptive field of one
// output position, K = C * KH * KW ordered (c, ky, kx) like a torchvision weight (C_out, C, KH, KW), zero
// in the padding. Only a window of `rows` positions starting at `pos0` is written, so large
// convolutions run in chunks that fit a storage binding. Three layouts (MODE):
//   0: plain row-major (rows, K), the A of the tiled GEMM;
//   1: 64-position panels [ceil(rows/64)][K][64], the packed A of the sg8 GEMM (forward: col · Wᵀ);
//   2: 64-column panels [ceil(K/64)][rows][64], the packed B of the sg8 GEMM (weight grad: dYᵀ · col).
// Padded panel entries are zero. The input is NCHW (images straight from the augmentation) or NHWC
// (every activation inside a network). Flat thread index folded into 2-D. HALF (panel layouts only): the
// panels hold f16, two to a word, rounded to nearest (mixed precision, as gemm_pack.wgsl).

override MODE: u32 = 0u;
override HALF: bool = false;

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
    k: u32,           // c * kh * kw
    pos0: u32,        // first output position (img * oh * ow + oy * ow + ox) of the window
    rows: u32,        // positions in the window
    total: u32,       // elements this dispatch writes
    nchw: u32,        // input layout: 1 NCHW, 0 NHWC
    img0: u32,        // col2im only
    accumulate: u32,  // col2im only
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<u32>>;
@group(0) @binding(2) var<uniform> g: Geometry;

fn input_index(img: u32, ci: u32, iy: u32, ix: u32) -> u32 {
    if g.nchw != 0u {
        return ((img * g.c + ci) * g.h + iy) * g.w + ix;
    }
    return ((img * g.h + iy) * g.w + ix) * g.c + ci;
}

// Row r of the window, column kc.
fn element(r: u32, kc: u32) -> f32 {
    let pos = g.pos0 + r;
    let plane = g.oh * g.ow;
    let img = pos / plane;
    let rem = pos % plane;
    let window = g.kh * g.kw;
    let ci = kc / window;
    let t = kc % window;
    let iy = i32((rem / g.ow) * g.stride + t / g.kw) - i32(g.pad);
    let ix = i32((rem % g.ow) * g.stride + t % g.kw) - i32(g.pad);
    if iy < 0 || ix < 0 || iy >= i32(g.h) || ix >= i32(g.w) {
        return 0.0;
    }
    return x[input_index(img, ci, u32(iy), u32(ix))];
}

// Written element t of the layout MODE.
fn at(t: u32) -> f32 {
    if t >= g.total {
        return 0.0;
    }
    if MODE == 0u {
        return element(t / g.k, t % g.k);
    }
    if MODE == 1u {
        let r = (t / 64u / g.k) * 64u + t % 64u;
        if r < g.rows {
            return element(r, (t / 64u) % g.k);
        }
        return 0.0;
    }
    let kc = (t / 64u / g.rows) * 64u + t % 64u;
    if kc < g.k {
        return element((t / 64u) % g.rows, kc);
    }
    return 0.0;
}

fn four(t: u32) -> vec4<f32> {
    return vec4(at(t), at(t + 1u), at(t + 2u), at(t + 3u));
}

// One thread per four written elements (eight when HALF: panels are multiples of 64 elements), stored as
// one vec4 of words (the staging buffer is padded to 16 bytes, so the last vec4 of a plain window may run
// past `total` into scratch space).
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = gid.y * nwg.x * 256u + gid.x;
    let t = select(4u, 8u, HALF) * q;
    if t >= g.total {
        return;
    }
    if HALF {
        let lo = four(t);
        let hi = four(t + 4u);
        dst[q] = vec4(pack2x16float(lo.xy), pack2x16float(lo.zw), pack2x16float(hi.xy), pack2x16float(hi.zw));
    } else {
        dst[q] = bitcast<vec4<u32>>(four(t));
    }
}
