//! [`EntryKey`]: the specialisation key of kernels that have no knob beyond their entry point, and the
//! dispatch sizing they share.

use std::fmt;

use tandem_gpu::{Access, Gpu, Kernel, KernelKey, KernelSpec, Recorder, Result, Tensor, workgroups_1d};

use crate::shaders::source;

/// A kernel named by its shader file and entry point.
#[derive(Clone, Copy, Debug)]
pub struct EntryKey {
    /// Path under `shaders/`.
    pub file: &'static str,
    /// Entry point.
    pub entry: &'static str,
    /// Storage bindings in binding order.
    pub storage: &'static [Access],
}

impl fmt::Display for EntryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stem = self.file.trim_end_matches(".wgsl").replace('/', "_");
        write!(f, "{stem}.{}", self.entry)
    }
}

impl KernelKey for EntryKey {
    fn spec(&self) -> KernelSpec {
        KernelSpec {
            file: self.file,
            source: source(self.file),
            entry: self.entry,
            storage: self.storage,
            constants: Vec::new(),
        }
    }
}

impl EntryKey {
    /// The compiled kernel (cached on the device).
    pub fn kernel(&self, gpu: &Gpu) -> Result<std::sync::Arc<Kernel>> {
        gpu.kernel(self)
    }

    /// Records this kernel over `threads` threads of a `workgroup`-wide 1-D kernel (folded to 2-D when
    /// the count exceeds the per-dimension limit; the shader recovers the flat index).
    pub fn launch<P: bytemuck::NoUninit>(
        &self,
        rec: &mut Recorder<'_>,
        tensors: &[&Tensor],
        params: &P,
        threads: usize,
        workgroup: usize,
    ) -> Result<()> {
        if threads == 0 {
            return Ok(());
        }
        let gpu = rec.gpu();
        let kernel = self.kernel(gpu)?;
        rec.dispatch(&kernel, tensors, params, workgroups_1d(gpu, threads.div_ceil(workgroup)))
    }
}

impl EntryKey {
    /// Records this kernel over an explicit workgroup grid.
    pub fn launch_groups<P: bytemuck::NoUninit>(
        &self,
        rec: &mut Recorder<'_>,
        tensors: &[&Tensor],
        params: &P,
        groups: [u32; 3],
    ) -> Result<()> {
        let kernel = self.kernel(rec.gpu())?;
        rec.dispatch(&kernel, tensors, params, groups)
    }
}

/// Uniform block of kernels that take only a length.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct LenParams {
    pub len: u32,
    pub _pad: [u32; 3],
}

impl LenParams {
    pub fn new(len: usize) -> Self {
        Self { len: len as u32, _pad: [0; 3] }
    }
}

/// Shorthands for binding lists.
pub(crate) const R: Access = Access::Read;
pub(crate) const W: Access = Access::ReadWrite;

/// The parameter-gradient pair a backward pass writes, or two placeholder tensors for kernels that skip
/// those bindings when there are no parameters (each writable binding needs a buffer of its own).
pub(crate) fn grads_or_placeholders(gpu: &Gpu, grads: Option<(&Tensor, &Tensor)>) -> Result<(Tensor, Tensor)> {
    match grads {
        Some((g, b)) => Ok((g.clone(), b.clone())),
        None => Ok((gpu.scratch("unused_grad_a", &[1])?, gpu.scratch("unused_grad_b", &[1])?)),
    }
}

/// `x.len() == y.len()`, else a panic naming the operation.
#[track_caller]
pub(crate) fn same_len(op: &str, a: &Tensor, b: &Tensor) {
    assert_eq!(a.len(), b.len(), "{op}: {a:?} and {b:?} differ in length");
}
