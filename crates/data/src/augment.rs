//! Augmentation policies: per-view probabilities and ranges (torchvision's semantics), the named presets
//! of the published methods, and the host-side draw of each sample's [`ViewParams`]. The pixels are
//! transformed on the device (`tandem_kernels::augment`).

use rand::Rng;
use tandem_kernels::augment::ViewParams;

use crate::dataset::Layout;

/// `ColorJitter(brightness, contrast, saturation, hue)` applied with probability `p`; factors are drawn
/// uniformly from [max(0, 1 - x), 1 + x] and the hue shift from [-hue, hue]. Applied in the fixed order
/// brightness, contrast, saturation, hue (torchvision draws a random order).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ColorJitter {
    /// Brightness strength.
    pub brightness: f32,
    /// Contrast strength.
    pub contrast: f32,
    /// Saturation strength.
    pub saturation: f32,
    /// Hue strength (at most 0.5).
    pub hue: f32,
    /// Probability of applying the jitter.
    pub p: f32,
}

/// What one view does, and with which probabilities.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ViewPolicy {
    /// RandomResizedCrop area fraction range (None: no crop, the whole image resized).
    pub crop_scale: Option<(f32, f32)>,
    /// RandomResizedCrop aspect-ratio range.
    pub crop_ratio: (f32, f32),
    /// Horizontal flip probability.
    pub flip_p: f32,
    /// Colour jitter.
    pub jitter: Option<ColorJitter>,
    /// Grayscale probability.
    pub grayscale_p: f32,
    /// Gaussian blur probability.
    pub blur_p: f32,
    /// Gaussian blur sigma range, in output pixels.
    pub blur_sigma: (f32, f32),
    /// Solarisation probability.
    pub solarize_p: f32,
    /// Gaussian noise, in units of the data's standard deviation (0: none).
    pub noise_std: f32,
    /// Probability that each mask cell (patch or feature) is zeroed (0: none).
    pub mask_p: f32,
}

impl ViewPolicy {
    /// The view that leaves the sample as it is.
    pub const IDENTITY: ViewPolicy = ViewPolicy {
        crop_scale: None,
        crop_ratio: (3.0 / 4.0, 4.0 / 3.0),
        flip_p: 0.0,
        jitter: None,
        grayscale_p: 0.0,
        blur_p: 0.0,
        blur_sigma: (0.1, 2.0),
        solarize_p: 0.0,
        noise_std: 0.0,
        mask_p: 0.0,
    };
}

/// Both views' policies, the output size and the mask cell size.
#[derive(Clone, Debug, PartialEq)]
pub struct Augmentation {
    /// Preset name (or "custom").
    pub name: String,
    /// View 1 and view 2.
    pub views: [ViewPolicy; 2],
    /// Output image size (height, width); None keeps the input size.
    pub out_size: Option<(usize, usize)>,
    /// Side of a square mask cell, in output pixels (vectors mask single features).
    pub mask_patch: usize,
}

/// Images with a side at most this are "small" (CIFAR-like): presets turn blur off for them, as the
/// published CIFAR recipes (solo-learn, lightly) do.
pub const SMALL_IMAGE: usize = 64;

impl Augmentation {
    /// Preset names: one per method, plus `none`.
    pub const PRESETS: &[&str] = &["simclr", "byol", "vicreg", "barlow-twins", "simsiam", "dae", "none"];

    /// The named preset for data of `layout`. Images: SimCLR (Chen et al. 2020: crop 0.08–1, flip, jitter
    /// 0.8/0.8/0.8/0.2 p 0.8, grayscale 0.2, blur p 0.5); BYOL, VICReg and Barlow Twins share BYOL's
    /// asymmetric pair (jitter 0.4/0.4/0.2/0.1 p 0.8, grayscale 0.2; view 1 always blurred, view 2 blurred
    /// with p 0.1 and solarised with p 0.2); SimSiam (crop 0.2–1, jitter 0.4/0.4/0.4/0.1 p 0.8, grayscale
    /// 0.2, blur p 0.5); dae (view 1 clean, view 2 with half of its 4×4 patches masked). Vectors: Gaussian
    /// noise 0.1 and feature masking 0.2 in both views (dae: view 1 clean, view 2 noise 0.1 and masking
    /// 0.3). `none` is the identity for both.
    pub fn preset(name: &str, layout: Layout) -> Option<Self> {
        let id = ViewPolicy::IDENTITY;
        let views = match layout {
            Layout::Vector { .. } => {
                let noisy = ViewPolicy { noise_std: 0.1, mask_p: 0.2, ..id };
                match name {
                    "simclr" | "byol" | "vicreg" | "barlow-twins" | "simsiam" => [noisy, noisy],
                    "dae" => [id, ViewPolicy { noise_std: 0.1, mask_p: 0.3, ..id }],
                    "none" => [id, id],
                    _ => return None,
                }
            }
            Layout::Image { h, w, .. } => {
                let base = ViewPolicy { crop_scale: Some((0.08, 1.0)), flip_p: 0.5, grayscale_p: 0.2, ..id };
                let jitter =
                    |b, c, s, hue| Some(ColorJitter { brightness: b, contrast: c, saturation: s, hue, p: 0.8 });
                let mut views = match name {
                    "simclr" => {
                        let v = ViewPolicy { jitter: jitter(0.8, 0.8, 0.8, 0.2), blur_p: 0.5, ..base };
                        [v, v]
                    }
                    "byol" | "vicreg" | "barlow-twins" => {
                        let v = ViewPolicy { jitter: jitter(0.4, 0.4, 0.2, 0.1), ..base };
                        [ViewPolicy { blur_p: 1.0, ..v }, ViewPolicy { blur_p: 0.1, solarize_p: 0.2, ..v }]
                    }
                    "simsiam" => {
                        let v = ViewPolicy {
                            crop_scale: Some((0.2, 1.0)),
                            jitter: jitter(0.4, 0.4, 0.4, 0.1),
                            blur_p: 0.5,
                            ..base
                        };
                        [v, v]
                    }
                    "dae" => [id, ViewPolicy { mask_p: 0.5, ..id }],
                    "none" => [id, id],
                    _ => return None,
                };
                if h.max(w) <= SMALL_IMAGE {
                    views.iter_mut().for_each(|v| v.blur_p = 0.0);
                }
                views
            }
        };
        Some(Self { name: name.to_string(), views, out_size: None, mask_patch: 4 })
    }

