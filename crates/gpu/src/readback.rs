//! [`ReadbackRing`]: scalars read back a few steps late, so a training step never waits for the device.
//! Each step copies its small tensors (loss, terms, gradient norms) into the next slot of a ring of
//! mappable buffers; the slot is mapped after the submit and read when the device has finished it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::context::Gpu;
use crate::error::{GpuError, Result};
use crate::recorder::Recorder;
use crate::tensor::Tensor;

const IDLE: u8 = 0;
const MAPPING: u8 = 1;
const MAPPED: u8 = 2;
const FAILED: u8 = 3;

struct Slot {
    buffer: wgpu::Buffer,
    state: Arc<AtomicU8>,
    tag: u64,
    in_flight: bool,
}

/// A ring of `slots` mappable buffers of `floats` values each, allocated once.
pub struct ReadbackRing {
    slots: Vec<Slot>,
    floats: usize,
    next: usize,
    recorded: Option<usize>,
    ready: VecDeque<(u64, Vec<f32>)>,
}

impl ReadbackRing {
    /// A ring of `slots` buffers of `floats` values.
    pub fn new(gpu: &Gpu, slots: usize, floats: usize) -> Self {
        let slots = (0..slots.max(1))
            .map(|_| Slot {
                buffer: gpu.device().create_buffer(&wgpu::BufferDescriptor {
                    label: Some("tandem readback ring"),
                    size: (floats.max(1) * 4) as u64,
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                }),
                state: Arc::new(AtomicU8::new(IDLE)),
                tag: 0,
                in_flight: false,
            })
            .collect();
        Self { slots, floats, next: 0, recorded: None, ready: VecDeque::new() }
    }

    /// Records copies of `sources`, back to back, into the next slot, tagged `tag`. If that slot still
    /// holds an unread step (the device is more than a ring behind), waits for it first.
    pub fn record(&mut self, rec: &mut Recorder<'_>, tag: u64, sources: &[&Tensor]) -> Result<()> {
        let total: usize = sources.iter().map(|t| t.len()).sum();
        assert!(total <= self.floats, "readback of {total} values into slots of {}", self.floats);
        let i = self.next;
        if self.slots[i].in_flight {
            self.collect(rec.gpu(), Some(i))?;
        }
        let mut at = 0;
        for t in sources {
            rec.copy_to_buffer(t, &self.slots[i].buffer, (at * 4) as u64);
            at += t.len();
        }
        self.slots[i].tag = tag;
        self.recorded = Some(i);
        self.next = (i + 1) % self.slots.len();
        Ok(())
    }

    /// Starts mapping the slot recorded last; call after submitting its recording.
    pub fn submitted(&mut self) {
        if let Some(i) = self.recorded.take() {
            let slot = &mut self.slots[i];
            slot.in_flight = true;
            slot.state.store(MAPPING, Ordering::Release);
            let state = slot.state.clone();
            slot.buffer.map_async(wgpu::MapMode::Read, .., move |r| {
                state.store(if r.is_ok() { MAPPED } else { FAILED }, Ordering::Release);
            });
        }
    }

    /// Every step whose values have arrived, oldest first, as `(tag, values)`; with `wait`, waits for all
    /// submitted steps.
    pub fn poll(&mut self, gpu: &Gpu, wait: bool) -> Result<Vec<(u64, Vec<f32>)>> {
        if wait {
            for i in 0..self.slots.len() {
                if self.slots[i].in_flight {
                    self.wait_for(gpu, i)?;
                }
            }
        } else {
            gpu.device().poll(wgpu::PollType::Poll).map_err(|e| GpuError::Device(e.to_string()))?;
        }
        self.collect(gpu, None)?;
        Ok(self.ready.drain(..).collect())
    }

    /// Waits until slot `i`'s mapping callback has run. The device may be polled by another thread that
    /// is still running the callback when our wait returns, so this checks the state, not the wait.
    fn wait_for(&self, gpu: &Gpu, i: usize) -> Result<()> {
        while self.slots[i].state.load(Ordering::Acquire) == MAPPING {
            gpu.synchronize()?;
            std::thread::yield_now();
        }
        Ok(())
    }

    /// Reads every mapped slot in ring order starting from the oldest; with `must`, waits for that slot.
    fn collect(&mut self, gpu: &Gpu, must: Option<usize>) -> Result<()> {
        if let Some(i) = must {
            self.wait_for(gpu, i)?;
        }
        let n = self.slots.len();
        for k in 0..n {
            // Oldest first: the slot after the next one to be written.
            let i = (self.next + k) % n;
            let slot = &mut self.slots[i];
            if !slot.in_flight {
                continue;
            }
            match slot.state.load(Ordering::Acquire) {
                MAPPED => {
                    let values = {
                        let view = slot
                            .buffer
                            .get_mapped_range(..)
                            .map_err(|e| GpuError::Device(format!("mapped range: {e}")))?;
                        bytemuck::pod_collect_to_vec::<u8, f32>(&view)
                    };
                    slot.buffer.unmap();
                    slot.in_flight = false;
                    slot.state.store(IDLE, Ordering::Release);
                    self.ready.push_back((slot.tag, values));
                }
                FAILED => {
                    // A lost device fails every mapping: report the loss itself where wgpu told us of it.
                    gpu.check_device_error()?;
                    return Err(GpuError::Device("mapping a readback slot failed".into()));
                }
                _ => break,
            }
        }
        Ok(())
    }
}
