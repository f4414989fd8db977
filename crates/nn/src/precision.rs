//! Whether a layer's products can run at a [`Precision`] on this device.

use tandem_gpu::{Gpu, GpuError, Result};
use tandem_kernels::Precision;

/// Refuses `precision` for the layer `what` where the device cannot convert to f16 in shaders.
pub(crate) fn require(gpu: &Gpu, what: &str, precision: Precision) -> Result<()> {
    if precision == Precision::F16 && !gpu.has_f16_conversion() {
        return Err(GpuError::Config {
            message: format!(
                "{what}: f16 precision needs f16 conversion in shaders, which {} lacks; use f32",
                gpu.describe()
            ),
        });
    }
    Ok(())
}
