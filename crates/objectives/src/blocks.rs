//! Block sizes that keep every intermediate within one storage binding, and the row windows through which
//! embeddings larger than one binding are processed.

use tandem_gpu::{GpuError, ROW_WINDOW_ALIGN, Recorder, Result, Tensor};
use tandem_kernels::energy::{ColumnSum, column_sums};

/// Largest block extent `w` (at most `full`) such that `w * other` values stay within `budget` values,
/// rounded down to a multiple of 64 when at least 64; never 0.
pub fn fit(budget: usize, full: usize, other: usize) -> usize {
    let w = (budget / other.max(1)).min(full).max(1);
    if w >= 64 && w < full { w / 64 * 64 } else { w }
}

/// `(start, width)` of consecutive blocks of `width` covering `0..full`.
pub fn spans(full: usize, width: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..full).step_by(width.max(1)).map(move |s| (s, width.min(full - s)))
}

/// Row windows `(start, rows)` of an n×d matrix, each of at most `budget` values and starting at a multiple
/// of [`ROW_WINDOW_ALIGN`]: one window when the whole matrix fits.
pub fn row_windows(n: usize, d: usize, budget: usize) -> Result<Vec<(usize, usize)>> {
    if n * d <= budget {
        return Ok(vec![(0, n)]);
    }
    let rows = budget / d / ROW_WINDOW_ALIGN * ROW_WINDOW_ALIGN;
    if rows == 0 {
        return Err(GpuError::TooLarge {
            what: format!("a window of {ROW_WINDOW_ALIGN} rows of {d} columns"),
            bytes: (ROW_WINDOW_ALIGN * d * 4) as u64,
            limit: (budget * 4) as u64,
            limit_name: "max_storage_buffer_binding_size",
        });
    }
    Ok(spans(n, rows).collect())
}

/// [`column_sums`] of `x` (n, d) over every row window into `acc[at ..]`: the first window writes, the
/// others add. For [`ColumnSum::Dot`] the windows of `y` are taken alongside.
pub fn column_sums_over(
    rec: &mut Recorder<'_>,
    windows: &[(usize, usize)],
    kind: ColumnSum<'_>,
    x: &Tensor,
    acc: &Tensor,
    at: usize,
    scale: f32,
) -> Result<()> {
    for (i, &(r0, r)) in windows.iter().enumerate() {
        let y_w;
        let kind_w = match kind {
            ColumnSum::Dot(y) => {
                y_w = y.rows(r0, r);
                ColumnSum::Dot(&y_w)
            }
            other => other,
        };
        column_sums(rec, kind_w, &x.rows(r0, r), acc, at, scale, i > 0)?;
    }
    Ok(())
}
