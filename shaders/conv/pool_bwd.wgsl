// 2-D pooling backward over NHWC, as a gather: one thread per input element sums the output gradients
// of the windows that read it (no atomics). dx is written.
//   max: a window passes its gradient to its first largest input in (ky, kx) order, recomputed from x
//        (PyTorch's choice of argmax; no index buffer is kept);
//   avg: every window passes dy / (KH * KW) to each input it covers.
// Forward and geometry: pool_fwd.wgsl.

struct Params {
    n: u32,
    c: u32,
    h: u32,
    w: u32,
    kh: u32,
    kw: u32,
    stride: u32,
    pad: u32,
    oh: u32,
    ow: u32,
    total: u32,  // N * H * W * C
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;   // read by max_pool only
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

fn flat(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.y * nwg.x * 256u + gid.x;
}

// Output rows (or columns) whose window covers input coordinate i: [lo, hi).
fn covering(i: u32, k: u32, size_out: u32) -> vec2<u32> {
    let top = i + p.pad;
    var lo = 0u;
    if top + 1u > k {
        lo = (top + 1u - k + p.stride - 1u) / p.stride;
    }
    let hi = min(top / p.stride + 1u, size_out);
    return vec2(lo, hi);
}

// Flat input index of the first largest element of output window (img, oy, ox) in channel ch.
fn argmax(img: u32, oy: u32, ox: u32, ch: u32) -> u32 {
    var best = -3.4028235e38;
    var at = 0xffffffffu;
    for (var ky = 0u; ky < p.kh; ky++) {
        let iy = i32(oy * p.stride + ky) - i32(p.pad);
        for (var kx = 0u; kx < p.kw; kx++) {
            let ix = i32(ox * p.stride + kx) - i32(p.pad);
            if iy >= 0 && ix >= 0 && iy < i32(p.h) && ix < i32(p.w) {
                let idx = ((img * p.h + u32(iy)) * p.w + u32(ix)) * p.c + ch;
                let v = x[idx];
                if at == 0xffffffffu || v > best {
                    best = v;
                    at = idx;
                }
            }
        }
    }
    return at;
}

// The gradient of input element t: the sum over the windows covering it of what each passes to it.
fn gathered(t: u32, take_max: bool) -> f32 {
    let ch = t % p.c;
    let ix = (t / p.c) % p.w;
    let iy = (t / (p.c * p.w)) % p.h;
    let img = t / (p.c * p.w * p.h);
    let ry = covering(iy, p.kh, p.oh);
    let rx = covering(ix, p.kw, p.ow);
    var sum = 0.0;
    for (var oy = ry.x; oy < ry.y; oy++) {
        for (var ox = rx.x; ox < rx.y; ox++) {
            if !take_max || argmax(img, oy, ox, ch) == t {
                sum += dy[((img * p.oh + oy) * p.ow + ox) * p.c + ch];
            }
        }
    }
    if take_max {
        return sum;
    }
    return sum / f32(p.kh * p.kw);
}

@compute @workgroup_size(256)
fn max_pool(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = flat(gid, nwg);
    if t < p.total {
        dx[t] = gathered(t, true);
    }
}

@compute @workgroup_size(256)
fn avg_pool(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = flat(gid, nwg);
    if t < p.total {
        dx[t] = gathered(t, false);
    }
}
