//! [`Precision`]: how the operands of the encoder's products are stored. `F16` is mixed precision: weights
//! and activations enter every GEMM as f16 (two to a 32-bit word, rounded to nearest), the product is
//! accumulated in f32 and written as f32, and everything else (master weights, gradients, normalisation
//! statistics, the energies and their regularisers) stays f32. The f16 conversion uses WGSL's core
//! `pack2x16float`/`unpack2x16float`, so it runs on every adapter, with or without the SHADER_F16 feature.

use std::fmt;
use std::str::FromStr;

/// Storage precision of GEMM operands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Precision {
    /// f32 operands.
    #[default]
    F32,
    /// f16 operands, f32 accumulation.
    F16,
}

impl Precision {
    /// `f32` or `f16`.
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::F16 => "f16",
        }
    }

    /// Whether operands are stored as f16.
    pub fn is_half(self) -> bool {
        self == Self::F16
    }

    /// `x` as the GEMM sees it: rounded to the nearest f16 when `F16` (the host twin of the shaders'
    /// conversion, for references and tests).
    pub fn round(self, x: f32) -> f32 {
        match self {
            Self::F32 => x,
            Self::F16 => half::f16::from_f32(x).to_f32(),
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A precision name other than `f32` or `f16`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown precision '{0}': use f32 or f16")]
pub struct UnknownPrecision(pub String);

impl FromStr for Precision {
    type Err = UnknownPrecision;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "f32" => Ok(Self::F32),
            "f16" => Ok(Self::F16),
            other => Err(UnknownPrecision(other.to_string())),
        }
    }
}
