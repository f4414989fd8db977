//! [`ParamArena`]: a network's parameters and gradients moved side by side into a few large buffers
//! (chunks no larger than one storage binding), each parameter a view at an aligned offset. Layers keep
//! using their `Param`s unchanged; the optimizer, the two views' gradient sum and the EMA of a target then
//! touch every parameter in a few dispatches per chunk instead of one per tensor.

use tandem_gpu::{Gpu, ROW_WINDOW_ALIGN, Recorder, Result, Tensor};
use tandem_kernels::optim::Segment;

use crate::param::{Param, ParamKind};

/// One buffer of parameters and the matching buffer of gradients.
pub struct ArenaChunk {
    /// The parameters' values.
    pub values: Tensor,
    /// Their gradients, laid out like `values`.
    pub grads: Tensor,
    /// Where each parameter is.
    pub segments: Vec<Segment>,
}

/// Parameters packed into chunks (see the module documentation).
pub struct ParamArena {
    chunks: Vec<ArenaChunk>,
    count: usize,
}

/// Segments for parameters of these lengths (and whether they take weight decay), in order, each starting
/// at a multiple of [`ROW_WINDOW_ALIGN`] elements, a chunk holding at most `capacity` elements.
pub fn layout(params: &[(usize, bool)], capacity: usize) -> Vec<Vec<Segment>> {
    let mut chunks: Vec<Vec<Segment>> = vec![Vec::new()];
    let mut end = 0usize;
    for (index, &(len, decay)) in params.iter().enumerate() {
        assert!(len <= capacity, "a parameter of {len} elements does not fit a chunk of {capacity}");
        let mut offset = end.next_multiple_of(ROW_WINDOW_ALIGN);
        if offset + len > capacity {
            chunks.push(Vec::new());
            offset = 0;
        }
        chunks.last_mut().expect("one chunk at least").push(Segment { offset, len, decay, index });
        end = offset + len;
    }
    chunks
}

impl ParamArena {
    /// Moves `params` (values copied, gradients zeroed) into chunks of at most one storage binding each.
    pub fn pack(gpu: &Gpu, params: Vec<&mut Param>) -> Result<Self> {
        let max_binding = gpu.limits().max_storage_buffer_binding_size as usize / 4;
        Self::pack_with_capacity(gpu, params, max_binding / ROW_WINDOW_ALIGN * ROW_WINDOW_ALIGN)
    }

    /// [`ParamArena::pack`] with chunks of at most `capacity` elements (tests use small ones).
    pub fn pack_with_capacity(gpu: &Gpu, mut params: Vec<&mut Param>, capacity: usize) -> Result<Self> {
        let shape: Vec<(usize, bool)> = params.iter().map(|p| (p.value.len(), p.kind == ParamKind::Weight)).collect();
        let mut chunks = Vec::new();
        let mut old = Vec::new();
        let mut rec = Recorder::new(gpu);
        for segments in layout(&shape, capacity) {
            let len = segments.last().map_or(0, |s| s.offset + s.len).max(1);
            let (values, grads) = (gpu.zeros(&[len])?, gpu.zeros(&[len])?);
            for s in &segments {
                let p = &mut *params[s.index];
                rec.copy_range(&p.value, 0, &values, s.offset, s.len);
                let dims = p.value.shape().to_vec();
                let value = values.rows(s.offset, s.len).reshape(&dims);
                let grad = grads.rows(s.offset, s.len).reshape(&dims);
                old.push(std::mem::replace(&mut p.value, value));
                old.push(std::mem::replace(&mut p.grad, grad));
            }
            chunks.push(ArenaChunk { values, grads, segments });
        }
        rec.submit()?;
        drop(old);
        gpu.release_free_buffers();
        Ok(Self { chunks, count: params.len() })
    }

    /// The chunks.
    pub fn chunks(&self) -> &[ArenaChunk] {
        &self.chunks
    }

    /// How many parameters.
    pub fn count(&self) -> usize {
        self.count
    }

    /// A zeroed buffer shaped like each chunk (optimizer state, gradient accumulators).
    pub fn zeros_like(&self, gpu: &Gpu) -> Result<Vec<Tensor>> {
        self.chunks.iter().map(|c| gpu.zeros(&[c.values.len()])).collect()
    }
}
