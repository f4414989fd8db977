//! [`GpuTimer`]: device time of a recording from timestamp queries, or host wall time around a
//! synchronised submit where the adapter has no timestamps.

use std::time::Instant;

use crate::context::Gpu;
use crate::error::{GpuError, Result};
use crate::recorder::Recorder;

/// Measures how long the compute work of one recording takes on the device.
pub struct GpuTimer {
    queries: Option<(wgpu::QuerySet, wgpu::Buffer, wgpu::Buffer)>,
    period_ns: f64,
}

impl GpuTimer {
    /// A timer using timestamp queries when the device has them.
    pub fn new(gpu: &Gpu) -> Self {
        let queries = gpu.features().contains(wgpu::Features::TIMESTAMP_QUERY).then(|| {
            let set = gpu.device().create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("tandem timer"),
                ty: wgpu::QueryType::Timestamp,
                count: 2,
            });
            let resolve = gpu.device().create_buffer(&wgpu::BufferDescriptor {
                label: Some("tandem timer resolve"),
                size: 16,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            let read = gpu.device().create_buffer(&wgpu::BufferDescriptor {
                label: Some("tandem timer read"),
                size: 16,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            (set, resolve, read)
        });
        Self { queries, period_ns: f64::from(gpu.queue().get_timestamp_period()) }
    }

    /// True when the device's own timestamps are used (false: host wall time).
    pub fn uses_timestamps(&self) -> bool {
        self.queries.is_some()
    }

    /// Timestamps for one compute pass of the timed recording: the first pass writes the start, every
    /// pass writes the end (the last one's stays), so copies between passes are inside the interval.
    pub(crate) fn pass_writes(&self, first: bool) -> wgpu::ComputePassTimestampWrites<'_> {
        let (set, _, _) = self.queries.as_ref().expect("pass_writes only with timestamps");
        wgpu::ComputePassTimestampWrites {
            query_set: set,
            beginning_of_pass_write_index: first.then_some(0),
            end_of_pass_write_index: Some(1),
        }
    }

    pub(crate) fn resolve(&self, encoder: &mut wgpu::CommandEncoder) {
        if let Some((set, resolve, read)) = &self.queries {
            encoder.resolve_query_set(set, 0..2, resolve, 0);
            encoder.copy_buffer_to_buffer(resolve, 0, read, 0, 16);
        }
    }

    /// Records with `record`, submits, waits, and returns the milliseconds the device spent from the start
    /// of the first compute pass to the end of the last (timestamps), or the host's wall time around submit
    /// and wait.
    /// The recording closure may fail with any error a device error converts into (an objective's, say).
    pub fn time<E: From<GpuError>>(
        &self,
        gpu: &Gpu,
        record: impl FnOnce(&mut Recorder<'_>) -> Result<(), E>,
    ) -> Result<f64, E> {
        let mut rec = if self.queries.is_some() { Recorder::timed(gpu, self) } else { Recorder::new(gpu) };
        record(&mut rec)?;
        let start = Instant::now();
        rec.submit()?;
        gpu.synchronize()?;
        let wall_ms = start.elapsed().as_secs_f64() * 1e3;
        let Some((_, _, read)) = &self.queries else {
            return Ok(wall_ms);
        };
        let (tx, rx) = std::sync::mpsc::channel();
        read.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        gpu.synchronize()?;
        let ok = rx.recv().is_ok_and(|r| r.is_ok());
        let ticks = if ok {
            let view = read.get_mapped_range(..).map_err(|e| GpuError::Device(e.to_string()))?;
            let t: Vec<u64> = bytemuck::pod_collect_to_vec(&view);
            drop(view);
            read.unmap();
            t
        } else {
            return Ok(wall_ms);
        };
        let ns = ticks[1].saturating_sub(ticks[0]) as f64 * self.period_ns;
        Ok(ns / 1e6)
    }
}
