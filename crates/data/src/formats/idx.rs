//! IDX files (the MNIST format), plain or gzip: uint8 or float32 images (N, H, W) and uint8 labels (N).
//! Labels are found beside the images by the MNIST naming (`*-images-idx3-ubyte*` next to
//! `*-labels-idx1-ubyte*`) or given explicitly.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::dataset::{InMemory, Layout, Storage};
use crate::error::{DataError, Result};

/// The largest expansion deflate can produce (1032:1): a gzip stream that claims or yields more is
/// corrupt, or a decompression bomb.
const DEFLATE_MAX_RATIO: u64 = 1032;

/// A reader over the file's bytes, decompressed when it is gzip, and the most bytes it can legitimately
/// yield (the file's length, or the deflate bound for gzip).
fn open_stream(path: &Path) -> Result<(Box<dyn Read>, u64)> {
    let raw = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let len = raw.len() as u64;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let bound = len.saturating_mul(DEFLATE_MAX_RATIO);
        Ok((Box::new(flate2::read::MultiGzDecoder::new(std::io::Cursor::new(raw)).take(bound)), bound))
    } else {
        Ok((Box::new(std::io::Cursor::new(raw)), len))
    }
}

/// Reads exactly `n` bytes, or fails: truncated (the stream ends first) or corrupt (gzip errors).
fn read_exactly(path: &Path, r: &mut dyn Read, n: usize, what: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    r.take(n as u64).read_to_end(&mut out).map_err(|e| DataError::format(path, format!("corrupt gzip stream: {e}")))?;
    if out.len() < n {
        return Err(DataError::format(path, format!("truncated {what}: {n} bytes needed, {} found", out.len())));
    }
    Ok(out)
}

/// A parsed IDX array: dimensions and the raw payload.
struct Idx {
    dims: Vec<usize>,
    type_code: u8,
    payload: Vec<u8>,
}

/// Parses the header first and then decompresses only the payload it declares, refusing a declaration
/// larger than the file could hold before allocating for it.
fn parse(path: &Path) -> Result<Idx> {
    let (mut r, bound) = open_stream(path)?;
    let magic =
        read_exactly(path, &mut r, 4, "IDX header").map_err(|_| DataError::format(path, "truncated IDX header"))?;
    if magic[0] != 0 || magic[1] != 0 {
        return Err(DataError::format(path, "wrong magic number: not an IDX file"));
    }
    let (type_code, ndim) = (magic[2], magic[3] as usize);
    let item = match type_code {
        0x08 => 1,
        0x0D => 4,
        other => {
            return Err(DataError::format(path, format!("IDX type 0x{other:02x} is not supported (uint8 or float32)")));
        }
    };
    if ndim == 0 {
        return Err(DataError::format(path, "truncated IDX header"));
    }
    let raw_dims = read_exactly(path, &mut r, 4 * ndim, "IDX header")?;
    let dims: Vec<usize> =
        raw_dims.chunks_exact(4).map(|c| u32::from_be_bytes(c.try_into().unwrap()) as usize).collect();
    let want = dims.iter().try_fold(item as usize, |a: usize, &d| a.checked_mul(d));
    let header = 4 + 4 * ndim as u64;
    let Some(want) = want.filter(|&w| w as u64 <= bound.saturating_sub(header)) else {
        return Err(DataError::format(
            path,
            format!("truncated: dimensions {dims:?} need {want:?} bytes, more than this file can hold"),
        ));
    };
    let payload = read_exactly(path, &mut r, want, "IDX payload")?;
    Ok(Idx { dims, type_code, payload })
}

/// The MNIST-named labels file beside an images file, if it exists.
pub fn sibling_labels(images: &Path) -> Option<PathBuf> {
    let name = images.file_name()?.to_str()?;
    let label_name = name.replace("images-idx3", "labels-idx1").replace("images.idx3", "labels.idx1");
    (label_name != name).then(|| images.with_file_name(label_name)).filter(|p| p.exists())
}

/// Reads IDX images (N, H, W) or vectors (N, D), with labels from `labels` or the MNIST sibling.
pub fn read(path: &Path, labels: Option<&Path>) -> Result<InMemory> {
    let idx = parse(path)?;
    let n = idx.dims[0];
    if n == 0 || idx.dims.contains(&0) {
        return Err(DataError::Empty { path: path.to_path_buf() });
    }
    let layout = match idx.dims[..] {
        [_, d] => Layout::Vector { d },
        [_, h, w] => Layout::Image { c: 1, h, w },
        [_, h, w, 3] => Layout::Image { c: 3, h, w },
        _ => return Err(DataError::format(path, format!("expected (N, H, W) images, got dimensions {:?}", idx.dims))),
    };
    let mut storage = match idx.type_code {
        0x08 => Storage::U8(idx.payload),
        _ => Storage::F32(idx.payload.chunks_exact(4).map(|b| f32::from_be_bytes(b.try_into().unwrap())).collect()),
    };
    if let (Layout::Image { c: 3, h, w }, Storage::U8(v)) = (layout, &mut storage) {
        *v = v
            .chunks_exact(h * w * 3)
            .flat_map(|s| (0..3).flat_map(move |ch| (0..h * w).map(move |p| s[p * 3 + ch])))
            .collect();
    }
    let label_path = labels.map(Path::to_path_buf).or_else(|| sibling_labels(path));
    let labels = match label_path {
        Some(lp) => {
            let l = parse(&lp)?;
            if l.dims.len() != 1 || l.type_code != 0x08 {
                return Err(DataError::format(&lp, format!("labels must be 1-D uint8, got dimensions {:?}", l.dims)));
            }
            if l.dims[0] != n {
                return Err(DataError::format(&lp, format!("{} labels for {n} images", l.dims[0])));
            }
            Some(l.payload.into_iter().map(u32::from).collect())
        }
        None => None,
    };
    Ok(InMemory::new(path, layout, storage, labels))
}
