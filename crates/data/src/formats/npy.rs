//! NPY datasets: float vectors (N, D), or images as uint8/float32 (N, H, W), (N, C, H, W) or (N, H, W, C);
//! labels from a second NPY of int32/int64 (length N).

use std::path::Path;

use crate::dataset::{InMemory, Layout, Storage};
use crate::error::{DataError, Result};

/// How a 4-D image array is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageLayout {
    /// Channels first.
    Nchw,
    /// Channels last.
    Nhwc,
}

impl ImageLayout {
    /// The rule when no layout is given: channels are the axis of size 1 or 3 — the last one (NHWC) if
    /// only it qualifies, the second (NCHW) if only it qualifies; when both or neither do, the layout
    /// must be stated.
    pub fn infer(shape: &[u64]) -> Option<Self> {
        let ch = |d: u64| d == 1 || d == 3;
        match (ch(shape[1]), ch(shape[3])) {
            (true, false) => Some(Self::Nchw),
            (false, true) => Some(Self::Nhwc),
            _ => None,
        }
    }
}

/// An NPY array's values as a typed vector.
enum Values {
    U8(Vec<u8>),
    F32(Vec<f32>),
    I64(Vec<i64>),
}

fn read_array(path: &Path) -> Result<(Vec<u64>, Values)> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let npy =
        npyz::NpyFile::new(&bytes[..]).map_err(|e| DataError::format(path, format!("not a valid NPY file: {e}")))?;
    if npy.order() != npyz::Order::C {
        return Err(DataError::format(
            path,
            "Fortran-ordered arrays are not supported; save with np.ascontiguousarray",
        ));
    }
    let shape = npy.shape().to_vec();
    let descr = npy.dtype().descr();
    let item = match descr.as_str() {
        "'|u1'" => 1,
        "'<f4'" | "'<i4'" => 4,
        "'<f8'" | "'<i8'" => 8,
        other => {
            return Err(DataError::format(
                path,
                format!("dtype {other} is not supported (uint8, float32, float64, int32 or int64)"),
            ));
        }
    };
    let claimed = shape.iter().try_fold(item as u64, |a, &d| a.checked_mul(d));
    if claimed.is_none_or(|c| c > bytes.len() as u64) {
        return Err(DataError::format(
            path,
            format!("truncated: the header claims shape {shape:?} but the file holds {} bytes", bytes.len()),
        ));
    }
    let corrupt = |e: std::io::Error| DataError::format(path, format!("truncated or corrupt data: {e}"));
    let values = match descr.as_str() {
        "'|u1'" => Values::U8(npy.into_vec::<u8>().map_err(corrupt)?),
        "'<f4'" => Values::F32(npy.into_vec::<f32>().map_err(corrupt)?),
        "'<f8'" => Values::F32(npy.into_vec::<f64>().map_err(corrupt)?.into_iter().map(|v| v as f32).collect()),
        "'<i4'" => Values::I64(npy.into_vec::<i32>().map_err(corrupt)?.into_iter().map(i64::from).collect()),
        _ => Values::I64(npy.into_vec::<i64>().map_err(corrupt)?),
    };
    Ok((shape, values))
}

/// Reads labels: a 1-D int32/int64 (or uint8) array of `n` non-negative values.
pub fn read_labels(path: &Path, n: usize) -> Result<Vec<u32>> {
    let (shape, values) = read_array(path)?;
    let ints: Vec<i64> = match values {
        Values::I64(v) => v,
        Values::U8(v) => v.into_iter().map(i64::from).collect(),
        Values::F32(_) => return Err(DataError::format(path, "labels must be integers (int32 or int64)")),
    };
    if shape.len() != 1 {
        return Err(DataError::format(path, format!("labels must be 1-D, got shape {shape:?}")));
    }
    if ints.len() != n {
        return Err(DataError::format(path, format!("{} labels for {n} samples", ints.len())));
    }
    ints.iter()
        .enumerate()
        .map(|(i, &v)| {
            u32::try_from(v).map_err(|_| DataError::Sample {
                path: path.to_path_buf(),
                index: i,
                message: format!("label {v} is not a class id"),
            })
        })
        .collect()
}

