//! Augmented views on the device against the f64 reference: uint8 and float sources, one and three
//! channels, odd sizes, down- and up-scaling, every operation drawn at random per sample; and vectors.

use rand::Rng;
use tandem::kernels::augment::{Source, ViewParams, ViewShape, ViewWork, record_view};
use tandem::reference::augment::{Image, view};

use crate::common::*;

fn random_params(r: &mut impl Rng, w: usize, h: usize, all: bool) -> ViewParams {
    let cw = r.random_range(1..=w);
    let ch = r.random_range(1..=h);
    let on = |r: &mut dyn rand::RngCore| all || r.random_bool(0.5);
    ViewParams {
        crop: [r.random_range(0..=w - cw) as f32, r.random_range(0..=h - ch) as f32, cw as f32, ch as f32],
        flip: r.random_bool(0.5),
        brightness: if on(r) { r.random_range(0.6..1.4) } else { 1.0 },
        contrast: if on(r) { r.random_range(0.6..1.4) } else { 1.0 },
        saturation: if on(r) { r.random_range(0.6..1.4) } else { 1.0 },
        hue: if on(r) { r.random_range(-0.1..0.1) } else { 0.0 },
        grayscale: r.random_bool(0.3),
        blur_sigma: if on(r) { r.random_range(0.1..2.0) } else { 0.0 },
        solarize: r.random_bool(0.3),
        noise_std: if on(r) { r.random_range(0.0..0.5) } else { 0.0 },
        seed: r.random::<u32>() >> 8,
        mask: if on(r) { r.random_range(0.0..0.6) } else { 0.0 },
    }
}

fn check_images(
    blur: bool,
    source: Source,
    n: usize,
    c: usize,
    (h_in, w_in): (usize, usize),
    (h_out, w_out): (usize, usize),
) {
    let mut r = rng((n * 131 + c * 17 + h_in * 7 + w_out) as u64);
    let values = n * c * h_in * w_in;
    let bytes: Vec<u8> = (0..values).map(|_| r.random()).collect();
    let floats: Vec<f32> = bytes.iter().map(|&b| f32::from(b) / 255.0).collect();
    let mut params: Vec<ViewParams> = (0..n).map(|_| random_params(&mut r, w_in, h_in, false)).collect();
    if !blur {
        params.iter_mut().for_each(|p| p.blur_sigma = 0.0);
    }
    let shape = ViewShape {
        n,
        c,
        h_in,
        w_in,
        h_out,
        w_out,
        source,
        mask_patch: 3,
        mean: [0.4914, 0.4822, 0.4465],
        std: [0.247, 0.243, 0.261],
    };
    let gpu = gpu();
    let src = gpu.empty(&[shape.src_words()]).unwrap();
    match source {
        Source::U8 => {
            let mut padded = bytes.clone();
            padded.resize(shape.src_words() * 4, 0);
            gpu.write_bytes(&src, &padded);
        }
        _ => gpu.write(&src, &floats),
    }
    let rows: Vec<f32> = params.iter().flat_map(|p| p.to_row()).collect();
    let tparams = up(&[n, 16], &rows);
    let work = ViewWork::new(gpu, &shape).unwrap();
    let out = gpu.empty(&[n, shape.out_len()]).unwrap();
    run(|rec| record_view(rec, &shape, blur, &src, &tparams, &work, &out));
    let got = down(&out);
    let (img, out_img) = (Image { c, h: h_in, w: w_in }, Image { c, h: h_out, w: w_out });
    let mean: Vec<f64> = shape.mean.iter().map(|&v| f64::from(v)).collect();
    let std: Vec<f64> = shape.std.iter().map(|&v| f64::from(v)).collect();
    for (s, p) in params.iter().enumerate() {
        let x = f64s(&floats[s * c * h_in * w_in..(s + 1) * c * h_in * w_in]);
        let want = view(&x, img, out_img, &p.to_row(), false, &mean, &std, 3);
        let len = shape.out_len();
        assert_close(
            &format!("{source:?} view of sample {s} ({c}x{h_in}x{w_in} -> {h_out}x{w_out}, {p:?})"),
            &got[s * len..(s + 1) * len],
            &want,
            2e-4,
            2e-4,
        );
    }
}

#[test]
fn image_views_match_reference() {
    check_images(true, Source::U8, 5, 3, (32, 32), (24, 24));
    check_images(false, Source::U8, 3, 3, (13, 17), (32, 32));
    check_images(true, Source::U8, 7, 1, (28, 28), (19, 23));
    check_images(true, Source::U8, 1, 3, (1, 1), (1, 1));
    check_images(false, Source::U8, 2, 3, (5, 3), (2, 7));
    check_images(true, Source::F32Image, 4, 3, (31, 29), (16, 16));
}

#[test]
fn vector_views_add_noise_and_mask_features() {
    let (n, d) = (9, 37);
    let mut r = rng(5);
    let x = uniform(&mut r, n * d);
    let params: Vec<ViewParams> = (0..n).map(|_| random_params(&mut r, d, 1, false)).collect();
    let shape = ViewShape {
        n,
        c: 1,
        h_in: 1,
        w_in: d,
        h_out: 1,
        w_out: d,
        source: Source::F32Vector,
        mask_patch: 1,
        mean: [0.0; 3],
        std: [1.0; 3],
    };
    let gpu = gpu();
    let src = up(&[n * d], &x);
    let rows: Vec<f32> = params.iter().flat_map(|p| p.to_row()).collect();
    let (tparams, work, out) = (up(&[n, 16], &rows), ViewWork::new(gpu, &shape).unwrap(), gpu.empty(&[n, d]).unwrap());
    run(|rec| record_view(rec, &shape, false, &src, &tparams, &work, &out));
    let got = down(&out);
    let img = Image { c: 1, h: 1, w: d };
    for (s, p) in params.iter().enumerate() {
        let want = view(&f64s(&x[s * d..(s + 1) * d]), img, img, &p.to_row(), true, &[0.0], &[1.0], 1);
        assert_close(&format!("vector view {s} {p:?}"), &got[s * d..(s + 1) * d], &want, 1e-5, 1e-5);
    }
}
