#![warn(missing_docs)]
//! tandem's data: dataset readers behind one trait ([`Dataset`]), augmentation policies and presets
//! ([`Augmentation`]), the Siamese-pair scheduler ([`Loader`]) and the device end of the feed
//! ([`DeviceViews`]), where both views of every sample are made.

pub mod augment;
pub mod dataset;
pub mod error;
pub mod formats;
pub mod loader;
pub mod views;

pub use augment::{Augmentation, ColorJitter, ViewPolicy};
pub use dataset::{Dataset, InMemory, Layout, Pixels, Storage, Subset};
pub use error::{DataError, Result};
pub use formats::{Format, OpenOptions, Opened, open};
pub use loader::{HostBatch, Loader, LoaderConfig, Position};
pub use views::{ChannelStats, DeviceViews};
