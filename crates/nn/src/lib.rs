#![warn(missing_docs)]
//! tandem's layers and encoders as explicit forward/backward pairs on the device.
//!
//! Each layer owns its parameters and gradients ([`Param`]); the activations a backward pass needs live
//! in a workspace allocated once per batch size and reused every step, so a steady-state step allocates
//! nothing. Backward passes write (`=`) every gradient.

pub mod arena;
pub mod batch_norm;
pub mod cnn;
pub mod conv_bn;
pub mod init;
pub mod linear;
pub mod mlp;
pub mod network;
pub mod param;
mod precision;

pub use arena::{ArenaChunk, ParamArena};
pub use batch_norm::BatchNorm1d;
pub use cnn::{CnnArch, CnnConfig, CnnEncoder, CnnWorkspace};
pub use linear::Linear;
pub use mlp::{LastBlock, MlpConfig, MlpEncoder, MlpWorkspace};
pub use network::{Network, NetworkConfig, NetworkWorkspace};
pub use param::{Param, ParamKind};