    /// Whether any view can blur (the device then runs the blur passes).
    pub fn blurs(&self) -> bool {
        self.views.iter().any(|v| v.blur_p > 0.0)
    }

    /// Draws both views of one sample of a `w`×`h` source; `noise_scale` converts the policies' noise
    /// into the units the device adds it in.
    pub fn draw(&self, rng: &mut impl Rng, w: usize, h: usize, noise_scale: f32) -> [ViewParams; 2] {
        self.views.map(|v| draw_view(&v, rng, w, h, noise_scale))
    }
}

fn draw_view(v: &ViewPolicy, rng: &mut impl Rng, w: usize, h: usize, noise_scale: f32) -> ViewParams {
    let mut p = ViewParams::identity(w, h);
    if let Some(scale) = v.crop_scale {
        p.crop = random_resized_crop(rng, w, h, scale, v.crop_ratio);
    }
    p.flip = rng.random::<f32>() < v.flip_p;
    if let Some(j) = v.jitter
        && rng.random::<f32>() < j.p
    {
        let factor = |rng: &mut dyn rand::RngCore, s: f32| {
            if s > 0.0 { rng.random_range((1.0 - s).max(0.0)..=1.0 + s) } else { 1.0 }
        };
        p.brightness = factor(rng, j.brightness);
        p.contrast = factor(rng, j.contrast);
        p.saturation = factor(rng, j.saturation);
        p.hue = if j.hue > 0.0 { rng.random_range(-j.hue..=j.hue) } else { 0.0 };
    }
    p.grayscale = rng.random::<f32>() < v.grayscale_p;
    if rng.random::<f32>() < v.blur_p {
        p.blur_sigma = rng.random_range(v.blur_sigma.0..=v.blur_sigma.1);
    }
    p.solarize = rng.random::<f32>() < v.solarize_p;
    p.noise_std = v.noise_std * noise_scale;
    p.mask = v.mask_p;
    p.seed = rng.random::<u32>() >> 8;
    p
}

/// torchvision's `RandomResizedCrop.get_params`: ten tries at a box of random area fraction and log-
/// uniform aspect ratio, then a centre crop with the ratio clamped to the range.
pub fn random_resized_crop(rng: &mut impl Rng, w: usize, h: usize, scale: (f32, f32), ratio: (f32, f32)) -> [f32; 4] {
    let area = (w * h) as f32;
    let (lr0, lr1) = (ratio.0.ln(), ratio.1.ln());
    for _ in 0..10 {
        let target = area * rng.random_range(scale.0..=scale.1);
        let aspect = rng.random_range(lr0..=lr1).exp();
        let cw = (target * aspect).sqrt().round() as usize;
        let ch = (target / aspect).sqrt().round() as usize;
        if cw > 0 && cw <= w && ch > 0 && ch <= h {
            let top = rng.random_range(0..=h - ch);
            let left = rng.random_range(0..=w - cw);
            return [left as f32, top as f32, cw as f32, ch as f32];
        }
    }
    let in_ratio = w as f32 / h as f32;
    let (cw, ch) = if in_ratio < ratio.0 {
        (w, ((w as f32 / ratio.0).round() as usize).clamp(1, h))
    } else if in_ratio > ratio.1 {
        (((h as f32 * ratio.1).round() as usize).clamp(1, w), h)
    } else {
        (w, h)
    };
    [((w - cw) / 2) as f32, ((h - ch) / 2) as f32, cw as f32, ch as f32]
}
