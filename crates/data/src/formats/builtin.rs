//! The built-in procedural dataset: small colour images of ten classes (disc, square, triangle, ring,
//! cross, and horizontal, vertical, diagonal stripe, checker and dot textures), each at a random position,
//! scale and pair of colours, with pixel noise. Sample `i` depends only on the seed and `i`, so the set is
//! identical on every machine and needs no download.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::dataset::{InMemory, Layout, Storage};
use crate::error::{DataError, Result};

/// Number of classes.
pub const CLASSES: u32 = 10;

/// What to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Builtin {
    /// Samples.
    pub n: usize,
    /// Image side in pixels.
    pub size: usize,
    /// Generator seed.
    pub seed: u64,
}

impl Builtin {
    /// The training split: 8192 images of 32×32, seed 0.
    pub const TRAIN: Builtin = Builtin { n: 8192, size: 32, seed: 0 };
    /// The test split: 2048 images of 32×32, seed 1 (disjoint draws from the same distribution).
    pub const TEST: Builtin = Builtin { n: 2048, size: 32, seed: 1 };

    /// Parses `builtin`, `builtin:train`, `builtin:test`, optionally followed by `:N` samples, e.g.
    /// `builtin:test:500`.
    pub fn parse(spec: &str) -> Result<Self> {
        let mut parts = spec.split(':');
        let bad = || DataError::Unrecognised(format!("'{spec}': expected builtin[:train|:test][:N]"));
        if parts.next() != Some("builtin") {
            return Err(bad());
        }
        let mut out = Self::TRAIN;
        for p in parts {
            match p {
                "train" => out = Builtin { n: out.n, ..Self::TRAIN },
                "test" => out = Builtin { n: Self::TEST.n, ..Self::TEST },
                n => out.n = n.parse().ok().filter(|&v| v > 0).ok_or_else(bad)?,
            }
        }
        Ok(out)
    }

    /// Generates the images (uint8, 3 × size × size) with their class labels.
    pub fn generate(&self) -> InMemory {
        let s = self.size;
        let samples: Vec<(Vec<u8>, u32)> =
            (0..self.n).into_par_iter().map(|i| sample(self.seed, i as u64, s)).collect();
        let labels = samples.iter().map(|(_, l)| *l).collect();
        let pixels = samples.into_iter().flat_map(|(p, _)| p).collect();
        InMemory::new(
            format!("builtin:seed={}:n={}", self.seed, self.n),
            Layout::Image { c: 3, h: s, w: s },
            Storage::U8(pixels),
            Some(labels),
        )
    }
}

/// Whether the point (dx, dy) relative to the centre, at scale `r`, is foreground for `class`.
fn inside(class: u32, dx: f32, dy: f32, r: f32, freq: f32) -> bool {
    let d = (dx * dx + dy * dy).sqrt();
    let in_box = dx.abs() < 1.4 * r && dy.abs() < 1.4 * r;
    let wave = |t: f32| (std::f32::consts::TAU * freq * t).sin() > 0.0;
    match class {
        0 => d < r,
        1 => dx.abs() < r && dy.abs() < r,
        2 => dy.abs() < r && dx.abs() <= (dy + r) / 2.0,
        3 => (d - r).abs() < 0.3 * r,
        4 => (dx.abs() < 0.3 * r && dy.abs() < r) || (dy.abs() < 0.3 * r && dx.abs() < r),
        5 => in_box && wave(dy),
        6 => in_box && wave(dx),
        7 => in_box && (wave(dx) ^ wave(dy)),
        8 => in_box && wave((dx + dy) * std::f32::consts::FRAC_1_SQRT_2),
        _ => {
            let cell = 1.0 / freq;
            let (fx, fy) = ((dx / cell).rem_euclid(1.0) - 0.5, (dy / cell).rem_euclid(1.0) - 0.5);
            in_box && fx * fx + fy * fy < 0.09
        }
    }
}

fn sample(seed: u64, i: u64, s: usize) -> (Vec<u8>, u32) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i);
    let class = rng.random_range(0..CLASSES);
    let (cx, cy) = (rng.random_range(0.35..0.65f32), rng.random_range(0.35..0.65f32));
    let r = rng.random_range(0.25..0.42f32);
    let freq = rng.random_range(8.0..14.0f32);
    let fg: [f32; 3] = std::array::from_fn(|_| rng.random_range(0.0..1.0));
    // The background is the foreground pushed at least 0.35 away in brightness, so every image shows its
    // shape.
    let shift = if fg.iter().sum::<f32>() / 3.0 > 0.5 { -1.0 } else { 1.0 };
    let bg: [f32; 3] = std::array::from_fn(|c| (fg[c] + shift * rng.random_range(0.35..0.8f32)).clamp(0.0, 1.0));
    let noise = rng.random_range(0.0..0.08f32);
    let mut px = vec![0u8; 3 * s * s];
    for y in 0..s {
        for x in 0..s {
            let (u, v) = ((x as f32 + 0.5) / s as f32, (y as f32 + 0.5) / s as f32);
            let colour = if inside(class, u - cx, v - cy, r, freq) { fg } else { bg };
            for c in 0..3 {
                let n: f32 = rng.random_range(-1.0..1.0f32) * noise;
                px[(c * s + y) * s + x] = ((colour[c] + n).clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        }
    }
    (px, class)
}
