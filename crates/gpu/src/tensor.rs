//! [`Tensor`]: an f32 device buffer with a shape, and the pool its buffers come from and return to.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use crate::context::Gpu;
use crate::error::{GpuError, Result};

/// Buffers released by dropped tensors, by exact byte size. A released buffer waits in `pending` until no
/// recording that was open when it was released is still unsubmitted: such a recording may have recorded
/// work that uses it, and a host write into a reused buffer (`queue.write_buffer`), or work submitted from
/// another thread, would land before that work runs. Work already submitted is safe: the queue runs in order.
#[derive(Default)]
pub(crate) struct BufferPool {
    free: Mutex<HashMap<u64, Vec<(u64, wgpu::Buffer)>>>,
    /// `(serial of the newest recording opened before the release, bytes, id, buffer)`.
    pending: Mutex<Vec<(u64, u64, u64, wgpu::Buffer)>>,
    allocated: AtomicU64,
    recordings: Mutex<Recordings>,
}

/// Serials of the recordings opened so far and of those not yet submitted or dropped.
#[derive(Default)]
struct Recordings {
    newest: u64,
    open: BTreeSet<u64>,
}

impl BufferPool {
    pub(crate) fn clear(&self) {
        let mut free = self.free.lock().unwrap();
        for (size, bufs) in free.drain() {
            self.allocated.fetch_sub(size * bufs.len() as u64, Ordering::Relaxed);
        }
    }

    /// Registers a new recording until the returned guard is dropped (when the recording has been submitted
    /// or abandoned).
    pub(crate) fn open_recording(self: &Arc<Self>) -> OpenRecording {
        let mut r = self.recordings.lock().unwrap();
        r.newest += 1;
        let serial = r.newest;
        r.open.insert(serial);
        OpenRecording { pool: self.clone(), serial }
    }

    /// Makes reusable the released buffers that no open recording can reference.
    pub(crate) fn recycle(&self) {
        let oldest_open = self.recordings.lock().unwrap().open.first().copied().unwrap_or(u64::MAX);
        let mut free = self.free.lock().unwrap();
        self.pending.lock().unwrap().retain(|(newest, bytes, id, buffer)| {
            let reusable = *newest < oldest_open;
            if reusable {
                free.entry(*bytes).or_default().push((*id, buffer.clone()));
            }
            !reusable
        });
    }

    pub(crate) fn allocated_bytes(&self) -> u64 {
        self.allocated.load(Ordering::Relaxed)
    }
}

/// A recording that buffers released meanwhile must wait for; dropping it lets them be reused.
pub(crate) struct OpenRecording {
    pool: Arc<BufferPool>,
    serial: u64,
}

impl Drop for OpenRecording {
    fn drop(&mut self) {
        self.pool.recordings.lock().unwrap().open.remove(&self.serial);
        self.pool.recycle();
    }
}

/// One pooled allocation; its id keys the bind-group cache. Returns itself to the pool on drop.
pub(crate) struct PooledBuffer {
    pub(crate) id: u64,
    pub(crate) buffer: wgpu::Buffer,
    bytes: u64,
    pool: Weak<BufferPool>,
}

impl Drop for PooledBuffer {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.upgrade() {
            let newest = pool.recordings.lock().unwrap().newest;
            pool.pending.lock().unwrap().push((newest, self.bytes, self.id, self.buffer.clone()));
            pool.recycle();
        }
    }
}

/// A row-major f32 tensor on the device: a shape over a buffer, starting `offset` elements into it (0
/// except for row windows, see [`Tensor::rows`]). Cloning shares the buffer.
#[derive(Clone)]
pub struct Tensor {
    pub(crate) buf: Arc<PooledBuffer>,
    offset: usize,
    shape: Vec<usize>,
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor{:?}#{}", self.shape, self.buf.id)?;
        if self.offset > 0 {
            write!(f, "+{}", self.offset)?;
        }
        Ok(())
    }
}

/// Row windows start at multiples of this many rows: 64 rows of f32 are 256 bytes times the row length,
/// a multiple of every device's storage-binding offset alignment (WebGPU caps it at 256 bytes).
pub const ROW_WINDOW_ALIGN: usize = 64;

impl Tensor {
    /// The shape, outermost dimension first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True when the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rows and columns of a 2-D tensor; a 1-D tensor of length n is 1×n.
    #[track_caller]
    pub fn dims2(&self) -> (usize, usize) {
        match self.shape[..] {
            [n] => (1, n),
            [r, c] => (r, c),
            _ => panic!("expected a 1-D or 2-D tensor, got shape {:?}", self.shape),
        }
    }

