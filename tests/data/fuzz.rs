//! Every reader and the configuration parser under random, truncated and corrupted input: an error or a
//! dataset, never a panic, a hang or an allocation the file cannot back.

use proptest::prelude::*;
use tandem::data::{Format, open};
use tandem::train::TrainConfig;

use crate::files;

/// Valid files of every format, to truncate and corrupt.
fn seeds(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Format)> {
    let npy_img = files::npy(&dir.join("img.npy"), &[3, 4, 5, 3], &(0..180).map(|i| i as u8).collect::<Vec<_>>());
    let npy_vec = files::npy(&dir.join("vec.npy"), &[4, 6], &[0.5f32; 24]);
    let idx = files::idx(&dir.join("a-images-idx3-ubyte"), &[2, 3, 3], &[7u8; 18], false);
    let idx_gz = files::idx(&dir.join("b-images-idx3-ubyte.gz"), &[2, 3, 3], &[7u8; 18], true);
    let cifar = files::cifar(&dir.join("data_batch_1.bin"), 1, &[1, 2], |_, b| b as u8);
    let png = dir.join("folder");
    std::fs::create_dir_all(&png).unwrap();
    files::png(&png.join("x.png"), 6, 6, [1, 2, 3]);
    vec![
        (npy_img, Format::Npy),
        (npy_vec, Format::Npy),
        (idx, Format::Idx),
        (idx_gz, Format::Idx),
        (cifar, Format::Cifar10),
        (png.join("x.png"), Format::Folder),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn readers_survive_truncation_and_corruption(cut in 0.0f64..1.0, flips in proptest::collection::vec((0.0f64..1.0, any::<u8>()), 0..6)) {
        let dir = tempfile::tempdir().unwrap();
        for (path, format) in seeds(dir.path()) {
            let mut bytes = std::fs::read(&path).unwrap();
            bytes.truncate(((bytes.len() as f64) * cut) as usize + 1);
            let n = bytes.len();
            for (at, v) in &flips {
                bytes[((n as f64) * at) as usize % n] ^= v;
            }
            std::fs::write(&path, &bytes).unwrap();
            let target = if format == Format::Folder { path.parent().unwrap().to_path_buf() } else { path.clone() };
            // Either outcome is fine; a panic fails the test.
            let _ = open(target.to_str().unwrap(), Some(format), &Default::default());
        }
    }

    #[test]
    fn random_bytes_are_refused_by_every_reader(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let dir = tempfile::tempdir().unwrap();
        for (name, format) in [("r.npy", Format::Npy), ("r-images-idx3-ubyte", Format::Idx), ("data_batch_1.bin", Format::Cifar10)] {
            let path = dir.path().join(name);
            std::fs::write(&path, &bytes).unwrap();
            let _ = open(path.to_str().unwrap(), Some(format), &Default::default());
        }
    }

    #[test]
    fn the_config_parser_never_panics(text in "[a-z_ =\"0-9.\\[\\],\n-]{0,80}") {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, &text).unwrap();
        if let Ok(c) = TrainConfig::from_toml_file(&path) {
            let _ = c.resolve();
        }
    }
}

#[test]
fn headers_that_claim_huge_arrays_are_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    // An NPY header claiming 10^12 float32 values, followed by a few bytes.
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }";
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    let pad = 64 - (10 + header.len() + 1) % 64;
    let full = format!("{header}{}\n", " ".repeat(pad));
    npy.extend_from_slice(&(full.len() as u16).to_le_bytes());
    npy.extend_from_slice(full.as_bytes());
    npy.extend_from_slice(&[0u8; 64]);
    std::fs::write(dir.path().join("huge.npy"), &npy).unwrap();
    let e = open(dir.path().join("huge.npy").to_str().unwrap(), None, &Default::default()).err().unwrap();
    assert!(e.to_string().contains("truncated"), "{e}");
    // An IDX header claiming 4 × 10^9 images.
    let mut idx = vec![0, 0, 8, 3];
    for d in [4_000_000_000u32, 28, 28] {
        idx.extend_from_slice(&d.to_be_bytes());
    }
    idx.extend_from_slice(&[0u8; 100]);
    std::fs::write(dir.path().join("huge-images-idx3-ubyte"), &idx).unwrap();
    let e = open(dir.path().join("huge-images-idx3-ubyte").to_str().unwrap(), None, &Default::default()).err().unwrap();
    assert!(e.to_string().contains("truncated"), "{e}");
}

#[test]
fn a_gzip_idx_is_decompressed_only_as_far_as_its_header_and_deflate_allow() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let gz = |name: &str, dims: &[u32], body: usize| {
        let mut idx = vec![0, 0, 8, dims.len() as u8];
        for d in dims {
            idx.extend_from_slice(&d.to_be_bytes());
        }
        idx.resize(idx.len() + body, 7);
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&idx).unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, enc.finish().unwrap()).unwrap();
        path
    };
    // A small gzip whose header claims 10^10 bytes: more than deflate (at most 1032:1) can expand it to.
    let bomb = gz("bomb-images-idx3-ubyte.gz", &[10_000_000, 1000], 4 << 20);
    let e = open(bomb.to_str().unwrap(), None, &Default::default()).err().unwrap();
    assert!(e.to_string().contains("more than this file can hold"), "{e}");
    // A header claiming 2 images of 2×2 followed by 4 MiB more: the extra is never decompressed, the two
    // images are read.
    let padded = gz("padded-images-idx3-ubyte.gz", &[2, 2, 2], 4 << 20);
    let ds = open(padded.to_str().unwrap(), None, &Default::default()).unwrap().dataset;
    assert_eq!(ds.len(), 2);
}
