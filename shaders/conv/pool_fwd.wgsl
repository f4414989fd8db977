// 2-D pooling forward over NHWC (N, H, W, C) -> (N, OH, OW, C), one thread per output element.
//   max: the largest input in the window, padding excluded (PyTorch's -inf padding);
//   avg: the window sum over KH * KW, padding counted as zeros (PyTorch's count_include_pad=True).
// Global average pooling is `avg` with the window the whole image (KH = H, KW = W, stride 1, pad 0).
// Backward: pool_bwd.wgsl.

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
    total: u32,  // N * OH * OW * C
    _pad: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

fn flat(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.y * nwg.x * 256u + gid.x;
}

// The window of output element t reduced by max (padding excluded) or by the mean (padding counted).
fn pooled(t: u32, take_max: bool) -> f32 {
    let ch = t % p.c;
    let ox = (t / p.c) % p.ow;
    let oy = (t / (p.c * p.ow)) % p.oh;
    let img = t / (p.c * p.ow * p.oh);
    var best = -3.4028235e38;
    var sum = 0.0;
    for (var ky = 0u; ky < p.kh; ky++) {
        let iy = i32(oy * p.stride + ky) - i32(p.pad);
        for (var kx = 0u; kx < p.kw; kx++) {
            let ix = i32(ox * p.stride + kx) - i32(p.pad);
            if iy >= 0 && ix >= 0 && iy < i32(p.h) && ix < i32(p.w) {
                let v = x[((img * p.h + u32(iy)) * p.w + u32(ix)) * p.c + ch];
                best = max(best, v);
                sum += v;
            }
        }
    }
    if take_max {
        return best;
    }
    return sum / f32(p.kh * p.kw);
}

@compute @workgroup_size(256)
fn max_pool(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = flat(gid, nwg);
    if t < p.total {
        y[t] = pooled(t, true);
    }
}

@compute @workgroup_size(256)
fn avg_pool(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = flat(gid, nwg);
    if t < p.total {
        y[t] = pooled(t, false);
    }
}
