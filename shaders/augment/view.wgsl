// Makes one augmented view of a batch of images (or vectors) on the device, in passes that share one
// binding layout. Images are NCHW; `src` holds the raw batch: dims.source 0 = uint8 packed four to a u32,
// 1 = float32 image in 0..1, 2 = float32 vectors (only `finish` runs, reading src, with no clamping);
// `params` holds one row of 16 floats per sample (fields below, drawn on the host).
//
//   crop      x = clamp(brightness * bilinear(src, crop box, flip), 0, 1)     (values scaled to 0..1)
//   gray_mean stats[n] = mean over pixels of the grayscale of x                 (one workgroup per image)
//   color     contrast, saturation, hue, grayscale, in place on x
//   blur_h    tmp = horizontal Gaussian blur of x (sigma per sample, reflect padding; 0 = copy)
//   blur_v    x = vertical Gaussian blur of tmp
//   finish    out = mask(noise(normalise(solarise(x))))                        (also the vector path)
//
// Per-sample fields: 0..3 crop box (left, top, width, height in source pixels), 4 flip, 5 brightness,
// 6 contrast, 7 saturation, 8 hue (fraction of a turn), 9 grayscale, 10 blur sigma, 11 solarise,
// 12 noise std, 13 noise seed (u32 bits), 14 mask probability, 15 unused.
// Reference: tandem_reference::augment (same formulas, in f64).

struct Dims {
    n: u32,
    c: u32,
    h_in: u32,
    w_in: u32,
    h_out: u32,
    w_out: u32,
    source: u32,
    mask_patch: u32,
    mean: vec4<f32>,
    stdev: vec4<f32>,
}

@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> tmp: array<f32>;
@group(0) @binding(4) var<storage, read_write> stats: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<uniform> dims: Dims;

const WG: u32 = 64u;

fn flat(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.y * nwg.x * WG + gid.x;
}

fn param(n: u32, k: u32) -> f32 {
    return params[n * 16u + k];
}

fn load_src(i: u32) -> f32 {
    if dims.source != 0u {
        return bitcast<f32>(src[i]);
    }
    return f32((src[i >> 2u] >> ((i & 3u) * 8u)) & 255u) / 255.0;
}

fn gray(r: f32, g: f32, b: f32) -> f32 {
    return 0.2989 * r + 0.587 * g + 0.114 * b;
}

// Half-pixel-centre source coordinate of output index `o` in a crop of `len` pixels starting at `start`,
// resized to `out_len`, clamped to the crop.
fn src_coord(o: u32, out_len: u32, start: f32, len: f32) -> f32 {
    let local = (f32(o) + 0.5) * len / f32(out_len) - 0.5;
    return start + clamp(local, 0.0, len - 1.0);
}

@compute @workgroup_size(64)
fn crop(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg);
    let plane = dims.h_out * dims.w_out;
    if i >= dims.n * plane {
        return;
    }
    let n = i / plane;
    let oy = (i % plane) / dims.w_out;
    var ox = i % dims.w_out;
    if param(n, 4u) > 0.5 {
        ox = dims.w_out - 1u - ox;
    }
    let sx = src_coord(ox, dims.w_out, param(n, 0u), param(n, 2u));
    let sy = src_coord(oy, dims.h_out, param(n, 1u), param(n, 3u));
    let x0 = u32(floor(sx));
    let y0 = u32(floor(sy));
    let x1 = min(x0 + 1u, u32(param(n, 0u) + param(n, 2u)) - 1u);
    let y1 = min(y0 + 1u, u32(param(n, 1u) + param(n, 3u)) - 1u);
    let fx = sx - f32(x0);
    let fy = sy - f32(y0);
    let brightness = param(n, 5u);
    let in_plane = dims.h_in * dims.w_in;
    for (var ch = 0u; ch < dims.c; ch++) {
        let base = (n * dims.c + ch) * in_plane;
        let top = mix(load_src(base + y0 * dims.w_in + x0), load_src(base + y0 * dims.w_in + x1), fx);
        let bottom = mix(load_src(base + y1 * dims.w_in + x0), load_src(base + y1 * dims.w_in + x1), fx);
        x[(n * dims.c + ch) * plane + oy * dims.w_out + (i % dims.w_out)] =
            clamp(brightness * mix(top, bottom, fy), 0.0, 1.0);
    }
}

