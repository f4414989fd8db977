//! Augmentations in f64, the twin of `shaders/augment/view.wgsl`: images are NCHW planes of one sample
//! with values in 0..1; every operation follows torchvision's formula (named in each doc comment).

/// Geometry of one image: channels, height, width.
#[derive(Clone, Copy, Debug)]
pub struct Image {
    /// Channels (1 or 3).
    pub c: usize,
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
}

/// ITU-R 601 luma, as torchvision's `rgb_to_grayscale`.
pub fn gray(r: f64, g: f64, b: f64) -> f64 {
    0.2989 * r + 0.587 * g + 0.114 * b
}

/// `resized_crop` (bilinear, half-pixel centres, no antialiasing) then optional horizontal flip: the
/// crop box `[left, top, width, height]` of `src` resized to `out`.
pub fn crop_resize(src: &[f64], img: Image, crop: [f64; 4], flip: bool, out: Image) -> Vec<f64> {
    let [left, top, cw, ch] = crop;
    let coord = |o: usize, out_len: usize, start: f64, len: f64| {
        start + ((o as f64 + 0.5) * len / out_len as f64 - 0.5).clamp(0.0, len - 1.0)
    };
    let mut y = vec![0.0; out.c * out.h * out.w];
    for oy in 0..out.h {
        for ox in 0..out.w {
            let sx_o = if flip { out.w - 1 - ox } else { ox };
            let (sx, sy) = (coord(sx_o, out.w, left, cw), coord(oy, out.h, top, ch));
            let (x0, y0) = (sx.floor() as usize, sy.floor() as usize);
            let x1 = (x0 + 1).min((left + cw) as usize - 1);
            let y1 = (y0 + 1).min((top + ch) as usize - 1);
            let (fx, fy) = (sx - x0 as f64, sy - y0 as f64);
            for c in 0..out.c {
                let at = |yy: usize, xx: usize| src[(c * img.h + yy) * img.w + xx];
                let t = at(y0, x0) * (1.0 - fx) + at(y0, x1) * fx;
                let b = at(y1, x0) * (1.0 - fx) + at(y1, x1) * fx;
                y[(c * out.h + oy) * out.w + ox] = t * (1.0 - fy) + b * fy;
            }
        }
    }
    y
}

/// `adjust_brightness`: clamp(f x).
pub fn brightness(x: &mut [f64], f: f64) {
    x.iter_mut().for_each(|v| *v = (f * *v).clamp(0.0, 1.0));
}

/// Grayscale of every pixel (the single channel itself when `c == 1`).
fn grays(x: &[f64], img: Image) -> Vec<f64> {
    let plane = img.h * img.w;
    (0..plane).map(|p| if img.c == 3 { gray(x[p], x[p + plane], x[p + 2 * plane]) } else { x[p] }).collect()
}

/// `adjust_contrast`: blend with the mean of the grayscale image, clamp.
pub fn contrast(x: &mut [f64], img: Image, f: f64) {
    let g = grays(x, img);
    let mean = g.iter().sum::<f64>() / g.len() as f64;
    x.iter_mut().for_each(|v| *v = (f * *v + (1.0 - f) * mean).clamp(0.0, 1.0));
}

/// `adjust_saturation`: blend each pixel with its grayscale, clamp (colour images only).
pub fn saturation(x: &mut [f64], img: Image, f: f64) {
    let g = grays(x, img);
    let plane = img.h * img.w;
    for (i, v) in x.iter_mut().enumerate() {
        *v = (f * *v + (1.0 - f) * g[i % plane]).clamp(0.0, 1.0);
    }
}

/// torchvision's `_rgb2hsv`, hue shifted by `shift` turns, `_hsv2rgb`.
pub fn rotate_hue(rgb: [f64; 3], shift: f64) -> [f64; 3] {
    let [r, g, b] = rgb;
    let maxc = r.max(g).max(b);
    let minc = r.min(g).min(b);
    let cr = maxc - minc;
    let v = maxc;
    let s = if maxc > 0.0 { cr / maxc } else { 0.0 };
    let mut h = 0.0;
    if cr > 0.0 {
        let (rc, gc, bc) = ((maxc - r) / cr, (maxc - g) / cr, (maxc - b) / cr);
        h = if maxc == r {
            bc - gc
        } else if maxc == g {
            2.0 + rc - bc
        } else {
            4.0 + gc - rc
        };
        h = (h / 6.0 + 1.0).fract();
    }
    h = (h + shift + 1.0).fract();
    let h6 = h * 6.0;
    let sector = (h6.floor() as usize).min(5);
    let f = h6 - h6.floor();
    let p = (v * (1.0 - s)).clamp(0.0, 1.0);
    let q = (v * (1.0 - s * f)).clamp(0.0, 1.0);
    let t = (v * (1.0 - s * (1.0 - f))).clamp(0.0, 1.0);
    match sector {
        0 => [v, t, p],
        1 => [q, v, p],
        2 => [p, v, t],
        3 => [p, q, v],
        4 => [t, p, v],
        _ => [v, p, q],
    }
}

