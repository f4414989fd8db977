//! [`Encoder`]: the backbone a run hands back, loaded from a run folder, turning samples into features
//! (eval mode: BatchNorm running statistics; views are the identity plus the run's normalisation).

use std::path::Path;
use std::sync::Arc;

use tandem_data::{Augmentation, ChannelStats, Dataset, DeviceViews, HostBatch, Layout, Position};
use tandem_gpu::{Gpu, Recorder};
use tandem_kernels::augment::ViewParams;
use tandem_nn::{Network, NetworkWorkspace};

use crate::checkpoint::{self, CheckpointMeta};
use crate::error::{Result, TrainError};
use crate::network::Chain;

/// A trained backbone on the device.
pub struct Encoder<'g> {
    gpu: &'g Gpu,
    stats: ChannelStats,
    backbone: Chain,
    meta: CheckpointMeta,
}

impl<'g> Encoder<'g> {
    /// The backbone of the newest valid checkpoint in `run_dir` (or in `run_dir/checkpoints`), for data
    /// shaped like `dataset`.
    pub fn load(gpu: &'g Gpu, run_dir: &Path, dataset: &dyn Dataset) -> Result<Self> {
        let dir =
            if run_dir.join("checkpoints").is_dir() { run_dir.join("checkpoints") } else { run_dir.to_path_buf() };
        let (meta, weights) = checkpoint::latest(&dir)?.ok_or_else(|| TrainError::Checkpoint {
            path: run_dir.to_path_buf(),
            message: "no valid checkpoint here (is this a tandem run folder?)".into(),
        })?;
        let config = &meta.config;
        let shape = match dataset.layout() {
            Layout::Image { c, h, w } => (c, h, w),
            Layout::Vector { d } => (1, 1, d),
        };
        let backbone = Chain::new(gpu, &[("backbone", config.backbone_config(shape)?)])?;
        let saved = checkpoint::read_safetensors(&weights)?;
        let mut named: Vec<(String, &tandem_gpu::Tensor)> =
            backbone.params().into_iter().map(|(n, p)| (n, &p.value)).collect();
        named.extend(backbone.buffers());
        for (name, t) in named {
            let h = saved.get(&name).ok_or_else(|| TrainError::Checkpoint {
                path: weights.clone(),
                message: format!("tensor {name} is missing"),
            })?;
            if h.shape != t.shape() {
                return Err(TrainError::Checkpoint {
                    path: weights.clone(),
                    message: format!(
                        "{name} has shape {:?} but this data needs {:?} (the run was trained on other data?)",
                        h.shape,
                        t.shape()
                    ),
                });
            }
            gpu.write(t, &h.data);
        }
        let (mean, std, overall_std) = meta.data_stats;
        Ok(Self { gpu, stats: ChannelStats { mean, std, overall_std }, backbone, meta })
    }

    /// The checkpoint it came from.
    pub fn meta(&self) -> &CheckpointMeta {
        &self.meta
    }

    /// Feature width.
    pub fn dim(&self) -> usize {
        self.backbone.stages[0].net.d_out()
    }

    /// Features of every sample of `dataset`, in dataset order: `len × dim` values, row-major.
    pub fn embed(&self, dataset: &Arc<dyn Dataset>) -> Result<Vec<f32>> {
        embed_dataset(self.gpu, &self.backbone.stages[0].net, &self.stats, dataset)
    }
}

/// Features of every sample of `dataset` through `backbone` in eval mode (BatchNorm running statistics),
/// views being the identity plus the normalisation `stats`: `len × d_out` values in dataset order.
pub fn embed_dataset(
    gpu: &Gpu,
    backbone: &Network,
    stats: &ChannelStats,
    dataset: &Arc<dyn Dataset>,
) -> Result<Vec<f32>> {
    let n = dataset.len();
    let chunk = n.min(256);
    let none = Augmentation::preset("none", dataset.layout()).expect("the identity preset exists");
    let (w, h) = match dataset.layout() {
        Layout::Image { h, w, .. } => (w, h),
        Layout::Vector { d } => (d, 1),
    };
    let row = ViewParams::identity(w, h).to_row();
    let sample_bytes = dataset.layout().values() * dataset.pixels().bytes();
    let mut out = Vec::with_capacity(n * backbone.d_out());
    let mut sized: Option<(usize, DeviceViews, NetworkWorkspace)> = None;
    for start in (0..n).step_by(chunk.max(1)) {
        let b = chunk.min(n - start);
        if sized.as_ref().is_none_or(|(s, _, _)| *s != b) {
            let views = DeviceViews::new(gpu, &**dataset, b, &none, stats)?;
            sized = Some((b, views, backbone.workspace(gpu, b)?));
        }
        let (_, views, ws) = sized.as_mut().unwrap();
        let mut raw = vec![0u8; (b * sample_bytes).next_multiple_of(4)];
        for k in 0..b {
            dataset.copy_sample(start + k, &mut raw[k * sample_bytes..(k + 1) * sample_bytes]);
        }
        let params: Vec<f32> = (0..b).flat_map(|_| row).collect();
        let batch = HostBatch {
            position: Position::default(),
            indices: (start as u32..(start + b) as u32).collect(),
            labels: None,
            raw,
            params: [params.clone(), params],
        };
        views.stage(gpu, &batch);
        let mut rec = Recorder::new(gpu);
        views.record(&mut rec)?;
        backbone.forward(&mut rec, false, views.views()[0], ws)?;
        rec.submit()?;
        out.extend(gpu.download(ws.output())?);
    }
    Ok(out)
}