fn pixel_gray(n: u32, p: u32) -> f32 {
    let plane = dims.h_out * dims.w_out;
    let base = n * dims.c * plane + p;
    if dims.c == 3u {
        return gray(x[base], x[base + plane], x[base + 2u * plane]);
    }
    return x[base];
}

var<workgroup> partial: array<f32, 64>;

@compute @workgroup_size(64)
fn gray_mean(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let n = wid.x;
    let plane = dims.h_out * dims.w_out;
    var s = 0.0;
    for (var p = t; p < plane; p += WG) {
        s += pixel_gray(n, p);
    }
    partial[t] = s;
    workgroupBarrier();
    for (var stride = 32u; stride > 0u; stride >>= 1u) {
        if t < stride {
            partial[t] += partial[t + stride];
        }
        workgroupBarrier();
    }
    if t == 0u {
        stats[n] = partial[0] / f32(plane);
    }
}

// torchvision's RGB -> HSV -> RGB hue rotation (all in 0..1).
fn rotate_hue(rgb: vec3<f32>, shift: f32) -> vec3<f32> {
    let maxc = max(rgb.r, max(rgb.g, rgb.b));
    let minc = min(rgb.r, min(rgb.g, rgb.b));
    let cr = maxc - minc;
    let v = maxc;
    var s = 0.0;
    if maxc > 0.0 {
        s = cr / maxc;
    }
    var h = 0.0;
    if cr > 0.0 {
        let rc = (maxc - rgb.r) / cr;
        let gc = (maxc - rgb.g) / cr;
        let bc = (maxc - rgb.b) / cr;
        if maxc == rgb.r {
            h = bc - gc;
        } else if maxc == rgb.g {
            h = 2.0 + rc - bc;
        } else {
            h = 4.0 + gc - rc;
        }
        h = fract(h / 6.0 + 1.0);
    }
    h = fract(h + shift + 1.0);
    let h6 = h * 6.0;
    let sector = min(u32(floor(h6)), 5u);
    let f = h6 - floor(h6);
    let p = clamp(v * (1.0 - s), 0.0, 1.0);
    let q = clamp(v * (1.0 - s * f), 0.0, 1.0);
    let tt = clamp(v * (1.0 - s * (1.0 - f)), 0.0, 1.0);
    switch sector {
        case 0u: { return vec3<f32>(v, tt, p); }
        case 1u: { return vec3<f32>(q, v, p); }
        case 2u: { return vec3<f32>(p, v, tt); }
        case 3u: { return vec3<f32>(p, q, v); }
        case 4u: { return vec3<f32>(tt, p, v); }
        default: { return vec3<f32>(v, p, q); }
    }
}

@compute @workgroup_size(64)
fn color(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg);
    let plane = dims.h_out * dims.w_out;
    if i >= dims.n * plane {
        return;
    }
    let n = i / plane;
    let base = n * dims.c * plane + i % plane;
    let contrast = param(n, 6u);
    let saturation = param(n, 7u);
    let hue = param(n, 8u);
    let mean = stats[n];
    if dims.c == 1u {
        x[base] = clamp(contrast * x[base] + (1.0 - contrast) * mean, 0.0, 1.0);
        return;
    }
    var rgb = vec3<f32>(x[base], x[base + plane], x[base + 2u * plane]);
    rgb = clamp(contrast * rgb + (1.0 - contrast) * mean, vec3<f32>(0.0), vec3<f32>(1.0));
    let g = gray(rgb.r, rgb.g, rgb.b);
    rgb = clamp(saturation * rgb + (1.0 - saturation) * g, vec3<f32>(0.0), vec3<f32>(1.0));
    if hue != 0.0 {
        rgb = rotate_hue(rgb, hue);
    }
    if param(n, 9u) > 0.5 {
        rgb = vec3<f32>(gray(rgb.r, rgb.g, rgb.b));
    }
    x[base] = rgb.r;
    x[base + plane] = rgb.g;
    x[base + 2u * plane] = rgb.b;
}

