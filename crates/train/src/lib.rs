#![warn(missing_docs)]
//! tandem's training engine: SSL methods ([`Method`]) composed from the device energies, optimizers on
//! the device ([`Optimizer`]), the one-submit step ([`Trainer`]), checkpoints with exact resume
//! ([`checkpoint`]) and the encoder that a run hands back ([`Encoder`]).

pub mod checkpoint;
pub mod config;
pub mod encoder;
pub mod error;
pub mod method;
pub mod monitor;
pub mod network;
pub mod optimizer;
pub mod run;
pub mod schedule;
pub mod trainer;

pub use config::TrainConfig;
pub use encoder::Encoder;
pub use error::{Result, TrainError};
pub use method::{Method, MethodConfig, MethodKind};
pub use optimizer::{Optimizer, OptimizerConfig};
pub use run::{Event, RunDir, Stop, run};
pub use trainer::{StepReport, Trainer};
