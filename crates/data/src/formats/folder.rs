//! Image folders: one subfolder per class (labels are the sorted subfolder names' indices), or a flat
//! folder of unlabelled images. PNG and JPEG, decoded in parallel, converted to RGB and resized
//! (bilinear) to a configured size; the decoded set is held in memory (N × 3 × H × W bytes).

use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use rayon::prelude::*;

use crate::dataset::{InMemory, Layout, Storage};
use crate::error::{DataError, Result};

/// An image folder read with its class names and the files it skipped.
pub struct Folder {
    /// The decoded images.
    pub dataset: InMemory,
    /// Class names by label, when the folder has class subfolders.
    pub classes: Vec<String>,
    /// Files that failed to decode and were skipped (only with `skip_bad`).
    pub skipped: Vec<(PathBuf, String)>,
}

fn is_image(p: &Path) -> bool {
    let ext = p.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    matches!(ext.as_deref(), Some("png" | "jpg" | "jpeg"))
}

fn list(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::io(dir, e))?;
    let mut out: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    out.sort();
    Ok(out)
}

/// Reads the folder, resizing every image to `size` (height, width). With `skip_bad`, images that fail
/// to decode are skipped and listed; without it the first one is an error naming the file.
pub fn read(dir: &Path, size: (usize, usize), skip_bad: bool) -> Result<Folder> {
    let entries = list(dir)?;
    let class_dirs: Vec<&PathBuf> = entries.iter().filter(|p| p.is_dir()).collect();
    let (classes, files): (Vec<String>, Vec<(PathBuf, Option<u32>)>) = if class_dirs.is_empty() {
        (Vec::new(), entries.iter().filter(|p| is_image(p)).map(|p| (p.clone(), None)).collect())
    } else {
        let mut files = Vec::new();
        for (label, d) in class_dirs.iter().enumerate() {
            files.extend(list(d)?.into_iter().filter(|p| is_image(p)).map(|p| (p, Some(label as u32))));
        }
        let names = class_dirs.iter().map(|d| d.file_name().unwrap().to_string_lossy().into_owned()).collect();
        (names, files)
    };
    if files.is_empty() {
        return Err(DataError::Empty { path: dir.to_path_buf() });
    }
    let (h, w) = size;
    let decoded: Vec<std::result::Result<Vec<u8>, String>> =
        files.par_iter().map(|(p, _)| decode(p, w as u32, h as u32)).collect();
    let (mut pixels, mut labels, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
    for (i, ((path, label), img)) in files.iter().zip(decoded).enumerate() {
        match img {
            Ok(px) => {
                pixels.extend_from_slice(&px);
                labels.push(label.unwrap_or(0));
            }
            Err(message) if skip_bad => {
                tracing::warn!("skipping {}: {message}", path.display());
                skipped.push((path.clone(), message));
            }
            Err(message) => return Err(DataError::Sample { path: path.clone(), index: i, message }),
        }
    }
    if pixels.is_empty() {
        return Err(DataError::Empty { path: dir.to_path_buf() });
    }
    let labels = (!classes.is_empty()).then_some(labels);
    let dataset = InMemory::new(dir, Layout::Image { c: 3, h, w }, Storage::U8(pixels), labels);
    Ok(Folder { dataset, classes, skipped })
}

/// Decodes one file to RGB, resized to `w`×`h`, channels first.
fn decode(path: &Path, w: u32, h: u32) -> std::result::Result<Vec<u8>, String> {
    let img = image::ImageReader::open(path)
        .map_err(|e| e.to_string())?
        .with_guessed_format()
        .map_err(|e| e.to_string())?
        .decode()
        .map_err(|e| format!("cannot decode: {e}"))?
        .to_rgb8();
    let img = if img.dimensions() == (w, h) { img } else { image::imageops::resize(&img, w, h, FilterType::Triangle) };
    let plane = (w * h) as usize;
    let raw = img.into_raw();
    Ok((0..3).flat_map(|c| (0..plane).map(move |p| (c, p))).map(|(c, p)| raw[p * 3 + c]).collect())
}
