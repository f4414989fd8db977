//! Augmented views on the device (`shaders/augment/view.wgsl`): crop and resize, flip, colour jitter,
//! grayscale, Gaussian blur, solarisation, normalisation, Gaussian noise and masking, from a raw batch and
//! one row of per-sample parameters drawn on the host. Reference: `tandem_reference::augment`.

use tandem_gpu::{Gpu, Recorder, Result, Tensor, workgroups_1d};

use crate::entry::{EntryKey, R, W};

/// Floats per sample in the parameter tensor.
pub const PARAMS_PER_SAMPLE: usize = 16;

/// What the raw batch holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// uint8 images (NCHW), packed four bytes to a 32-bit word; values are scaled to 0..1.
    U8,
    /// float32 images (NCHW) with values in 0..1.
    F32Image,
    /// float32 vectors: only noise and masking apply.
    F32Vector,
}

/// The random choices for one view of one sample, drawn on the host. Identity values: full crop, no flip,
/// factors 1, hue 0, sigma 0, no noise, no mask.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ViewParams {
    /// Crop box in source pixels: left, top, width, height (whole numbers).
    pub crop: [f32; 4],
    /// Mirror horizontally.
    pub flip: bool,
    /// Brightness factor.
    pub brightness: f32,
    /// Contrast factor.
    pub contrast: f32,
    /// Saturation factor.
    pub saturation: f32,
    /// Hue shift as a fraction of a turn, in [-0.5, 0.5].
    pub hue: f32,
    /// Convert to grayscale (kept as three channels).
    pub grayscale: bool,
    /// Gaussian blur sigma in output pixels (0: none).
    pub blur_sigma: f32,
    /// Solarise (x >= 0.5 becomes 1 - x).
    pub solarize: bool,
    /// Standard deviation of added Gaussian noise, in normalised units (0: none).
    pub noise_std: f32,
    /// Seed of the noise and mask generator; only its low 24 bits are used (it travels as an exact f32).
    pub seed: u32,
    /// Probability that a mask cell (patch or feature) is set to zero.
    pub mask: f32,
}

impl ViewParams {
    /// The identity view of a `w`×`h` source.
    pub fn identity(w: usize, h: usize) -> Self {
        Self {
            crop: [0.0, 0.0, w as f32, h as f32],
            flip: false,
            brightness: 1.0,
            contrast: 1.0,
            saturation: 1.0,
            hue: 0.0,
            grayscale: false,
            blur_sigma: 0.0,
            solarize: false,
            noise_std: 0.0,
            seed: 0,
            mask: 0.0,
        }
    }

    /// The row the shader reads.
    pub fn to_row(&self) -> [f32; PARAMS_PER_SAMPLE] {
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        let [l, t, w, h] = self.crop;
        [
            l,
            t,
            w,
            h,
            flag(self.flip),
            self.brightness,
            self.contrast,
            self.saturation,
            self.hue,
            flag(self.grayscale),
            self.blur_sigma,
            flag(self.solarize),
            self.noise_std,
            (self.seed & 0xff_ffff) as f32,
            self.mask,
            0.0,
        ]
    }
}

/// Shapes and constants of one view batch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ViewShape {
    /// Samples.
    pub n: usize,
    /// Channels (1 or 3 for images; 1 for vectors).
    pub c: usize,
    /// Source height and width (vectors: 1 and D).
    pub h_in: usize,
    /// Source width.
    pub w_in: usize,
    /// Output height and width (vectors: same as the source).
    pub h_out: usize,
    /// Output width.
    pub w_out: usize,
    /// Source encoding.
    pub source: Source,
    /// Side of a square mask cell in output pixels (1 masks single pixels or features).
    pub mask_patch: usize,
    /// Per-channel mean subtracted after the colour operations.
    pub mean: [f32; 3],
    /// Per-channel standard deviation divided by.
    pub std: [f32; 3],
}

impl ViewShape {
    /// Elements of one output view: `c * h_out * w_out`.
    pub fn out_len(&self) -> usize {
        self.c * self.h_out * self.w_out
    }

    /// 32-bit words the raw batch occupies.
    pub fn src_words(&self) -> usize {
        let values = self.n * self.c * self.h_in * self.w_in;
        match self.source {
            Source::U8 => values.div_ceil(4),
            Source::F32Image | Source::F32Vector => values,
        }
    }
}

/// Scratch buffers for one view batch, allocated once and reused.
pub struct ViewWork {
    x: Tensor,
    tmp: Tensor,
    stats: Tensor,
}

impl ViewWork {
    /// Scratch for `shape`.
    pub fn new(gpu: &Gpu, shape: &ViewShape) -> Result<Self> {
        let len = (shape.n * shape.out_len()).max(1);
        Ok(Self { x: gpu.empty(&[len])?, tmp: gpu.empty(&[len])?, stats: gpu.empty(&[shape.n.max(1)])? })
    }
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
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
    _pad: [u32; 3],
    mean: [f32; 4],
    std: [f32; 4],
}

fn key(entry: &'static str) -> EntryKey {
    EntryKey { file: "augment/view.wgsl", entry, storage: &[R, R, W, W, W, W] }
}

/// Records one view: `src` is the raw batch ([`ViewShape::src_words`] words), `params` holds
/// [`PARAMS_PER_SAMPLE`] floats per sample ([`ViewParams::to_row`]), `out` receives `n × out_len` floats.
/// Images take one fused pass (crop to finish), or three when `blur` is set (chosen once per pipeline, so
/// every step records the same dispatches; samples with sigma 0 pass through the blur unchanged).
#[track_caller]
pub fn record_view(
    rec: &mut Recorder<'_>,
    shape: &ViewShape,
    blur: bool,
    src: &Tensor,
    params: &Tensor,
    work: &ViewWork,
    out: &Tensor,
) -> Result<()> {
    assert!(src.len() >= shape.src_words(), "augment: source {src:?} is shorter than {shape:?}");
    assert!(params.len() >= shape.n * PARAMS_PER_SAMPLE, "augment: parameters {params:?} for {} samples", shape.n);
    assert!(out.len() >= shape.n * shape.out_len(), "augment: output {out:?} for {shape:?}");
    assert!(shape.source != Source::F32Vector || (shape.h_in, shape.w_in) == (shape.h_out, shape.w_out));
    let pad = |v: [f32; 3], fill: f32| [v[0], v[1], v[2], fill];
    let dims = Dims {
        n: shape.n as u32,
        c: shape.c as u32,
        h_in: shape.h_in as u32,
        w_in: shape.w_in as u32,
        h_out: shape.h_out as u32,
        w_out: shape.w_out as u32,
        source: match shape.source {
            Source::U8 => 0,
            Source::F32Image => 1,
            Source::F32Vector => 2,
        },
        mask_patch: shape.mask_patch.max(1) as u32,
        blur: u32::from(blur && shape.source != Source::F32Vector),
        _pad: [0; 3],
        mean: pad(shape.mean, 0.0),
        std: pad(shape.std, 1.0),
    };
    let bound = [src, params, &work.x, &work.tmp, &work.stats, out];
    let values = shape.n * shape.out_len();
    if shape.source == Source::F32Vector {
        return key("vector").launch(rec, &bound, &dims, values, 64);
    }
    key("image").launch_groups(rec, &bound, &dims, workgroups_1d(rec.gpu(), shape.n))?;
    if dims.blur == 1 {
        key("blur_h").launch(rec, &bound, &dims, values, 64)?;
        key("blur_v").launch(rec, &bound, &dims, values, 64)?;
    }
    Ok(())
}
