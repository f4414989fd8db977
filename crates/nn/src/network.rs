//! [`Network`]: one trainable stage, an MLP or a CNN, behind one interface (what a training chain,
//! the embedding code and the probes need from an encoder).

use tandem_gpu::{Gpu, Recorder, Result, Tensor};

use crate::cnn::{CnnConfig, CnnEncoder, CnnWorkspace};
use crate::mlp::{MlpConfig, MlpEncoder, MlpWorkspace};
use crate::param::Param;

/// An MLP or a convolutional encoder.
pub enum Network {
    /// Linear → BatchNorm → ReLU blocks.
    Mlp(MlpEncoder),
    /// A small CNN or a ResNet-18.
    Cnn(CnnEncoder),
}

/// The workspace of a [`Network`] for one batch size.
pub enum NetworkWorkspace {
    /// Of an MLP.
    Mlp(MlpWorkspace),
    /// Of a CNN.
    Cnn(Box<CnnWorkspace>),
}

impl NetworkWorkspace {
    /// Whether a backward pass through this workspace adds to the parameter gradients instead of writing
    /// them (the second view of a step).
    pub fn set_accumulate_grads(&mut self, on: bool) {
        match self {
            Self::Mlp(w) => w.set_accumulate_grads(on),
            Self::Cnn(w) => w.set_accumulate_grads(on),
        }
    }

    /// The network's output `(batch, d_out)` after a forward pass.
    pub fn output(&self) -> &Tensor {
        match self {
            Self::Mlp(w) => w.output(),
            Self::Cnn(w) => w.output(),
        }
    }
}

/// How to build a [`Network`].
#[derive(Clone, Debug, PartialEq)]
pub enum NetworkConfig {
    /// An MLP.
    Mlp(MlpConfig),
    /// A CNN.
    Cnn(CnnConfig),
}

impl NetworkConfig {
    /// Input width (flattened).
    pub fn d_in(&self) -> usize {
        match self {
            Self::Mlp(c) => c.widths[0],
            Self::Cnn(c) => c.input.0 * c.input.1 * c.input.2,
        }
    }

    /// Output width.
    pub fn d_out(&self) -> usize {
        match self {
            Self::Mlp(c) => *c.widths.last().expect("an MLP has widths"),
            Self::Cnn(c) => c.arch.d_out(),
        }
    }
}

impl Network {
    /// Builds the network with seeded initialisation.
    pub fn new(gpu: &Gpu, config: &NetworkConfig) -> Result<Self> {
        Ok(match config {
            NetworkConfig::Mlp(c) => Self::Mlp(MlpEncoder::new(gpu, c.clone())?),
            NetworkConfig::Cnn(c) => Self::Cnn(CnnEncoder::new(gpu, c.clone())?),
        })
    }

    /// The configuration it was built from.
    pub fn config(&self) -> NetworkConfig {
        match self {
            Self::Mlp(m) => NetworkConfig::Mlp(m.config.clone()),
            Self::Cnn(c) => NetworkConfig::Cnn(c.config.clone()),
        }
    }

    /// Input width (flattened).
    pub fn d_in(&self) -> usize {
        match self {
            Self::Mlp(m) => m.d_in(),
            Self::Cnn(c) => c.d_in(),
        }
    }

    /// Output width.
    pub fn d_out(&self) -> usize {
        match self {
            Self::Mlp(m) => m.d_out(),
            Self::Cnn(c) => c.d_out(),
        }
    }

    /// Forward multiply-adds times two per sample.
    pub fn flops_per_sample(&self) -> f64 {
        match self {
            Self::Mlp(m) => m.flops_per_sample(),
            Self::Cnn(c) => c.flops_per_image(),
        }
    }

    /// Forward multiply-adds times two per sample of the first layer alone (what forming the input's
    /// gradient would cost, which training skips).
    pub fn first_layer_flops_per_sample(&self) -> f64 {
        match self {
            Self::Mlp(m) => m.blocks.first().map_or(0.0, |b| 2.0 * (b.linear.d_in() * b.linear.d_out()) as f64),
            Self::Cnn(c) => c.stem.first().map_or(0.0, |u| u.flops_per_image()),
        }
    }

    /// Every parameter in a stable order.
    pub fn params(&self) -> Vec<&Param> {
        match self {
            Self::Mlp(m) => m.params(),
            Self::Cnn(c) => c.params(),
        }
    }

    /// [`Network::params`], to move them ([`crate::ParamArena`]).
    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        match self {
            Self::Mlp(m) => m.params_mut(),
            Self::Cnn(c) => c.params_mut(),
        }
    }

    /// Every BatchNorm running statistic with its name.
    pub fn buffers(&self) -> Vec<(String, &Tensor)> {
        match self {
            Self::Mlp(m) => m.buffers(),
            Self::Cnn(c) => c.buffers(),
        }
    }

    /// Allocates activations and gradient buffers for batches of `batch` samples.
    pub fn workspace(&self, gpu: &Gpu, batch: usize) -> Result<NetworkWorkspace> {
        Ok(match self {
            Self::Mlp(m) => NetworkWorkspace::Mlp(m.workspace(gpu, batch)?),
            Self::Cnn(c) => NetworkWorkspace::Cnn(Box::new(c.workspace(gpu, batch)?)),
        })
    }

    /// Records the forward pass of `x`.
    #[track_caller]
    pub fn forward(&self, rec: &mut Recorder<'_>, training: bool, x: &Tensor, ws: &NetworkWorkspace) -> Result<()> {
        match (self, ws) {
            (Self::Mlp(m), NetworkWorkspace::Mlp(w)) => m.forward(rec, training, x, w),
            (Self::Cnn(c), NetworkWorkspace::Cnn(w)) => c.forward(rec, training, x, w),
            _ => panic!("a network's workspace must come from the same kind of network"),
        }
    }

    /// Records the backward pass from `dy`: every parameter gradient, and `dx` when given.
    #[track_caller]
    pub fn backward(
        &self,
        rec: &mut Recorder<'_>,
        training: bool,
        x: &Tensor,
        ws: &NetworkWorkspace,
        dy: &Tensor,
        dx: Option<&Tensor>,
    ) -> Result<()> {
        match (self, ws) {
            (Self::Mlp(m), NetworkWorkspace::Mlp(w)) => m.backward(rec, training, x, w, dy, dx),
            (Self::Cnn(c), NetworkWorkspace::Cnn(w)) => c.backward(rec, training, x, w, dy, dx),
            _ => panic!("a network's workspace must come from the same kind of network"),
        }
    }
}
