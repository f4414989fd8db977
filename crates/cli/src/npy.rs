//! Reading and writing 2-D float NPY arrays (C order, little-endian f32 or f64) with one-line errors.

use std::path::Path;

use anyhow::{Context, Result, bail};

/// A row-major matrix read from an NPY file, as f32.
pub struct Matrix {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// `rows * cols` values.
    pub data: Vec<f32>,
}

/// Reads a 2-D little-endian float32 or float64 NPY array in C order.
pub fn read_matrix(path: &Path) -> Result<Matrix> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let npy =
        npyz::NpyFile::new(&bytes[..]).map_err(|e| anyhow::anyhow!("{}: not a valid NPY file: {e}", path.display()))?;
    if npy.order() != npyz::Order::C {
        bail!(
            "{}: Fortran-ordered arrays are not supported; save it in C order (np.ascontiguousarray)",
            path.display()
        );
    }
    let shape = npy.shape().to_vec();
    let [rows, cols] = shape[..] else {
        bail!("{}: expected a 2-D (N, D) array, got shape {shape:?}", path.display());
    };
    let dtype = npy.dtype().descr();
    let itemsize = match dtype.as_str() {
        "'<f4'" => 4,
        "'<f8'" => 8,
        other => bail!("{}: dtype {other} is not supported; use little-endian float32 or float64", path.display()),
    };
    // A header that claims more data than the file holds is refused before anything is allocated.
    let claimed = rows.checked_mul(cols).and_then(|n| n.checked_mul(itemsize));
    if claimed.is_none_or(|c| c > bytes.len() as u64) {
        bail!("{}: the header claims {rows}x{cols} values but the file holds {} bytes", path.display(), bytes.len());
    }
    let data: Vec<f32> = if itemsize == 4 {
        npy.into_vec::<f32>()
    } else {
        npy.into_vec::<f64>().map(|v| v.into_iter().map(|x| x as f32).collect())
    }
    .map_err(|e| anyhow::anyhow!("{}: truncated or corrupt data: {e}", path.display()))?;
    Ok(Matrix { rows: rows as usize, cols: cols as usize, data })
}

/// Writes a row-major f32 matrix as a float32 NPY file, atomically (temporary file, fsync, rename).
pub fn write_matrix(path: &Path, rows: usize, cols: usize, data: &[f32]) -> Result<()> {
    use npyz::WriterBuilder;
    let tmp = path.with_extension("npy.tmp");
    {
        let mut file = std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[rows as u64, cols as u64])
            .writer(&mut file)
            .begin_nd()
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        writer.extend(data.iter().copied())?;
        writer.finish()?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot move {} into place", path.display()))
}

/// Writes labels as an int64 NPY vector, atomically.
pub fn write_labels(path: &Path, labels: &[u32]) -> Result<()> {
    use npyz::WriterBuilder;
    let tmp = path.with_extension("npy.tmp");
    {
        let mut file = std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        let mut writer = npyz::WriteOptions::new()
            .default_dtype()
            .shape(&[labels.len() as u64])
            .writer(&mut file)
            .begin_nd()
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        writer.extend(labels.iter().map(|&l| i64::from(l)))?;
        writer.finish()?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("cannot move {} into place", path.display()))
}