/// `adjust_hue` on a colour image.
pub fn hue(x: &mut [f64], img: Image, shift: f64) {
    let plane = img.h * img.w;
    for p in 0..plane {
        let out = rotate_hue([x[p], x[p + plane], x[p + 2 * plane]], shift);
        (x[p], x[p + plane], x[p + 2 * plane]) = (out[0], out[1], out[2]);
    }
}

/// `rgb_to_grayscale` with three output channels.
pub fn grayscale(x: &mut [f64], img: Image) {
    let g = grays(x, img);
    let plane = img.h * img.w;
    for (i, v) in x.iter_mut().enumerate() {
        *v = g[i % plane];
    }
}

/// Reflect padding (PyTorch "reflect": the edge is not repeated) into `0..len`.
fn reflect(i: isize, len: usize) -> usize {
    let len = len as isize;
    let mut j = i.abs();
    if j >= len {
        j = 2 * (len - 1) - j;
    }
    j.clamp(0, len - 1) as usize
}

/// Separable Gaussian blur, window radius ceil(3 sigma) (at most the side minus one), weights normalised
/// over the window, reflect padding: horizontal pass, then vertical.
pub fn gaussian_blur(x: &[f64], img: Image, sigma: f64) -> Vec<f64> {
    if sigma <= 0.0 {
        return x.to_vec();
    }
    let pass = |v: &[f64], along_w: bool| {
        let len = if along_w { img.w } else { img.h };
        let radius = ((3.0 * sigma).ceil() as isize).min(len as isize - 1);
        let mut out = vec![0.0; v.len()];
        for (i, o) in out.iter_mut().enumerate() {
            let (row, col) = ((i / img.w) % img.h, i % img.w);
            let pos = if along_w { col } else { row } as isize;
            let (mut acc, mut wsum) = (0.0, 0.0);
            for k in -radius..=radius {
                let w = (-0.5 * (k * k) as f64 / (sigma * sigma)).exp();
                let j = reflect(pos + k, len);
                let idx = if along_w { i - col + j } else { i - row * img.w + j * img.w };
                acc += w * v[idx];
                wsum += w;
            }
            *o = acc / wsum;
        }
        out
    };
    pass(&pass(x, true), false)
}

/// `solarize` with threshold 0.5: values at or above it become 1 - x.
pub fn solarize(x: &mut [f64]) {
    x.iter_mut().for_each(|v| {
        if *v >= 0.5 {
            *v = 1.0 - *v
        }
    });
}

/// `normalize`: (x - mean_c) / std_c per channel.
pub fn normalize(x: &mut [f64], img: Image, mean: &[f64], std: &[f64]) {
    let plane = img.h * img.w;
    for (i, v) in x.iter_mut().enumerate() {
        let c = i / plane;
        *v = (*v - mean[c]) / std[c];
    }
}

/// PCG hash (O'Neill), the generator behind noise and masks.
pub fn hash(v: u32) -> u32 {
    let state = v.wrapping_mul(747796405).wrapping_add(2891336453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277803737);
    (word >> 22) ^ word
}

/// Uniform in (0, 1] from 24 bits of the hash of `(seed, counter)`.
pub fn uniform(seed: u32, counter: u32) -> f64 {
    ((hash(seed ^ hash(counter)) >> 8) + 1) as f64 / 16_777_216.0
}

/// Adds `std` times a standard normal (Box-Muller over counters 2e and 2e+1) to element e.
pub fn noise(x: &mut [f64], std: f64, seed: u32) {
    for (e, v) in x.iter_mut().enumerate() {
        let e = e as u32;
        let r = (-2.0 * uniform(seed, 2 * e).ln()).sqrt();
        *v += std * r * (std::f64::consts::TAU * uniform(seed, 2 * e + 1)).cos();
    }
}

