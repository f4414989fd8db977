//! Per-dispatch device time of one recording: [`Gpu::profile_next_recording`] arms a query set; the next
//! [`Recorder`](crate::Recorder) created on that thread writes a timestamp before and after each of its
//! dispatches (inside the compute pass, where the adapter supports that), and
//! [`Gpu::take_profile`] reads the times back by kernel after the submit.

use crate::context::Gpu;
use crate::error::{GpuError, Result};

/// Most dispatches one profile records (two timestamps each; wgpu allows 4096 queries per set).
const CAPACITY: u32 = 2048;

/// The query set and the kernels of one profiled recording.
pub(crate) struct ProfileSlot {
    set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    read: wgpu::Buffer,
    pub(crate) kernels: Vec<String>,
}

impl ProfileSlot {
    fn new(device: &wgpu::Device) -> Self {
        let bytes = u64::from(2 * CAPACITY) * 8;
        let buffer = |label, usage| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: bytes,
                usage,
                mapped_at_creation: false,
            })
        };
        Self {
            set: device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("tandem profile"),
                ty: wgpu::QueryType::Timestamp,
                count: 2 * CAPACITY,
            }),
            resolve: buffer("tandem profile resolve", wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC),
            read: buffer("tandem profile read", wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST),
            kernels: Vec::new(),
        }
    }

    /// The query indices around the next dispatch of `kernel`, while there is room.
    pub(crate) fn next(&mut self, kernel: &str) -> Option<(&wgpu::QuerySet, u32)> {
        let i = self.kernels.len() as u32;
        (i < CAPACITY).then(|| {
            self.kernels.push(kernel.to_string());
            (&self.set, 2 * i)
        })
    }

    /// Copies the timestamps out at the end of the recording.
    pub(crate) fn resolve(&self, encoder: &mut wgpu::CommandEncoder) {
        let n = 2 * self.kernels.len() as u32;
        if n > 0 {
            encoder.resolve_query_set(&self.set, 0..n, &self.resolve, 0);
            encoder.copy_buffer_to_buffer(&self.resolve, 0, &self.read, 0, u64::from(n) * 8);
        }
    }
}

impl Gpu {
    /// Arms profiling of the next recording this thread creates; false where the adapter cannot write
    /// timestamps inside compute passes.
    pub fn profile_next_recording(&self) -> bool {
        if !self.features().contains(wgpu::Features::TIMESTAMP_QUERY_INSIDE_PASSES) {
            return false;
        }
        let slot = ProfileSlot::new(self.device());
        self.profiles.lock().unwrap().insert(std::thread::current().id(), (slot, false));
        true
    }

    /// The armed profile for a recording starting on this thread, if any.
    pub(crate) fn take_armed_profile(&self) -> Option<ProfileSlot> {
        let mut profiles = self.profiles.lock().unwrap();
        let id = std::thread::current().id();
        if profiles.get(&id).is_some_and(|(_, submitted)| !submitted) {
            return profiles.remove(&id).map(|(slot, _)| slot);
        }
        None
    }

    /// Hands a profiled recording's slot back after its submit.
    pub(crate) fn submitted_profile(&self, slot: ProfileSlot) {
        self.profiles.lock().unwrap().insert(std::thread::current().id(), (slot, true));
    }

    /// `(kernel, milliseconds)` for every dispatch of the profiled recording, in order, once it was
    /// submitted (waits for the device); `None` when no profiled recording was submitted on this thread.
    pub fn take_profile(&self) -> Result<Option<Vec<(String, f64)>>> {
        let id = std::thread::current().id();
        let slot = {
            let mut profiles = self.profiles.lock().unwrap();
            match profiles.get(&id) {
                Some((_, true)) => profiles.remove(&id).map(|(slot, _)| slot),
                _ => None,
            }
        };
        let Some(slot) = slot else { return Ok(None) };
        let (tx, rx) = std::sync::mpsc::channel();
        slot.read.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        self.synchronize()?;
        rx.recv()
            .map_err(|e| GpuError::Device(e.to_string()))?
            .map_err(|e| GpuError::Device(format!("reading the profile: {e}")))?;
        let ticks: Vec<u64> = {
            let view = slot.read.get_mapped_range(..).map_err(|e| GpuError::Device(e.to_string()))?;
            bytemuck::pod_collect_to_vec(&view)
        };
        slot.read.unmap();
        let period = f64::from(self.queue().get_timestamp_period());
        Ok(Some(
            slot.kernels
                .into_iter()
                .enumerate()
                .map(|(i, k)| (k, ticks[2 * i + 1].saturating_sub(ticks[2 * i]) as f64 * period / 1e6))
                .collect(),
        ))
    }
}
