#![warn(missing_docs)]
//! tandem: a self-supervised (joint-embedding) training engine on any GPU through wgpu.
//!
//! This facade re-exports the workspace crates so that applications, the top-level tests and the
//! benchmarks depend on one crate.
//!
//! ```
//! use tandem::gpu::{Gpu, Recorder};
//! use tandem::nn::{MlpConfig, MlpEncoder};
//!
//! let gpu = Gpu::new()?; // adapter from TANDEM_BACKEND / TANDEM_ADAPTER
//! let encoder = MlpEncoder::new(&gpu, MlpConfig::new(&[32, 64, 16], 42))?;
//! let ws = encoder.workspace(&gpu, 8)?; // activations, allocated once per batch size
//! let x = gpu.upload(&[8, 32], &vec![0.5; 8 * 32])?;
//! let mut rec = Recorder::new(&gpu); // one encoder, one compute pass, one submit
//! encoder.forward(&mut rec, true, &x, &ws)?;
//! rec.submit()?;
//! let embeddings = gpu.download(ws.output())?;
//! assert_eq!(embeddings.len(), 8 * 16);
//! # Ok::<(), tandem::gpu::GpuError>(())
//! ```

pub use tandem_data as data;
pub use tandem_eval as eval;
pub use tandem_gpu as gpu;
pub use tandem_kernels as kernels;
pub use tandem_nn as nn;
pub use tandem_objectives as objectives;
pub use tandem_reference as reference;
pub use tandem_train as train;