    /// The underlying wgpu buffer (possibly larger than the tensor; the tensor starts at
    /// [`Tensor::offset`]).
    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.buf.buffer
    }

    /// Where the tensor starts in its buffer, in elements.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// A tensor of `shape` over the first elements of this one (no more than its length): for example the
    /// first rows of a matrix, as a smaller matrix.
    #[track_caller]
    pub fn prefix(&self, shape: &[usize]) -> Tensor {
        assert!(shape.iter().product::<usize>() <= self.len(), "prefix {shape:?} is longer than {:?}", self.shape);
        Tensor { buf: self.buf.clone(), offset: self.offset, shape: shape.to_vec() }
    }

    /// Rows `start .. start + count` of a 2-D tensor (elements of a 1-D one) as a tensor of their own, bound
    /// to kernels as that range of the buffer: how a matrix larger than one storage binding
    /// ([`Gpu::empty_large`]) is processed. `start` must be a multiple of [`ROW_WINDOW_ALIGN`] so that the
    /// binding's offset is aligned on every device.
    #[track_caller]
    pub fn rows(&self, start: usize, count: usize) -> Tensor {
        assert!(
            start.is_multiple_of(ROW_WINDOW_ALIGN),
            "row window start {start} is not a multiple of {ROW_WINDOW_ALIGN}"
        );
        let (shape, width) = match self.shape[..] {
            [n] => (n, 1),
            [n, d] => (n, d),
            _ => panic!("row windows of a {:?} tensor: expected 1-D or 2-D", self.shape),
        };
        assert!(start + count <= shape, "rows {start}..{} of {self:?}", start + count);
        let mut window = self.shape.clone();
        window[0] = count;
        Tensor { buf: self.buf.clone(), offset: self.offset + start * width, shape: window }
    }

    /// A tensor sharing this buffer with a different shape of the same length.
    #[track_caller]
    pub fn reshape(&self, shape: &[usize]) -> Tensor {
        assert_eq!(
            shape.iter().product::<usize>(),
            self.len(),
            "reshape {:?} -> {shape:?} changes the length",
            self.shape
        );
        Tensor { buf: self.buf.clone(), offset: self.offset, shape: shape.to_vec() }
    }

    /// The byte range `(offset, size)` a kernel binds: the whole buffer for a tensor at its start when the
    /// buffer fits a binding of `max_binding` bytes (so that prefixes share bind groups), otherwise the
    /// tensor's own elements rounded up to 16 bytes (vector loads) within the buffer.
    pub(crate) fn binding_range(&self, max_binding: u64) -> (u64, Option<u64>) {
        if self.offset == 0 && self.buf.bytes <= max_binding {
            return (0, None);
        }
        let start = (self.offset * 4) as u64;
        let size = ((self.len().max(1) * 4) as u64).next_multiple_of(16).min(self.buf.bytes - start);
        (start, Some(size))
    }
}

const TENSOR_USAGE: wgpu::BufferUsages =
    wgpu::BufferUsages::STORAGE.union(wgpu::BufferUsages::COPY_SRC).union(wgpu::BufferUsages::COPY_DST);

impl Gpu {
    /// Checks that `bytes` fits one storage binding and one buffer on this device.
    pub fn check_fits(&self, what: &str, bytes: u64) -> Result<()> {
        let limits = self.limits();
        let binding = limits.max_storage_buffer_binding_size;
        if bytes > binding {
            return Err(GpuError::TooLarge {
                what: what.to_string(),
                bytes,
                limit: binding,
                limit_name: "max_storage_buffer_binding_size",
            });
        }
        if bytes > limits.max_buffer_size {
            return Err(GpuError::TooLarge {
                what: what.to_string(),
                bytes,
                limit: limits.max_buffer_size,
                limit_name: "max_buffer_size",
            });
        }
        Ok(())
    }

    /// A tensor of `shape` with unspecified contents, reusing a pooled buffer of the same size if any.
    /// It must fit one storage binding; see [`Gpu::empty_large`] for larger ones.
    pub fn empty(&self, shape: &[usize]) -> Result<Tensor> {
        self.alloc(shape, true)
    }

    /// [`Gpu::empty`] for a tensor that may exceed one storage binding (up to the device's largest buffer).
    /// Kernels cannot bind it whole: they see it through row windows ([`Tensor::rows`]) that fit, and a
    /// launch that binds too much is refused ([`GpuError::BadLaunch`]).
    pub fn empty_large(&self, shape: &[usize]) -> Result<Tensor> {
        self.alloc(shape, false)
    }

