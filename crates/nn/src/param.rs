//! [`Param`]: a trainable tensor with its gradient and what kind of parameter it is.

use tandem_gpu::{Gpu, Result, Tensor};

/// What a parameter is, for optimizers that treat kinds differently (LARS and weight decay skip biases
/// and normalisation parameters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// A Linear or convolution weight.
    Weight,
    /// A bias.
    Bias,
    /// A normalisation scale or shift.
    Norm,
}

/// A trainable tensor and its gradient buffer (same shape).
pub struct Param {
    /// Dotted name, e.g. `blocks.0.linear.weight`.
    pub name: String,
    /// The value.
    pub value: Tensor,
    /// The gradient, written by backward.
    pub grad: Tensor,
    /// The kind.
    pub kind: ParamKind,
}

impl Param {
    /// A parameter uploaded from `data`, with a gradient buffer of the same shape.
    pub fn new(gpu: &Gpu, name: impl Into<String>, kind: ParamKind, shape: &[usize], data: &[f32]) -> Result<Self> {
        Ok(Self { name: name.into(), value: gpu.upload(shape, data)?, grad: gpu.zeros(shape)?, kind })
    }
}
