//! One module per subcommand.

pub mod bench;
pub mod bench_conv;
pub mod bench_data;
pub mod bench_memory;
pub mod bench_step;
pub mod collapse;
pub mod data_args;
pub mod embed;
pub mod energy;
pub mod eval;
pub mod report;
pub mod selftest;
pub mod train;

use anyhow::{Context, Result};
use tandem_gpu::Gpu;

/// Opens the device chosen by the environment, with context for the error.
pub fn open_gpu() -> Result<Gpu> {
    Gpu::new().context("could not open a GPU device")
}