// Reflect-101 index (PyTorch's "reflect" padding) into 0..len-1.
fn reflect(i: i32, len: i32) -> u32 {
    var j = i;
    if j < 0 {
        j = -j;
    }
    if j >= len {
        j = 2 * (len - 1) - j;
    }
    return u32(clamp(j, 0, len - 1));
}

// Gaussian blur of one pixel along one axis: `stride` between neighbours, `pos` and `len` along it.
fn blur_at(from_tmp: bool, base: u32, pos: u32, len: u32, stride: u32, sigma: f32) -> f32 {
    let radius = min(i32(ceil(3.0 * sigma)), i32(len) - 1);
    var acc = 0.0;
    var wsum = 0.0;
    for (var k = -radius; k <= radius; k++) {
        let w = exp(-0.5 * f32(k * k) / (sigma * sigma));
        let j = base + reflect(i32(pos) + k, i32(len)) * stride;
        var v = 0.0;
        if from_tmp {
            v = tmp[j];
        } else {
            v = x[j];
        }
        acc += w * v;
        wsum += w;
    }
    return acc / wsum;
}

@compute @workgroup_size(64)
fn blur_h(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg);
    let plane = dims.h_out * dims.w_out;
    if i >= dims.n * dims.c * plane {
        return;
    }
    let sigma = param(i / (dims.c * plane), 10u);
    if sigma <= 0.0 {
        tmp[i] = x[i];
        return;
    }
    let px = i % dims.w_out;
    tmp[i] = blur_at(false, i - px, px, dims.w_out, 1u, sigma);
}

@compute @workgroup_size(64)
fn blur_v(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg);
    let plane = dims.h_out * dims.w_out;
    if i >= dims.n * dims.c * plane {
        return;
    }
    let sigma = param(i / (dims.c * plane), 10u);
    if sigma <= 0.0 {
        x[i] = tmp[i];
        return;
    }
    let py = (i % plane) / dims.w_out;
    x[i] = blur_at(true, i - py * dims.w_out, py, dims.h_out, dims.w_out, sigma);
}

// PCG hash (O'Neill), the counter-based generator behind noise and masks.
fn hash(v: u32) -> u32 {
    let state = v * 747796405u + 2891336453u;
    let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
    return (word >> 22u) ^ word;
}

// Uniform in (0, 1] from 24 bits of hash(seed, counter).
fn unit_random(seed: u32, counter: u32) -> f32 {
    return f32((hash(seed ^ hash(counter)) >> 8u) + 1u) / 16777216.0;
}

@compute @workgroup_size(64)
fn finish(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg);
    let plane = dims.h_out * dims.w_out;
    let per_sample = dims.c * plane;
    if i >= dims.n * per_sample {
        return;
    }
    let n = i / per_sample;
    let ch = (i % per_sample) / plane;
    var v = 0.0;
    if dims.source == 2u {
        v = bitcast<f32>(src[i]);
    } else {
        v = x[i];
        if param(n, 11u) > 0.5 && v >= 0.5 {
            v = 1.0 - v;
        }
        v = (v - dims.mean[min(ch, 3u)]) / dims.stdev[min(ch, 3u)];
    }
    let seed = bitcast<u32>(param(n, 13u));
    let noise = param(n, 12u);
    let e = i % per_sample;
    if noise > 0.0 {
        let r = sqrt(-2.0 * log(unit_random(seed, 2u * e)));
        v += noise * r * cos(6.2831855 * unit_random(seed, 2u * e + 1u));
    }
    let mask = param(n, 14u);
    if mask > 0.0 {
        let p = i % plane;
        let cells_x = (dims.w_out + dims.mask_patch - 1u) / dims.mask_patch;
        let cell = (p / dims.w_out / dims.mask_patch) * cells_x + (p % dims.w_out) / dims.mask_patch;
        if unit_random(seed ^ 0x9e3779b9u, cell) <= mask {
            v = 0.0;
        }
    }
    out[i] = v;
}
