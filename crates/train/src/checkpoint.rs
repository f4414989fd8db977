//! Checkpoints: weights, BatchNorm statistics and optimizer state in one safetensors file (names a
//! PyTorch user can read: `backbone.blocks.0.linear.weight`, `optimizer.<param>.momentum_buffer`...), and
//! a JSON file of metadata (configuration, step, data position, seed, tandem version) that commits it.
//! Both are written atomically (temporary file, fsync, rename), the JSON last: a checkpoint without its
//! JSON, or whose weights file does not match the size and CRC-32 the JSON records, is not valid and is
//! skipped (with a warning naming the file) in favour of the previous one.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tandem_data::Position;

use crate::config::TrainConfig;
use crate::error::{Result, TrainError};

/// Everything besides the tensors that a run needs to continue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// The tandem version that wrote it.
    pub tandem_version: String,
    /// Steps completed.
    pub step: u64,
    /// Epoch of the next batch.
    pub epoch: u64,
    /// Batch (within the epoch) of the next batch.
    pub batch: u64,
    /// The run's seed (the data order and augmentations derive from it and the position).
    pub seed: u64,
    /// Per-channel normalisation the views used (mean, std) and the data's overall std.
    pub data_stats: ([f32; 3], [f32; 3], f32),
    /// The resolved configuration.
    pub config: TrainConfig,
    /// The weights file, beside this one.
    pub weights: String,
    /// Its size in bytes.
    pub weights_bytes: u64,
    /// CRC-32 of the weights file.
    pub weights_crc32: u32,
}

impl CheckpointMeta {
    /// The data position of the next batch.
    pub fn position(&self) -> Position {
        Position { epoch: self.epoch, batch: self.batch }
    }
}

/// A named tensor on the host.
pub struct HostTensor {
    /// Name.
    pub name: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Values.
    pub data: Vec<f32>,
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, fsync, rename, fsync of the folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("{}.tmp", path.extension().and_then(|e| e.to_str()).unwrap_or("part")));
    let io = |e| TrainError::io(&tmp, e);
    {
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(|e| TrainError::io(path, e))?;
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The safetensors bytes of `tensors` (f32, little-endian), with `metadata` in the header.
pub fn safetensors_bytes(tensors: &[HostTensor], metadata: Option<HashMap<String, String>>) -> Result<Vec<u8>> {
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .map(|t| {
            let view = safetensors::tensor::TensorView::new(
                safetensors::Dtype::F32,
                t.shape.clone(),
                bytemuck::cast_slice(&t.data),
            )
            .map_err(|e| TrainError::Config(format!("tensor {}: {e}", t.name)))?;
            Ok((t.name.clone(), view))
        })
        .collect::<Result<_>>()?;
    safetensors::tensor::serialize(views, metadata).map_err(|e| TrainError::Config(format!("safetensors: {e}")))
}

/// Reads every f32 tensor of a safetensors file.
pub fn read_safetensors(path: &Path) -> Result<HashMap<String, HostTensor>> {
    let bytes = std::fs::read(path).map_err(|e| TrainError::io(path, e))?;
    let bad = |m: String| TrainError::Checkpoint { path: path.to_path_buf(), message: m };
    let st = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| bad(format!("not a safetensors file: {e}")))?;
    let mut out = HashMap::new();
    for (name, view) in st.tensors() {
        if view.dtype() != safetensors::Dtype::F32 {
            return Err(bad(format!("tensor {name} is {:?}, expected F32", view.dtype())));
        }
        let data = bytemuck::pod_collect_to_vec::<u8, f32>(view.data());
        out.insert(name.clone(), HostTensor { name, shape: view.shape().to_vec(), data });
    }
    Ok(out)
}

fn stem(step: u64) -> String {
    format!("step-{step:09}")
}

/// Writes checkpoint `meta.step` into `dir` (created if needed), then deletes all but the newest `keep`.
pub fn save(dir: &Path, tensors: &[HostTensor], meta: &mut CheckpointMeta, keep: usize) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| TrainError::io(dir, e))?;
    let weights = dir.join(format!("{}.safetensors", stem(meta.step)));
    let bytes = safetensors_bytes(tensors, Some(HashMap::from([("format".into(), "pt".into())])))?;
    write_atomic(&weights, &bytes)?;
    meta.weights = weights.file_name().unwrap().to_string_lossy().into_owned();
    meta.weights_bytes = bytes.len() as u64;
    meta.weights_crc32 = crc32fast::hash(&bytes);
    let json = dir.join(format!("{}.json", stem(meta.step)));
    write_atomic(&json, serde_json::to_string_pretty(meta).expect("metadata serialises").as_bytes())?;
    let all = list(dir)?;
    for (_, old) in all.iter().rev().skip(keep.max(1)) {
        let _ = std::fs::remove_file(old.with_extension("safetensors"));
        let _ = std::fs::remove_file(old);
    }
    Ok(json)
}

/// The JSON files of `dir` that name checkpoints, oldest first.
fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(Vec::new()) };
    let mut out: Vec<(u64, PathBuf)> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?;
            let step = name.strip_prefix("step-")?.strip_suffix(".json")?.parse().ok()?;
            Some((step, p))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// The newest valid checkpoint in `dir`: its metadata and weights path. Invalid ones (a missing or
/// truncated weights file, unreadable JSON) are skipped with a warning.
pub fn latest(dir: &Path) -> Result<Option<(CheckpointMeta, PathBuf)>> {
    for (_, json) in list(dir)?.into_iter().rev() {
        let meta: Option<CheckpointMeta> =
            std::fs::read_to_string(&json).ok().and_then(|t| serde_json::from_str(&t).ok());
        let Some(meta) = meta else {
            tracing::warn!("{}: unreadable checkpoint metadata, skipped", json.display());
            continue;
        };
        let weights = dir.join(&meta.weights);
        match std::fs::read(&weights) {
            Ok(b) if b.len() as u64 == meta.weights_bytes && crc32fast::hash(&b) == meta.weights_crc32 => {
                return Ok(Some((meta, weights)));
            }
            Ok(b) if b.len() as u64 != meta.weights_bytes => tracing::warn!(
                "{}: truncated ({} of {} bytes), skipped; falling back to the previous checkpoint",
                weights.display(),
                b.len(),
                meta.weights_bytes
            ),
            Ok(_) => tracing::warn!(
                "{}: checksum mismatch (corrupt), skipped; falling back to the previous checkpoint",
                weights.display()
            ),
            Err(e) => tracing::warn!("{}: {e}, skipped", weights.display()),
        }
    }
    Ok(None)
}
