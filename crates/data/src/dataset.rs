//! [`Dataset`]: what every reader provides, and [`InMemory`], the decoded form every built-in reader
//! produces.

use std::path::PathBuf;

/// The shape of one sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// An image, channels first (C, H, W); C is 1 or 3.
    Image {
        /// Channels.
        c: usize,
        /// Height.
        h: usize,
        /// Width.
        w: usize,
    },
    /// A feature vector of width `d`.
    Vector {
        /// Width.
        d: usize,
    },
}

impl Layout {
    /// Values per sample.
    pub fn values(&self) -> usize {
        match *self {
            Layout::Image { c, h, w } => c * h * w,
            Layout::Vector { d } => d,
        }
    }
}

/// How sample values are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pixels {
    /// uint8 (images, 0..255).
    U8,
    /// float32 (images in 0..1, or vectors).
    F32,
}

impl Pixels {
    /// Bytes per value.
    pub fn bytes(self) -> usize {
        match self {
            Pixels::U8 => 1,
            Pixels::F32 => 4,
        }
    }
}

/// A dataset of samples with an optional label each. Implementations must be cheap to read from many
/// threads at once (the loader's workers call [`Dataset::copy_sample`] concurrently).
pub trait Dataset: Send + Sync {
    /// Where it came from, for messages.
    fn source(&self) -> &std::path::Path;
    /// Number of samples.
    fn len(&self) -> usize;
    /// True when there are no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The shape of every sample.
    fn layout(&self) -> Layout;
    /// The storage type of every sample.
    fn pixels(&self) -> Pixels;
    /// Class labels (one per sample), if the dataset has them.
    fn labels(&self) -> Option<&[u32]>;
    /// Copies sample `i` as raw little-endian values (`layout().values() * pixels().bytes()` bytes).
    fn copy_sample(&self, i: usize, out: &mut [u8]);
}

/// A decoded dataset held in memory: samples back to back, channels first.
pub struct InMemory {
    source: PathBuf,
    layout: Layout,
    data: Storage,
    labels: Option<Vec<u32>>,
}

/// The samples' values.
pub enum Storage {
    /// uint8 values.
    U8(Vec<u8>),
    /// float32 values.
    F32(Vec<f32>),
}

impl InMemory {
    /// Wraps decoded samples; `data` must hold a whole number of samples and `labels` one per sample.
    #[track_caller]
    pub fn new(source: impl Into<PathBuf>, layout: Layout, data: Storage, labels: Option<Vec<u32>>) -> Self {
        let len = match &data {
            Storage::U8(v) => v.len(),
            Storage::F32(v) => v.len(),
        };
        assert!(layout.values() > 0 && len % layout.values() == 0, "{len} values are not whole samples of {layout:?}");
        if let Some(l) = &labels {
            assert_eq!(l.len(), len / layout.values(), "one label per sample");
        }
        Self { source: source.into(), layout, data, labels }
    }
}

impl Dataset for InMemory {
    fn source(&self) -> &std::path::Path {
        &self.source
    }

    fn len(&self) -> usize {
        match &self.data {
            Storage::U8(v) => v.len() / self.layout.values(),
            Storage::F32(v) => v.len() / self.layout.values(),
        }
    }

    fn layout(&self) -> Layout {
        self.layout
    }

    fn pixels(&self) -> Pixels {
        match self.data {
            Storage::U8(_) => Pixels::U8,
            Storage::F32(_) => Pixels::F32,
        }
    }

    fn labels(&self) -> Option<&[u32]> {
        self.labels.as_deref()
    }

    fn copy_sample(&self, i: usize, out: &mut [u8]) {
        let v = self.layout.values();
        match &self.data {
            Storage::U8(d) => out.copy_from_slice(&d[i * v..(i + 1) * v]),
            Storage::F32(d) => out.copy_from_slice(bytemuck::cast_slice(&d[i * v..(i + 1) * v])),
        }
    }
}

/// A view of some samples of another dataset, in the given order (a held-out slice, a probe bank).
pub struct Subset {
    inner: std::sync::Arc<dyn Dataset>,
    indices: Vec<usize>,
    labels: Option<Vec<u32>>,
}

impl Subset {
    /// The samples `indices` (each below `inner.len()`) of `inner`.
    #[track_caller]
    pub fn new(inner: std::sync::Arc<dyn Dataset>, indices: Vec<usize>) -> Self {
        assert!(indices.iter().all(|&i| i < inner.len()), "subset index out of range");
        let labels = inner.labels().map(|l| indices.iter().map(|&i| l[i]).collect());
        Self { inner, indices, labels }
    }
}

impl Dataset for Subset {
    fn source(&self) -> &std::path::Path {
        self.inner.source()
    }

    fn len(&self) -> usize {
        self.indices.len()
    }

    fn layout(&self) -> Layout {
        self.inner.layout()
    }

    fn pixels(&self) -> Pixels {
        self.inner.pixels()
    }

    fn labels(&self) -> Option<&[u32]> {
        self.labels.as_deref()
    }

    fn copy_sample(&self, i: usize, out: &mut [u8]) {
        self.inner.copy_sample(self.indices[i], out)
    }
}
