// Makes one augmented view of a batch of images (or vectors) on the device. Images are NCHW; `src` holds
// the raw batch: dims.source 0 = uint8 packed four to a u32, 1 = float32 image in 0..1, 2 = float32
// vectors; `params` holds one row of 16 floats per sample (fields below, drawn on the host).
//
//   image   one workgroup per image: x = clamp(brightness * bilinear(src, crop box, flip), 0, 1); the mean
//           grayscale of x (a workgroup reduction); contrast, saturation, hue, grayscale; then either
//           `finish` into out, or (dims.blur == 1) the colour image into x for the blur passes
//   blur_h  tmp = horizontal Gaussian blur of x (sigma per sample, reflect padding; 0 = copy)
//   blur_v  out = finish(vertical Gaussian blur of tmp)
//   vector  out = finish(src) for vectors: noise and masking only
// where finish(v) = mask(noise(normalise(solarise(v)))) (solarise and normalise for images only).
//
// Per-sample fields: 0..3 crop box (left, top, width, height in source pixels), 4 flip, 5 brightness,
// 6 contrast, 7 saturation, 8 hue (fraction of a turn), 9 grayscale, 10 blur sigma, 11 solarise,
// 12 noise std, 13 noise seed (a whole number below 2^24), 14 mask probability, 15 unused.
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
    blur: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
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
    let n = i / (dims.c * plane);
    let sigma = param(n, 10u);
    var v = tmp[i];
    if sigma > 0.0 {
        let py = (i % plane) / dims.w_out;
        v = blur_at(true, i - py * dims.w_out, py, dims.h_out, dims.w_out, sigma);
    }
    out[i] = finish(load_finish(n), i % (dims.c * plane), v);
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

// One sample's parameter row, loaded once (every storage load costs a loop over lanes on lavapipe).
struct View {
    crop: vec4<f32>,
    flip: bool,
    brightness: f32,
    contrast: f32,
    saturation: f32,
    hue: f32,
    grayscale: bool,
    solarize: bool,
    noise: f32,
    seed: u32,
    mask: f32,
}

// Only the fields `finish` reads, for the per-element passes.
fn load_finish(n: u32) -> View {
    var v: View;
    v.solarize = param(n, 11u) > 0.5;
    v.noise = param(n, 12u);
    v.seed = u32(param(n, 13u));
    v.mask = param(n, 14u);
    return v;
}

fn load_view(n: u32) -> View {
    var v = load_finish(n);
    v.crop = vec4<f32>(param(n, 0u), param(n, 1u), param(n, 2u), param(n, 3u));
    v.flip = param(n, 4u) > 0.5;
    v.brightness = param(n, 5u);
    v.contrast = param(n, 6u);
    v.saturation = param(n, 7u);
    v.hue = param(n, 8u);
    v.grayscale = param(n, 9u) > 0.5;
    return v;
}

// The last steps of every view: solarise and normalise (images), noise, mask; element `e` of a sample.
fn finish(view: View, e: u32, value: f32) -> f32 {
    let plane = dims.h_out * dims.w_out;
    var v = value;
    if dims.source != 2u {
        if view.solarize && v >= 0.5 {
            v = 1.0 - v;
        }
        let ch = min(e / plane, 3u);
        v = (v - dims.mean[ch]) / dims.stdev[ch];
    }
    if view.noise > 0.0 {
        let r = sqrt(-2.0 * log(unit_random(view.seed, 2u * e)));
        v += view.noise * r * cos(6.2831855 * unit_random(view.seed, 2u * e + 1u));
    }
    if view.mask > 0.0 {
        let p = e % plane;
        let cells_x = (dims.w_out + dims.mask_patch - 1u) / dims.mask_patch;
        let cell = (p / dims.w_out / dims.mask_patch) * cells_x + (p % dims.w_out) / dims.mask_patch;
        if unit_random(view.seed ^ 0x9e3779b9u, cell) <= view.mask {
            v = 0.0;
        }
    }
    return v;
}

var<workgroup> partial: array<f32, 64>;

// Where output pixel (ox, oy) samples the source: the four neighbours' offsets within a channel plane and
// the two interpolation weights.
struct Tap {
    i00: u32,
    i01: u32,
    i10: u32,
    i11: u32,
    fx: f32,
    fy: f32,
}

