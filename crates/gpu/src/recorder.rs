//! [`Recorder`]: many dispatches recorded into one command encoder and one compute pass, submitted once.
//! This is the one place that launches kernels: it checks the bindings, fetches or creates the cached
//! bind group and parameter buffer, and records the dispatch.

use std::collections::HashMap;

use crate::context::{Counters, Gpu};
use crate::error::{GpuError, Result};
use crate::kernel::{Access, Kernel};
use crate::profiler::ProfileSlot;
use crate::tensor::{OpenRecording, Tensor};
use crate::timer::GpuTimer;

/// Records a sequence of kernel launches and copies; [`Recorder::submit`] sends them in one submission.
pub struct Recorder<'g> {
    gpu: &'g Gpu,
    encoder: wgpu::CommandEncoder,
    pass: Option<wgpu::ComputePass<'static>>,
    timer: Option<&'g GpuTimer>,
    profile: Option<ProfileSlot>,
    dispatches: usize,
    passes: usize,
    /// Per buffer id: the number of the last recorded operation that wrote it (operations count from 1).
    last_write: HashMap<u64, usize>,
    writes: usize,
    /// Per derived buffer id: what it was computed from (see [`Recorder::derived_is_current`]).
    derived: HashMap<u64, Derivation>,
    /// Keeps buffers released during the recording from being reused before it is submitted.
    _open: OpenRecording,
}

/// A buffer computed from another earlier in a recording: the source's buffer and offset, how it was
/// derived, and the operation count right after it was written.
struct Derivation {
    source: (u64, usize),
    how: u64,
    at: usize,
}

/// Workgroup counts for `groups` workgroups along one axis, folded into a second dimension when they
/// exceed the device's per-dimension limit. Shaders recover the flat index as
/// `gid.y * (num_workgroups.x * WORKGROUP_SIZE) + gid.x`.
pub fn workgroups_1d(gpu: &Gpu, groups: usize) -> [u32; 3] {
    let max = gpu.limits().max_compute_workgroups_per_dimension as usize;
    let groups = groups.max(1);
    if groups <= max {
        [groups as u32, 1, 1]
    } else {
        let y = groups.div_ceil(max);
        let x = groups.div_ceil(y);
        [x as u32, y as u32, 1]
    }
}

