//! IDX files (the MNIST format), plain or gzip: uint8 or float32 images (N, H, W) and uint8 labels (N).
//! Labels are found beside the images by the MNIST naming (`*-images-idx3-ubyte*` next to
//! `*-labels-idx1-ubyte*`) or given explicitly.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::dataset::{InMemory, Layout, Storage};
use crate::error::{DataError, Result};

/// The decompressed bytes of a plain or gzip file.
pub(crate) fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| DataError::format(path, format!("corrupt gzip stream: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// A parsed IDX array: dimensions and the raw payload.
struct Idx {
    dims: Vec<usize>,
    type_code: u8,
    payload: Vec<u8>,
}

fn parse(path: &Path) -> Result<Idx> {
    let bytes = read_maybe_gzip(path)?;
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        return Err(DataError::format(path, "wrong magic number: not an IDX file"));
    }
    let (type_code, ndim) = (bytes[2], bytes[3] as usize);
    let item = match type_code {
        0x08 => 1,
        0x0D => 4,
        other => {
            return Err(DataError::format(path, format!("IDX type 0x{other:02x} is not supported (uint8 or float32)")));
        }
    };
    let header = 4 + 4 * ndim;
    if ndim == 0 || bytes.len() < header {
        return Err(DataError::format(path, "truncated IDX header"));
    }
    let dims: Vec<usize> =
        (0..ndim).map(|i| u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().unwrap()) as usize).collect();
    let want = dims.iter().try_fold(item as usize, |a: usize, &d| a.checked_mul(d));
    if want.is_none_or(|w| bytes.len() - header < w) {
        return Err(DataError::format(
            path,
            format!("truncated: dimensions {dims:?} need {want:?} bytes, the file holds {}", bytes.len() - header),
        ));
    }
    let payload = bytes[header..header + want.unwrap()].to_vec();
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
