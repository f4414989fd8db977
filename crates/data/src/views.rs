//! [`DeviceViews`]: the device end of the feed. Each host batch is written into the next slot of a small
//! ring of device buffers (`queue.write_buffer` copies it into wgpu's staging memory at once, so the
//! host never waits for the device, and the copy runs ahead of the step that reads it); recording then
//! turns the slot into both augmented views.

use tandem_gpu::{Gpu, Recorder, Tensor};
use tandem_kernels::augment::{PARAMS_PER_SAMPLE, Source, ViewShape, ViewWork, record_view};

use crate::augment::Augmentation;
use crate::dataset::{Dataset, Layout, Pixels};
use crate::loader::HostBatch;

/// Per-channel mean and standard deviation of a dataset (values in 0..1 for images), and the standard
/// deviation over all values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChannelStats {
    /// Mean per channel (the first entry only, for one channel or vectors).
    pub mean: [f32; 3],
    /// Standard deviation per channel.
    pub std: [f32; 3],
    /// Standard deviation over every value.
    pub overall_std: f32,
}

impl ChannelStats {
    /// Measured on at most `max_samples` samples spread evenly over the dataset (deterministic).
    pub fn measure(ds: &dyn Dataset, max_samples: usize) -> Self {
        let (c, plane) = match ds.layout() {
            Layout::Image { c, h, w } => (c, h * w),
            Layout::Vector { d } => (1, d),
        };
        let count = ds.len().min(max_samples.max(1));
        let sample_bytes = ds.layout().values() * ds.pixels().bytes();
        let mut buf = vec![0u8; sample_bytes];
        let (mut s, mut s2) = ([0f64; 3], [0f64; 3]);
        for k in 0..count {
            ds.copy_sample(k * ds.len() / count, &mut buf);
            for (i, chunk) in buf.chunks_exact(ds.pixels().bytes()).enumerate() {
                let v = match ds.pixels() {
                    Pixels::U8 => f64::from(chunk[0]) / 255.0,
                    Pixels::F32 => f64::from(f32::from_le_bytes(chunk.try_into().unwrap())),
                };
                let ch = (i / plane).min(2);
                s[ch] += v;
                s2[ch] += v * v;
            }
        }
        let per = (count * plane) as f64;
        let (mut mean, mut std) = ([0f32; 3], [1f32; 3]);
        for ch in 0..c.min(3) {
            let m = s[ch] / per;
            mean[ch] = m as f32;
            std[ch] = ((s2[ch] / per - m * m).max(0.0).sqrt() as f32).max(1e-3);
        }
        if c == 1 {
            (mean[1], mean[2], std[1], std[2]) = (mean[0], mean[0], std[0], std[0]);
        }
        let all = per * c as f64;
        let m = s.iter().sum::<f64>() / all;
        let overall_std = ((s2.iter().sum::<f64>() / all - m * m).max(0.0).sqrt() as f32).max(1e-6);
        Self { mean, std, overall_std }
    }
}

struct Slot {
    src: Tensor,
    params: [Tensor; 2],
}

/// Device buffers for a batch shape: the upload ring, the augmentation scratch and the two views.
pub struct DeviceViews {
    shape: ViewShape,
    blur: bool,
    slots: Vec<Slot>,
    work: ViewWork,
    views: [Tensor; 2],
    staged: usize,
}

/// Slots in the upload ring.
const RING: usize = 2;

impl DeviceViews {
    /// Buffers for batches of `batch` samples of `ds`, augmented by `aug` and normalised by `stats`
    /// (images only; vectors are not normalised).
    pub fn new(
        gpu: &Gpu,
        ds: &dyn Dataset,
        batch: usize,
        aug: &Augmentation,
        stats: &ChannelStats,
    ) -> tandem_gpu::Result<Self> {
        let shape = match ds.layout() {
            Layout::Image { c, h, w } => {
                let (h_out, w_out) = aug.out_size.unwrap_or((h, w));
                ViewShape {
                    n: batch,
                    c,
                    h_in: h,
                    w_in: w,
                    h_out,
                    w_out,
                    source: if ds.pixels() == Pixels::U8 { Source::U8 } else { Source::F32Image },
                    mask_patch: aug.mask_patch,
                    mean: stats.mean,
                    std: stats.std,
                }
            }
            Layout::Vector { d } => ViewShape {
                n: batch,
                c: 1,
                h_in: 1,
                w_in: d,
                h_out: 1,
                w_out: d,
                source: Source::F32Vector,
                mask_patch: 1,
                mean: [0.0; 3],
                std: [1.0; 3],
            },
        };
        gpu.check_fits("an augmented view batch", (batch * shape.out_len() * 4) as u64)?;
        let slots = (0..RING)
            .map(|_| {
                Ok(Slot {
                    src: gpu.empty(&[shape.src_words()])?,
                    params: [gpu.empty(&[batch, PARAMS_PER_SAMPLE])?, gpu.empty(&[batch, PARAMS_PER_SAMPLE])?],
                })
            })
            .collect::<tandem_gpu::Result<_>>()?;
        let views = [gpu.empty(&[batch, shape.out_len()])?, gpu.empty(&[batch, shape.out_len()])?];
        Ok(Self { shape, blur: aug.blurs(), slots, work: ViewWork::new(gpu, &shape)?, views, staged: 0 })
    }

    /// Width of a flattened view (C·H·W or D).
    pub fn view_len(&self) -> usize {
        self.shape.out_len()
    }

    /// The view shape.
    pub fn shape(&self) -> &ViewShape {
        &self.shape
    }

    /// Writes `batch` into the next ring slot.
    #[track_caller]
    pub fn stage(&mut self, gpu: &Gpu, batch: &HostBatch) {
        let n = batch.params[0].len() / PARAMS_PER_SAMPLE;
        assert_eq!(n, self.shape.n, "batch of {n} for views of {}", self.shape.n);
        assert_eq!(
            batch.raw.len(),
            self.shape.src_words() * 4,
            "raw batch of {} bytes for {:?}",
            batch.raw.len(),
            self.shape
        );
        self.staged = (self.staged + 1) % RING;
        let slot = &self.slots[self.staged];
        gpu.write_bytes(&slot.src, &batch.raw);
        gpu.write(&slot.params[0], &batch.params[0]);
        gpu.write(&slot.params[1], &batch.params[1]);
    }

    /// Records both views of the last staged batch into [`DeviceViews::views`].
    pub fn record(&self, rec: &mut Recorder<'_>) -> tandem_gpu::Result<()> {
        let slot = &self.slots[self.staged];
        for v in 0..2 {
            record_view(rec, &self.shape, self.blur, &slot.src, &slot.params[v], &self.work, &self.views[v])?;
        }
        Ok(())
    }

    /// View 1 and view 2, each (batch, view_len).
    pub fn views(&self) -> [&Tensor; 2] {
        [&self.views[0], &self.views[1]]
    }
}