impl<'g> Recorder<'g> {
    /// A new, empty recording.
    pub fn new(gpu: &'g Gpu) -> Self {
        let encoder = gpu.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("tandem") });
        let profile = gpu.take_armed_profile();
        Self {
            gpu,
            encoder,
            pass: None,
            timer: None,
            profile,
            dispatches: 0,
            passes: 0,
            last_write: HashMap::new(),
            writes: 0,
            derived: HashMap::new(),
            _open: gpu.pool.open_recording(),
        }
    }

    /// A new recording whose compute work is timed by `timer`, from the start of its first compute pass to
    /// the end of its last.
    pub fn timed(gpu: &'g Gpu, timer: &'g GpuTimer) -> Self {
        let mut r = Self::new(gpu);
        r.timer = Some(timer);
        r
    }

    /// The device this recording belongs to.
    pub fn gpu(&self) -> &'g Gpu {
        self.gpu
    }

    /// Number of dispatches recorded so far.
    pub fn dispatches(&self) -> usize {
        self.dispatches
    }

    fn wrote(&mut self, t: &Tensor) {
        self.writes += 1;
        self.last_write.insert(t.buf.id, self.writes);
    }

    /// Declares that the operation just recorded filled `derived` from `source` in the way `how` (a key
    /// the caller chooses, e.g. a layout), so that a later identical derivation in this recording can be
    /// skipped while [`Recorder::derived_is_current`] says so.
    pub fn set_derived(&mut self, derived: &Tensor, source: &Tensor, how: u64) {
        let d = Derivation { source: (source.buf.id, source.offset()), how, at: self.writes };
        self.derived.insert(derived.buf.id, d);
    }

    /// Whether `derived` still holds what [`Recorder::set_derived`] declared it computed from `source` in
    /// the way `how`: nothing recorded since has written either buffer. (Host writes do not count: they land
    /// before the whole submission.)
    pub fn derived_is_current(&self, derived: &Tensor, source: &Tensor, how: u64) -> bool {
        let Some(d) = self.derived.get(&derived.buf.id) else { return false };
        let written_since = |t: &Tensor| self.last_write.get(&t.buf.id).is_some_and(|&w| w > d.at);
        d.source == (source.buf.id, source.offset())
            && d.how == how
            && !written_since(source)
            && !written_since(derived)
    }

    fn pass(&mut self) -> &mut wgpu::ComputePass<'static> {
        if self.pass.is_none() {
            let first = self.passes == 0;
            let timestamp_writes = self.timer.map(|t| t.pass_writes(first));
            self.passes += 1;
            let pass = self
                .encoder
                .begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("tandem step"), timestamp_writes })
                .forget_lifetime();
            self.pass = Some(pass);
        }
        self.pass.as_mut().unwrap()
    }

    /// Records `kernel` over `groups` workgroups with `tensors` bound in binding order and `params` as
    /// the uniform block that follows them.
    pub fn dispatch<P: bytemuck::NoUninit>(
        &mut self,
        kernel: &Kernel,
        tensors: &[&Tensor],
        params: &P,
        groups: [u32; 3],
    ) -> Result<()> {
        if tensors.len() != kernel.spec.storage.len() {
            return Err(GpuError::BadLaunch {
                kernel: kernel.key.clone(),
                message: format!("{} tensors bound, {} expected", tensors.len(), kernel.spec.storage.len()),
            });
        }
        let max = self.gpu.limits().max_compute_workgroups_per_dimension;
        if groups.iter().any(|&g| g > max) {
            return Err(GpuError::BadLaunch {
                kernel: kernel.key.clone(),
                message: format!("workgroups {groups:?} exceed the device's {max} per dimension"),
            });
        }
        if groups.contains(&0) {
            return Ok(());
        }
        self.check_bindings(kernel, tensors)?;
        let bind_group = self.bind_group(kernel, tensors, bytemuck::bytes_of(params));
        self.pass();
        let pass = self.pass.as_mut().expect("opened above");
        let queries = self.profile.as_mut().and_then(|p| p.next(&kernel.key));
        if let Some((set, i)) = queries {
            pass.write_timestamp(set, i);
        }
        pass.set_pipeline(&kernel.pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        if let Some((set, i)) = queries {
            pass.write_timestamp(set, i + 1);
        }
        self.dispatches += 1;
        for (t, access) in tensors.iter().zip(kernel.spec.storage) {
            if *access == Access::ReadWrite {
                self.wrote(t);
            }
        }
        Ok(())
    }

    /// Refuses a launch that binds more of a tensor than a storage binding allows (a tensor from
    /// [`Gpu::empty_large`](crate::Gpu::empty_large) must be bound through row windows).
    fn check_bindings(&self, kernel: &Kernel, tensors: &[&Tensor]) -> Result<()> {
        let max = self.gpu.limits().max_storage_buffer_binding_size;
        for (i, t) in tensors.iter().enumerate() {
            let bytes = match t.binding_range(max) {
                (_, Some(size)) => size,
                (_, None) => t.buffer().size(),
            };
            if bytes > max {
                return Err(GpuError::BadLaunch {
                    kernel: kernel.key.clone(),
                    message: format!(
                        "binding {i} ({t:?}) is {bytes} bytes, over the device's {max}-byte storage binding; \
                         process it in row windows"
                    ),
                });
            }
        }
        Ok(())
    }

    /// Copies `src` into `dst` (same length), between compute passes.
    #[track_caller]
    pub fn copy(&mut self, src: &Tensor, dst: &Tensor) {
        assert_eq!(src.len(), dst.len(), "copy {src:?} -> {dst:?}");
        self.copy_range(src, 0, dst, 0, src.len());
    }

    /// Copies `len` elements from `src` starting at element `src_at` into `dst` starting at `dst_at`,
    /// between compute passes (rows of a row-major matrix are contiguous, so this moves row ranges).
    #[track_caller]
    pub fn copy_range(&mut self, src: &Tensor, src_at: usize, dst: &Tensor, dst_at: usize, len: usize) {
        assert!(src_at + len <= src.len() && dst_at + len <= dst.len(), "copy_range out of bounds: {src:?} -> {dst:?}");
        self.pass = None;
        self.wrote(dst);
        if len > 0 {
            self.encoder.copy_buffer_to_buffer(
                src.buffer(),
                ((src.offset() + src_at) * 4) as u64,
                dst.buffer(),
                ((dst.offset() + dst_at) * 4) as u64,
                (len * 4) as u64,
            );
        }
    }

    /// Copies the whole of `src` into a raw buffer at byte offset `at`, between compute passes.
    pub fn copy_to_buffer(&mut self, src: &Tensor, dst: &wgpu::Buffer, at: u64) {
        self.pass = None;
        if !src.is_empty() {
            self.encoder.copy_buffer_to_buffer(
                src.buffer(),
                (src.offset() * 4) as u64,
                dst,
                at,
                (src.len() * 4) as u64,
            );
        }
    }

    /// Fills `t` with zeros, between compute passes: the whole buffer for a tensor at its start (a prefix
    /// clears what follows it too), just the window for a row window.
    pub fn clear(&mut self, t: &Tensor) {
        self.pass = None;
        self.wrote(t);
        if t.offset() == 0 {
            self.encoder.clear_buffer(t.buffer(), 0, None);
        } else {
            self.encoder.clear_buffer(t.buffer(), (t.offset() * 4) as u64, Some((t.len() * 4) as u64));
        }
    }

    /// Finishes the recording and submits it; returns the submission index.
    pub fn submit(mut self) -> Result<wgpu::SubmissionIndex> {
        self.pass = None;
        if let Some(timer) = self.timer {
            timer.resolve(&mut self.encoder);
        }
        if let Some(profile) = &self.profile {
            profile.resolve(&mut self.encoder);
        }
        let index = self.gpu.submit(self.encoder);
        if let Some(profile) = self.profile.take() {
            self.gpu.submitted_profile(profile);
        }
        self.gpu.check_device_error()?;
        Ok(index)
    }

    /// The cached bind group for this kernel, these buffers and these parameter bytes.
    fn bind_group(&self, kernel: &Kernel, tensors: &[&Tensor], params: &[u8]) -> wgpu::BindGroup {
        let gpu = self.gpu;
        let (uniform_id, uniform) = {
            let mut uniforms = gpu.uniforms.lock().unwrap();
            // Look up by slice first: a steady-state step allocates nothing here, not even the key.
            match uniforms.get(params) {
                Some(hit) => hit.clone(),
                None => {
                    let size = (params.len() as u64).max(16).next_multiple_of(16);
                    let buffer = gpu.device.create_buffer(&wgpu::BufferDescriptor {
                        label: Some("tandem params"),
                        size,
                        usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                        mapped_at_creation: false,
                    });
                    let mut padded = params.to_vec();
                    padded.resize(size as usize, 0);
                    gpu.queue.write_buffer(&buffer, 0, &padded);
                    Counters::bump(&gpu.stats.uniform_buffers);
                    let entry = (gpu.fresh_id(), buffer);
                    uniforms.insert(params.to_vec(), entry.clone());
                    entry
                }
            }
        };
        let max = gpu.limits().max_storage_buffer_binding_size;
        let ranges: Vec<(u64, Option<u64>)> = tensors.iter().map(|t| t.binding_range(max)).collect();
        let mut key = Vec::with_capacity(3 * tensors.len() + 2);
        key.push(kernel.id);
        for (t, &(offset, size)) in tensors.iter().zip(&ranges) {
            key.extend([t.buf.id, offset, size.unwrap_or(0)]);
        }
        key.push(uniform_id);
        let mut groups = gpu.bind_groups.lock().unwrap();
        groups
            .entry(key)
            .or_insert_with(|| {
                let mut entries: Vec<wgpu::BindGroupEntry> = tensors
                    .iter()
                    .enumerate()
                    .zip(&ranges)
                    .map(|((i, t), &(offset, size))| wgpu::BindGroupEntry {
                        binding: i as u32,
                        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                            buffer: t.buffer(),
                            offset,
                            size: size.and_then(wgpu::BufferSize::new),
                        }),
                    })
                    .collect();
                entries.push(wgpu::BindGroupEntry {
                    binding: tensors.len() as u32,
                    resource: uniform.as_entire_binding(),
                });
                Counters::bump(&gpu.stats.bind_groups);
                gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: Some(&kernel.key),
                    layout: &kernel.layout,
                    entries: &entries,
                })
            })
            .clone()
    }
}
