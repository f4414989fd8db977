//! Every reader on files written here, and every kind of bad input, each with an error naming the file.

use tandem::data::formats::npy::ImageLayout;
use tandem::data::{DataError, Dataset, Format, Layout, OpenOptions, Pixels, open};

use crate::files;

fn sample(ds: &dyn Dataset, i: usize) -> Vec<u8> {
    let mut out = vec![0u8; ds.layout().values() * ds.pixels().bytes()];
    ds.copy_sample(i, &mut out);
    out
}

fn err(path: &str, format: Option<Format>, opts: &OpenOptions) -> String {
    match open(path, format, opts) {
        Ok(_) => panic!("{path} should have been refused"),
        Err(e) => e.to_string(),
    }
}

fn p(path: &std::path::Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn npy_vectors_and_images_in_every_layout() {
    let dir = tempfile::tempdir().unwrap();
    let vecs = files::npy(&dir.path().join("v.npy"), &[5, 3], &(0..15).map(|i| i as f32).collect::<Vec<_>>());
    let labels = files::npy(&dir.path().join("l.npy"), &[5], &[0i64, 1, 2, 1, 0]);
    let opts = OpenOptions { labels: Some(labels.clone()), ..Default::default() };
    let o = open(p(&vecs), None, &opts).unwrap();
    assert_eq!((o.format, o.dataset.len(), o.dataset.layout()), (Format::Npy, 5, Layout::Vector { d: 3 }));
    assert_eq!(o.dataset.labels().unwrap(), &[0, 1, 2, 1, 0]);
    assert_eq!(sample(&*o.dataset, 1), [3.0f32, 4.0, 5.0].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>());

    // The same 2×2×3 pixels written channels-last and channels-first read back identically.
    let nhwc: Vec<u8> = (0..2 * 2 * 2 * 3).map(|i| i as u8).collect();
    let mut nchw = vec![0u8; nhwc.len()];
    for s in 0..2 {
        for px in 0..4 {
            for c in 0..3 {
                nchw[s * 12 + c * 4 + px] = nhwc[s * 12 + px * 3 + c];
            }
        }
    }
    let a = open(p(&files::npy(&dir.path().join("a.npy"), &[2, 2, 2, 3], &nhwc)), None, &Default::default()).unwrap();
    let b = open(p(&files::npy(&dir.path().join("b.npy"), &[2, 3, 2, 2], &nchw)), None, &Default::default()).unwrap();
    assert_eq!(a.dataset.layout(), Layout::Image { c: 3, h: 2, w: 2 });
    assert_eq!((sample(&*a.dataset, 1), a.dataset.pixels()), (sample(&*b.dataset, 1), Pixels::U8));

    // Float images in 0..255 are rescaled; grayscale (N, H, W) is one channel.
    let f = files::npy(&dir.path().join("f.npy"), &[1, 2, 2], &[0.0f32, 255.0, 51.0, 102.0]);
    let o = open(p(&f), None, &Default::default()).unwrap();
    assert_eq!(o.dataset.layout(), Layout::Image { c: 1, h: 2, w: 2 });
    assert_eq!(sample(&*o.dataset, 0)[4..8], 1.0f32.to_le_bytes());

    // An ambiguous layout needs the flag, and takes it.
    let amb = files::npy(&dir.path().join("amb.npy"), &[1, 3, 4, 3], &[0u8; 36]);
    assert!(err(p(&amb), None, &Default::default()).contains("--layout"));
    let opts = OpenOptions { layout: Some(ImageLayout::Nhwc), ..Default::default() };
    assert_eq!(open(p(&amb), None, &opts).unwrap().dataset.layout(), Layout::Image { c: 3, h: 3, w: 4 });
}

#[test]
fn idx_plain_and_gzip_with_sibling_labels() {
    let dir = tempfile::tempdir().unwrap();
    let pixels: Vec<u8> = (0..3 * 4 * 5).map(|i| i as u8).collect();
    for gz in [false, true] {
        let suffix = if gz { ".gz" } else { "" };
        let images = files::idx(&dir.path().join(format!("t10k-images-idx3-ubyte{suffix}")), &[3, 4, 5], &pixels, gz);
        files::idx(&dir.path().join(format!("t10k-labels-idx1-ubyte{suffix}")), &[3], &[7, 8, 9], gz);
        let o = open(p(&images), None, &Default::default()).unwrap();
        assert_eq!((o.format, o.dataset.layout()), (Format::Idx, Layout::Image { c: 1, h: 4, w: 5 }));
        assert_eq!(o.dataset.labels().unwrap(), &[7, 8, 9]);
        assert_eq!(sample(&*o.dataset, 2), pixels[40..60]);
    }
}

#[test]
fn cifar10_and_cifar100_batches_and_folders() {
    let dir = tempfile::tempdir().unwrap();
    files::cifar(&dir.path().join("data_batch_1.bin"), 1, &[3, 9], |r, b| (r * 7 + b) as u8);
    files::cifar(&dir.path().join("data_batch_2.bin"), 1, &[0], |_, b| b as u8);
    let o = open(p(dir.path()), None, &Default::default()).unwrap();
    assert_eq!((o.format, o.dataset.len(), o.dataset.labels().unwrap()), (Format::Cifar10, 3, &[3u32, 9, 0][..]));
    assert_eq!(sample(&*o.dataset, 1)[..3], [7, 8, 9]);

    let dir100 = tempfile::tempdir().unwrap();
    let train = files::cifar(&dir100.path().join("train.bin"), 2, &[99, 42], |_, _| 5);
    let o = open(p(&train), None, &Default::default()).unwrap();
    assert_eq!((o.format, o.dataset.labels().unwrap()), (Format::Cifar100, &[99u32, 42][..]));
    // Read as CIFAR-10, a CIFAR-100 batch is refused by its record size or its labels.
    assert!(err(p(&train), Some(Format::Cifar10), &Default::default()).contains("train.bin"));
}

#[test]
fn image_folders_with_classes_flat_and_resized() {
    let dir = tempfile::tempdir().unwrap();
    for (class, colour) in [("cat", [255, 0, 0]), ("dog", [0, 0, 255])] {
        std::fs::create_dir(dir.path().join(class)).unwrap();
        for i in 0..3 {
            files::png(&dir.path().join(class).join(format!("{i}.png")), 20 + i, 10, colour);
        }
    }
    let opts = OpenOptions { image_size: Some((8, 6)), ..Default::default() };
    let o = open(p(dir.path()), None, &opts).unwrap();
    assert_eq!((o.format, o.dataset.len()), (Format::Folder, 6));
    assert_eq!(o.dataset.layout(), Layout::Image { c: 3, h: 8, w: 6 });
    assert_eq!(o.dataset.labels().unwrap(), &[0, 0, 0, 1, 1, 1]);
    let blue = sample(&*o.dataset, 4);
    assert!(blue[..48].iter().all(|&v| v == 0) && blue[96..].iter().all(|&v| v == 255));

    let flat = tempfile::tempdir().unwrap();
    files::png(&flat.path().join("a.png"), 4, 4, [1, 2, 3]);
    let o = open(p(flat.path()), Some(Format::Folder), &Default::default()).unwrap();
    assert!(o.dataset.labels().is_none());
}

#[test]
fn builtin_is_deterministic_labelled_and_balanced_enough() {
    let a = open("builtin:test:300", None, &Default::default()).unwrap().dataset;
    let b = open("builtin:test:300", None, &Default::default()).unwrap().dataset;
    let c = open("builtin:train:300", None, &Default::default()).unwrap().dataset;
    assert_eq!(a.layout(), Layout::Image { c: 3, h: 32, w: 32 });
    assert_eq!(sample(&*a, 17), sample(&*b, 17));
    assert_ne!(sample(&*a, 17), sample(&*c, 17));
    let labels = a.labels().unwrap();
    for class in 0..10 {
        let count = labels.iter().filter(|&&l| l == class).count();
        assert!(count > 10, "class {class} has {count} of 300 samples");
    }
    // Every image shows its shape: foreground and background differ.
    for i in 0..50 {
        let s = sample(&*a, i);
        let (lo, hi) = (s.iter().min().unwrap(), s.iter().max().unwrap());
        assert!(hi - lo > 60, "sample {i} is nearly flat");
    }
}

#[test]
fn bad_input_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let none = Default::default();
    // Missing path.
    assert!(err(p(&d.join("nope.npy")), None, &none).contains("nope.npy"));
    // Truncated NPY: the header claims more than the file holds.
    let full = files::npy(&d.join("t.npy"), &[100, 10], &vec![1.0f32; 1000]);
    let bytes = std::fs::read(&full).unwrap();
    std::fs::write(d.join("trunc.npy"), &bytes[..bytes.len() - 40]).unwrap();
    assert!(err(p(&d.join("trunc.npy")), None, &none).contains("trunc.npy: truncated"));
    // Not an NPY at all.
    std::fs::write(d.join("junk.npy"), b"hello world, not numpy").unwrap();
    assert!(err(p(&d.join("junk.npy")), None, &none).contains("junk.npy: not a valid NPY"));
    // Wrong magic number for IDX.
    std::fs::write(d.join("x-images-idx3-ubyte"), [1u8, 2, 3, 4, 5, 6, 7, 8]).unwrap();
    assert!(err(p(&d.join("x-images-idx3-ubyte")), None, &none).contains("wrong magic number"));
    // Truncated IDX.
    let pixels = vec![0u8; 2 * 4 * 4];
    files::idx(&d.join("y-images-idx3-ubyte"), &[3, 4, 4], &pixels, false);
    assert!(err(p(&d.join("y-images-idx3-ubyte")), None, &none).contains("truncated"));
    // Unusable shape and dtype.
    let five = files::npy(&d.join("five.npy"), &[1, 1, 1, 1, 1], &[0.0f32]);
    assert!(err(p(&five), None, &none).contains("shape"));
    let ints = files::npy(&d.join("ints.npy"), &[2, 2], &[1i32, 2, 3, 4]);
    assert!(err(p(&ints), None, &none).contains("ints.npy"));
    let channels = files::npy(&d.join("c5.npy"), &[2, 5, 4, 4], &[0u8; 160]);
    assert!(
        err(p(&channels), Some(Format::Npy), &OpenOptions { layout: Some(ImageLayout::Nchw), ..none.clone() })
            .contains("1 or 3 channels")
    );
    // Labels of the wrong length.
    let vecs = files::npy(&d.join("v.npy"), &[3, 2], &[0.0f32; 6]);
    let short = files::npy(&d.join("short.npy"), &[2], &[0i64, 1]);
    let opts = OpenOptions { labels: Some(short), ..none.clone() };
    assert!(err(p(&vecs), None, &opts).contains("short.npy: 2 labels for 3 samples"));
    // CIFAR file cut mid-record.
    files::cifar(&d.join("data_batch_9.bin"), 1, &[1, 2], |_, _| 0);
    let bytes = std::fs::read(d.join("data_batch_9.bin")).unwrap();
    std::fs::write(d.join("data_batch_9.bin"), &bytes[..5000]).unwrap();
    assert!(err(p(&d.join("data_batch_9.bin")), None, &none).contains("data_batch_9.bin"));
    // Empty dataset: an NPY with no rows, and a folder with no images.
    let empty = files::npy(&d.join("empty.npy"), &[0, 4], &[0.0f32; 0]);
    assert!(err(p(&empty), None, &none).contains("empty"));
    let no_images = tempfile::tempdir().unwrap();
    assert!(err(p(no_images.path()), None, &none).contains("empty"));
    // An undecodable image fails by default, naming it; --skip-bad skips and reports it.
    let folder = tempfile::tempdir().unwrap();
    files::png(&folder.path().join("good.png"), 5, 5, [9, 9, 9]);
    std::fs::write(folder.path().join("bad.png"), b"\x89PNG\r\n\x1a\ncorrupt").unwrap();
    let e = open(p(folder.path()), None, &none).err().unwrap();
    assert!(matches!(&e, DataError::Sample { path, .. } if path.ends_with("bad.png")), "{e}");
    let o = open(p(folder.path()), None, &OpenOptions { skip_bad: true, ..none }).unwrap();
    assert_eq!((o.dataset.len(), o.skipped.len()), (1, 1));
    assert!(o.skipped[0].0.ends_with("bad.png"));
}
