//! Block sizes that keep every intermediate within one storage binding.

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