    fn alloc(&self, shape: &[usize], bindable: bool) -> Result<Tensor> {
        let len: usize = shape.iter().product();
        // Zero-length tensors still get a small buffer so that they can be bound.
        let bytes = ((len.max(1) * 4) as u64).next_multiple_of(16);
        let what = format!("tensor of shape {shape:?}");
        if bindable {
            self.check_fits(&what, bytes)?;
        } else if bytes > self.limits().max_buffer_size {
            return Err(GpuError::TooLarge {
                what,
                bytes,
                limit: self.limits().max_buffer_size,
                limit_name: "max_buffer_size",
            });
        }
        let reused = self.pool.free.lock().unwrap().get_mut(&bytes).and_then(Vec::pop);
        let (id, buffer) = match reused {
            Some(b) => b,
            None => {
                if let Some(budget) = &self.memory_budget {
                    let allocated = self.pool.allocated_bytes();
                    if allocated + bytes > budget.bytes {
                        return Err(GpuError::OutOfMemory {
                            what: format!("tensor of shape {shape:?}"),
                            bytes,
                            allocated,
                            budget: budget.bytes,
                            origin: budget.source,
                        });
                    }
                }
                let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("tandem tensor"),
                    size: bytes,
                    usage: TENSOR_USAGE,
                    mapped_at_creation: false,
                });
                self.pool.allocated.fetch_add(bytes, Ordering::Relaxed);
                crate::context::Counters::bump(&self.stats.buffers);
                (self.fresh_id(), buffer)
            }
        };
        let buf = PooledBuffer { id, buffer, bytes, pool: Arc::downgrade(&self.pool) };
        Ok(Tensor { buf: Arc::new(buf), offset: 0, shape: shape.to_vec() })
    }

    /// Submits a finished encoder; buffers released before it become reusable.
    pub(crate) fn submit(&self, encoder: wgpu::CommandEncoder) -> wgpu::SubmissionIndex {
        let index = self.queue.submit([encoder.finish()]);
        self.pool.recycle();
        index
    }

    /// A tensor of `shape` filled with zeros.
    pub fn zeros(&self, shape: &[usize]) -> Result<Tensor> {
        let t = self.empty(shape)?;
        let mut enc = self.device.create_command_encoder(&Default::default());
        enc.clear_buffer(t.buffer(), 0, None);
        self.submit(enc);
        Ok(t)
    }

    /// Uploads `data` into a new tensor of `shape`.
    #[track_caller]
    pub fn upload(&self, shape: &[usize], data: &[f32]) -> Result<Tensor> {
        let t = self.empty(shape)?;
        self.write(&t, data);
        Ok(t)
    }

    /// Overwrites the tensor's contents with `data` (its length must match).
    #[track_caller]
    pub fn write(&self, t: &Tensor, data: &[f32]) {
        assert_eq!(data.len(), t.len(), "write: {} values into {t:?}", data.len());
        if !data.is_empty() {
            self.queue.write_buffer(t.buffer(), (t.offset * 4) as u64, bytemuck::cast_slice(data));
        }
    }

    /// Writes raw bytes (a multiple of four, at most the tensor's size) at the start of the tensor:
    /// for data the kernels read as packed integers, such as uint8 images.
    #[track_caller]
    pub fn write_bytes(&self, t: &Tensor, bytes: &[u8]) {
        assert!(
            bytes.len().is_multiple_of(4) && bytes.len() <= t.len() * 4,
            "write_bytes: {} bytes into {t:?}",
            bytes.len()
        );
        if !bytes.is_empty() {
            self.queue.write_buffer(t.buffer(), (t.offset * 4) as u64, bytes);
        }
    }

    /// Copies the tensor back to the host (waits for all submitted work).
    pub fn download(&self, t: &Tensor) -> Result<Vec<f32>> {
        let bytes = (t.len() * 4) as u64;
        if bytes == 0 {
            return Ok(Vec::new());
        }
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("tandem readback"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut enc = self.device.create_command_encoder(&Default::default());
        enc.copy_buffer_to_buffer(t.buffer(), (t.offset * 4) as u64, &staging, 0, bytes);
        self.submit(enc);
        self.read_mapped(&staging)
    }

    /// Maps a MAP_READ buffer, waits, and returns its contents as f32.
    pub(crate) fn read_mapped(&self, staging: &wgpu::Buffer) -> Result<Vec<f32>> {
        let (tx, rx) = std::sync::mpsc::channel();
        staging.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        self.synchronize()?;
        rx.recv()
            .map_err(|_| GpuError::Device("buffer mapping was dropped".into()))?
            .map_err(|e| GpuError::Device(format!("buffer mapping failed: {e}")))?;
        let out = {
            let view = staging.get_mapped_range(..).map_err(|e| GpuError::Device(format!("mapped range: {e}")))?;
            bytemuck::pod_collect_to_vec::<u8, f32>(&view)
        };
        staging.unmap();
        Ok(out)
    }
}
