//! [`KernelSpec`] (what to compile) and [`Kernel`] (the compiled pipeline with its explicit layout).

use std::sync::Arc;

use crate::context::Gpu;
use crate::error::{GpuError, Result};

/// How a kernel accesses one storage binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// `var<storage, read>`.
    Read,
    /// `var<storage, read_write>`.
    ReadWrite,
}

/// A typed specialisation key: everything that changes a kernel's code (entry point, tile, variant).
/// Its `Display` text is the pipeline cache key and the pipeline label (e.g. `gemm_sg8_tn`).
pub trait KernelKey: std::fmt::Display {
    /// What to compile for this key.
    fn spec(&self) -> KernelSpec;
}

/// Everything needed to build one compute pipeline. Storage bindings come first, at bindings
/// `0..storage.len()`, in the order given; a uniform parameter block follows at binding `storage.len()`.
#[derive(Clone, Debug)]
pub struct KernelSpec {
    /// The WGSL file name, for error messages (e.g. `linalg/gemm_tiled.wgsl`).
    pub file: &'static str,
    /// The WGSL source.
    pub source: &'static str,
    /// The entry point.
    pub entry: &'static str,
    /// Storage bindings in binding order.
    pub storage: &'static [Access],
    /// Values for the shader's `override` constants.
    pub constants: Vec<(&'static str, f64)>,
}

/// A compiled compute pipeline and the bind-group layout it was built with.
pub struct Kernel {
    pub(crate) key: String,
    pub(crate) spec: KernelSpec,
    pub(crate) id: u64,
    pub(crate) pipeline: wgpu::ComputePipeline,
    pub(crate) layout: wgpu::BindGroupLayout,
}

impl Kernel {
    /// The specialisation key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The spec it was compiled from.
    pub fn spec(&self) -> &KernelSpec {
        &self.spec
    }
}

impl Gpu {
    /// Compiles `spec` once and returns the cached pipeline on every later call with the same key.
    /// A shader that fails to parse or validate surfaces as [`GpuError::Shader`] naming the kernel.
    pub fn kernel(&self, key: &impl KernelKey) -> Result<Arc<Kernel>> {
        let text = key.to_string();
        if let Some(k) = self.kernels.lock().unwrap().get(&text) {
            return Ok(k.clone());
        }
        let kernel = Arc::new(self.compile(text.clone(), key.spec())?);
        self.kernels.lock().unwrap().insert(text, kernel.clone());
        Ok(kernel)
    }

    fn compile(&self, key: String, spec: KernelSpec) -> Result<Kernel> {
        let shader_error =
            |message: String| GpuError::Shader { kernel: key.clone(), file: spec.file.to_string(), message };
        let mut entries: Vec<wgpu::BindGroupLayoutEntry> = spec
            .storage
            .iter()
            .enumerate()
            .map(|(i, access)| wgpu::BindGroupLayoutEntry {
                binding: i as u32,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Storage { read_only: *access == Access::Read },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            })
            .collect();
        entries.push(wgpu::BindGroupLayoutEntry {
            binding: spec.storage.len() as u32,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        });
        let max_storage = self.limits().max_storage_buffers_per_shader_stage as usize;
        if spec.storage.len() > max_storage {
            return Err(shader_error(format!(
                "{} storage bindings exceed the device's {max_storage}",
                spec.storage.len()
            )));
        }
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = self.device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(&key),
            source: wgpu::ShaderSource::Wgsl(spec.source.into()),
        });
        let layout = self
            .device
            .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor { label: Some(&key), entries: &entries });
        let pipeline_layout = self.device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(&key),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(&key),
            layout: Some(&pipeline_layout),
            module: &module,
            entry_point: Some(spec.entry),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: &spec.constants,
                zero_initialize_workgroup_memory: false,
            },
            cache: None,
        });
        if let Some(err) = pollster::block_on(scope.pop()) {
            return Err(shader_error(err.to_string()));
        }
        tracing::debug!(kernel = %key, "compiled pipeline");
        crate::context::Counters::bump(&self.stats.pipelines);
        Ok(Kernel { key, id: self.fresh_id(), spec, pipeline, layout })
    }
}