/// Zeroes every square cell of side `patch` (in every channel) whose draw is at most `p`.
pub fn mask(x: &mut [f64], img: Image, patch: usize, p: f64, seed: u32) {
    let plane = img.h * img.w;
    let cells_x = img.w.div_ceil(patch);
    for (i, v) in x.iter_mut().enumerate() {
        let q = i % plane;
        let cell = (q / img.w / patch) * cells_x + (q % img.w) / patch;
        if uniform(seed ^ 0x9e37_79b9, cell as u32) <= p {
            *v = 0.0;
        }
    }
}

/// The whole view of one sample, in the shader's order, from its 16-float parameter row (layout in
/// `tandem_kernels::augment::ViewParams::to_row`). `vector` data skips every image operation.
#[allow(clippy::too_many_arguments)]
pub fn view(
    src: &[f64],
    img: Image,
    out: Image,
    row: &[f32; 16],
    vector: bool,
    mean: &[f64],
    std: &[f64],
    mask_patch: usize,
) -> Vec<f64> {
    let p = |k: usize| f64::from(row[k]);
    let mut x = if vector {
        src.to_vec()
    } else {
        let mut x = crop_resize(src, img, [p(0), p(1), p(2), p(3)], p(4) > 0.5, out);
        brightness(&mut x, p(5));
        contrast(&mut x, out, p(6));
        if out.c == 3 {
            saturation(&mut x, out, p(7));
            if p(8) != 0.0 {
                hue(&mut x, out, p(8));
            }
            if p(9) > 0.5 {
                grayscale(&mut x, out);
            }
        }
        x = gaussian_blur(&x, out, p(10));
        if p(11) > 0.5 {
            solarize(&mut x);
        }
        normalize(&mut x, out, mean, std);
        x
    };
    let seed = row[13] as u32;
    if p(12) > 0.0 {
        noise(&mut x, p(12), seed);
    }
    if p(14) > 0.0 {
        mask(&mut x, out, mask_patch, p(14), seed);
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_crop_reproduces_the_image() {
        let img = Image { c: 3, h: 5, w: 7 };
        let src: Vec<f64> = (0..105).map(|i| i as f64 / 105.0).collect();
        assert_eq!(crop_resize(&src, img, [0.0, 0.0, 7.0, 5.0], false, img), src);
        let flipped = crop_resize(&src, img, [0.0, 0.0, 7.0, 5.0], true, img);
        assert_eq!(flipped[0], src[6]);
    }

    #[test]
    fn hue_rotation_round_trips_and_a_full_turn_is_identity() {
        for rgb in [[0.2, 0.5, 0.9], [0.9, 0.1, 0.1], [0.3, 0.3, 0.3], [0.0, 1.0, 0.5]] {
            let back = rotate_hue(rotate_hue(rgb, 0.3), -0.3);
            let same = rotate_hue(rgb, 0.0);
            for k in 0..3 {
                assert!((back[k] - rgb[k]).abs() < 1e-12 && (same[k] - rgb[k]).abs() < 1e-12, "{rgb:?}");
            }
        }
        // Pure red by a third of a turn is pure green.
        let g = rotate_hue([1.0, 0.0, 0.0], 1.0 / 3.0);
        assert!((g[0]).abs() < 1e-12 && (g[1] - 1.0).abs() < 1e-12 && g[2].abs() < 1e-12);
    }

    #[test]
    fn blur_keeps_constants_and_mass() {
        let img = Image { c: 1, h: 9, w: 11 };
        let flat = vec![0.25; 99];
        assert!(gaussian_blur(&flat, img, 1.5).iter().all(|v| (v - 0.25).abs() < 1e-12));
        let mut spike = vec![0.0; 99];
        spike[4 * 11 + 5] = 1.0;
        let b = gaussian_blur(&spike, img, 1.0);
        assert!((b.iter().sum::<f64>() - 1.0).abs() < 1e-9 && b[4 * 11 + 5] < 0.2);
    }

    #[test]
    fn noise_is_standard_normal_and_mask_rate_matches() {
        let mut x = vec![0.0; 200_000];
        noise(&mut x, 1.0, 7);
        let mean = x.iter().sum::<f64>() / x.len() as f64;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / x.len() as f64;
        assert!(mean.abs() < 0.01 && (var - 1.0).abs() < 0.02, "mean {mean} var {var}");
        let img = Image { c: 1, h: 1, w: 100_000 };
        let mut y = vec![1.0; 100_000];
        mask(&mut y, img, 1, 0.3, 11);
        let rate = y.iter().filter(|v| **v == 0.0).count() as f64 / 1e5;
        assert!((rate - 0.3).abs() < 0.01, "mask rate {rate}");
    }
}