/// Reads an NPY dataset (see the module doc); `layout` settles 4-D arrays the rule cannot.
pub fn read(path: &Path, labels: Option<&Path>, layout: Option<ImageLayout>) -> Result<InMemory> {
    let (shape, values) = read_array(path)?;
    let n = *shape.first().unwrap_or(&0) as usize;
    if shape.is_empty() || n == 0 || shape.contains(&0) {
        return Err(DataError::Empty { path: path.to_path_buf() });
    }
    let dims: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
    let (sample_layout, nhwc) = match dims[..] {
        [_, d] => (Layout::Vector { d }, false),
        [_, h, w] => (Layout::Image { c: 1, h, w }, false),
        [_, a, b, c] => match layout.or_else(|| ImageLayout::infer(&shape)) {
            Some(ImageLayout::Nchw) => (Layout::Image { c: a, h: b, w: c }, false),
            Some(ImageLayout::Nhwc) => (Layout::Image { c, h: a, w: b }, true),
            None => {
                return Err(DataError::format(
                    path,
                    format!("cannot tell channels from shape {shape:?}; state --layout nchw or nhwc"),
                ));
            }
        },
        _ => {
            return Err(DataError::format(path, format!("expected 2-D vectors or 3-/4-D images, got shape {shape:?}")));
        }
    };
    if let Layout::Image { c, .. } = sample_layout
        && c != 1
        && c != 3
    {
        return Err(DataError::format(path, format!("images must have 1 or 3 channels, got {c} (shape {shape:?})")));
    }
    let storage = match (values, sample_layout) {
        (Values::U8(v), Layout::Image { .. }) => Storage::U8(if nhwc { to_nchw(&v, sample_layout) } else { v }),
        (Values::U8(v), Layout::Vector { .. }) => Storage::F32(v.into_iter().map(f32::from).collect()),
        (Values::F32(v), Layout::Vector { .. }) => Storage::F32(v),
        (Values::F32(v), Layout::Image { .. }) => {
            let v = if nhwc { to_nchw(&v, sample_layout) } else { v };
            Storage::F32(unit_range(path, v)?)
        }
        (Values::I64(_), _) => {
            return Err(DataError::format(path, "integer arrays other than uint8 are read only as labels"));
        }
    };
    if let Storage::F32(v) = &storage
        && let Some(i) = v.iter().position(|x| !x.is_finite())
    {
        return Err(DataError::Sample {
            path: path.to_path_buf(),
            index: i / sample_layout.values(),
            message: "value is NaN or infinite".into(),
        });
    }
    let labels = labels.map(|l| read_labels(l, n)).transpose()?;
    Ok(InMemory::new(path, sample_layout, storage, labels))
}

/// Float images are expected in 0..1; images in 0..255 are rescaled (and said so), anything else refused.
fn unit_range(path: &Path, mut v: Vec<f32>) -> Result<Vec<f32>> {
    let (lo, hi) = v.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
    if lo >= 0.0 && hi <= 1.0 {
        return Ok(v);
    }
    if lo >= 0.0 && hi <= 255.0 {
        tracing::info!("{}: float images in 0..255, scaled to 0..1", path.display());
        v.iter_mut().for_each(|x| *x /= 255.0);
        return Ok(v);
    }
    Err(DataError::format(path, format!("float images must lie in 0..1 (or 0..255); values span {lo}..{hi}")))
}

fn to_nchw<T: Copy>(v: &[T], layout: Layout) -> Vec<T> {
    let Layout::Image { c, h, w } = layout else { unreachable!() };
    let per = c * h * w;
    let mut out = Vec::with_capacity(v.len());
    for s in v.chunks_exact(per) {
        for ch in 0..c {
            out.extend((0..h * w).map(|p| s[p * c + ch]));
        }
    }
    out
}
