//! `--data` and the flags that go with it, shared by every command that reads a dataset.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use tandem_data::formats::npy::ImageLayout;
use tandem_data::{Format, OpenOptions, Opened};

/// Where the data is and how to read it.
#[derive(Args, Clone, Debug)]
pub struct DataArgs {
    /// Dataset: a file, a folder, or `builtin[:train|:test][:N]` (the procedural images).
    #[arg(long, default_value = "builtin")]
    pub data: String,
    /// npy, idx, cifar10, cifar100, folder or builtin (inferred from the path when absent).
    #[arg(long)]
    pub format: Option<String>,
    /// Labels file for NPY (int32/int64) or IDX data.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Layout of 4-D NPY images: nchw or nhwc (inferred when the channel axis is unambiguous).
    #[arg(long)]
    pub layout: Option<String>,
    /// Side that image-folder images are resized to.
    #[arg(long, default_value_t = 32)]
    pub image_size: usize,
    /// Skip images that fail to decode (counted and reported) instead of failing.
    #[arg(long)]
    pub skip_bad: bool,
}

impl DataArgs {
    /// Opens the dataset, reporting skipped files.
    pub fn open(&self) -> Result<Opened> {
        let spec = DataSpec {
            data: &self.data,
            format: self.format.as_deref(),
            labels: self.labels.clone(),
            layout: self.layout.as_deref(),
            image_size: self.image_size,
            skip_bad: self.skip_bad,
        };
        spec.open()
    }
}

/// A dataset as the command line or a configuration file describes it.
pub struct DataSpec<'a> {
    /// Path or builtin spec.
    pub data: &'a str,
    /// Format name.
    pub format: Option<&'a str>,
    /// Labels file.
    pub labels: Option<PathBuf>,
    /// NPY image layout name.
    pub layout: Option<&'a str>,
    /// Image-folder resize side.
    pub image_size: usize,
    /// Skip undecodable images.
    pub skip_bad: bool,
}

impl DataSpec<'_> {
    /// Opens it, reporting skipped files on stderr.
    pub fn open(self) -> Result<Opened> {
        let format = match self.format {
            None => None,
            Some(f) => Some(
                Format::from_name(f)
                    .with_context(|| format!("unknown --format '{f}': use one of {}", Format::NAMES.join(", ")))?,
            ),
        };
        let layout = match self.layout {
            None => None,
            Some("nchw") => Some(ImageLayout::Nchw),
            Some("nhwc") => Some(ImageLayout::Nhwc),
            Some(other) => bail!("unknown --layout '{other}': use nchw or nhwc"),
        };
        let opts = OpenOptions {
            labels: self.labels,
            layout,
            image_size: Some((self.image_size, self.image_size)),
            skip_bad: self.skip_bad,
        };
        let data = self.data;
        let opened =
            tandem_data::open(data, format, &opts).with_context(|| format!("cannot read the dataset {data}"))?;
        if !opened.skipped.is_empty() {
            eprintln!("skipped {} unreadable images (--skip-bad):", opened.skipped.len());
            for (path, why) in &opened.skipped {
                eprintln!("  {}: {why}", path.display());
            }
        }
        Ok(opened)
    }
}