fn tap(view: View, ox_in: u32, oy: u32) -> Tap {
    var ox = ox_in;
    if view.flip {
        ox = dims.w_out - 1u - ox;
    }
    let sx = src_coord(ox, dims.w_out, view.crop.x, view.crop.z);
    let sy = src_coord(oy, dims.h_out, view.crop.y, view.crop.w);
    let x0 = u32(floor(sx));
    let y0 = u32(floor(sy));
    let x1 = min(x0 + 1u, u32(view.crop.x + view.crop.z) - 1u);
    let y1 = min(y0 + 1u, u32(view.crop.y + view.crop.w) - 1u);
    return Tap(y0 * dims.w_in + x0, y0 * dims.w_in + x1, y1 * dims.w_in + x0, y1 * dims.w_in + x1, sx - f32(x0), sy - f32(y0));
}

// Bilinear sample of the channel plane starting at `base`, times brightness, clamped.
fn sample(view: View, t: Tap, base: u32) -> f32 {
    let top = mix(load_src(base + t.i00), load_src(base + t.i01), t.fx);
    let bottom = mix(load_src(base + t.i10), load_src(base + t.i11), t.fx);
    return clamp(view.brightness * mix(top, bottom, t.fy), 0.0, 1.0);
}

// Writes element `e` of image `n`: to out through finish, or to x when the blur passes follow.
fn emit(view: View, n: u32, e: u32, v: f32) {
    let i = n * dims.c * dims.h_out * dims.w_out + e;
    if dims.blur == 1u {
        x[i] = v;
    } else {
        out[i] = finish(view, e, v);
    }
}

@compute @workgroup_size(64)
fn image(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
) {
    let n = wid.y * nwg.x + wid.x;
    let plane = dims.h_out * dims.w_out;
    let base = n * dims.c * plane;
    var view: View;
    if n < dims.n {
        view = load_view(n);
    }
    // Crop, flip and brightness into x, summing the grayscale for contrast.
    var s = 0.0;
    if n < dims.n {
        let in_plane = dims.h_in * dims.w_in;
        let src_base = n * dims.c * in_plane;
        for (var p = t; p < plane; p += WG) {
            let tp = tap(view, p % dims.w_out, p / dims.w_out);
            if dims.c == 3u {
                let r = sample(view, tp, src_base);
                let g = sample(view, tp, src_base + in_plane);
                let b = sample(view, tp, src_base + 2u * in_plane);
                x[base + p] = r;
                x[base + plane + p] = g;
                x[base + 2u * plane + p] = b;
                s += gray(r, g, b);
            } else {
                let v = sample(view, tp, src_base);
                x[base + p] = v;
                s += v;
            }
        }
    }
    partial[t] = s;
    workgroupBarrier();
    for (var stride = 32u; stride > 0u; stride >>= 1u) {
        if t < stride {
            partial[t] += partial[t + stride];
        }
        workgroupBarrier();
    }
    if n >= dims.n {
        return;
    }
    let mean = partial[0] / f32(plane);
    // Colour operations on this thread's own pixels (written above by this same thread).
    for (var p = t; p < plane; p += WG) {
        if dims.c == 1u {
            emit(view, n, p, clamp(view.contrast * x[base + p] + (1.0 - view.contrast) * mean, 0.0, 1.0));
            continue;
        }
        var rgb = vec3<f32>(x[base + p], x[base + plane + p], x[base + 2u * plane + p]);
        rgb = clamp(view.contrast * rgb + (1.0 - view.contrast) * mean, vec3<f32>(0.0), vec3<f32>(1.0));
        let g = gray(rgb.r, rgb.g, rgb.b);
        rgb = clamp(view.saturation * rgb + (1.0 - view.saturation) * g, vec3<f32>(0.0), vec3<f32>(1.0));
        if view.hue != 0.0 {
            rgb = rotate_hue(rgb, view.hue);
        }
        if view.grayscale {
            rgb = vec3<f32>(gray(rgb.r, rgb.g, rgb.b));
        }
        emit(view, n, p, rgb.r);
        emit(view, n, plane + p, rgb.g);
        emit(view, n, 2u * plane + p, rgb.b);
    }
}

@compute @workgroup_size(64)
fn vector(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = flat(gid, nwg);
    let per_sample = dims.w_out;
    if i >= dims.n * per_sample {
        return;
    }
    out[i] = finish(load_finish(i / per_sample), i % per_sample, bitcast<f32>(src[i]));
}
