//! The parameter arena: its layout, and that packing a network moves its parameters without changing
//! them or what the network computes.

use tandem::gpu::ROW_WINDOW_ALIGN;
use tandem::nn::arena::layout;
use tandem::nn::{MlpConfig, MlpEncoder, ParamArena};

use crate::common::*;

#[test]
fn the_layout_aligns_every_parameter_and_splits_chunks_at_their_capacity() {
    let params = [(100, true), (1, false), (63, true), (64, false), (500, true), (7, false)];
    let chunks = layout(&params, 640);
    let all: Vec<_> = chunks.iter().flatten().collect();
    assert_eq!(all.iter().map(|s| s.index).collect::<Vec<_>>(), vec![0, 1, 2, 3, 4, 5], "in order");
    for (s, &(len, decay)) in all.iter().zip(&params) {
        assert_eq!((s.len, s.decay), (len, decay));
        assert!(s.offset.is_multiple_of(ROW_WINDOW_ALIGN), "{s:?} is not aligned");
    }
    for segs in &chunks {
        assert!(segs.last().unwrap().offset + segs.last().unwrap().len <= 640, "{segs:?} overflows its chunk");
        for w in segs.windows(2) {
            assert!(w[0].offset + w[0].len <= w[1].offset, "{w:?} overlap");
        }
    }
    // 100 @0, 1 @128, 63 @192, 64 @256, then 500 does not fit after 320: a second chunk.
    assert_eq!(chunks.len(), 2);
    assert_eq!(chunks[1][0].offset, 0);
}

#[test]
fn packing_an_mlp_keeps_its_parameters_and_its_output() {
    let g = gpu();
    let mut enc = MlpEncoder::new(g, MlpConfig::new(&[37, 70, 13, 5], 9)).unwrap();
    let n = 11;
    let x = up(&[n, 37], &uniform(&mut rng(4), n * 37));
    let ws = enc.workspace(g, n).unwrap();
    let forward = |enc: &MlpEncoder| {
        run(|rec| enc.forward(rec, true, &x, &ws));
        down(ws.output())
    };
    let before_out = forward(&enc);
    let before: Vec<Vec<f32>> = enc.params().iter().map(|p| down(&p.value)).collect();
    // A small capacity: several chunks.
    let arena = ParamArena::pack_with_capacity(g, enc.params_mut(), 70 * 37 + 64).unwrap();
    assert!(arena.chunks().len() >= 2, "{} chunks", arena.chunks().len());
    assert_eq!(arena.count(), before.len());
    for (p, old) in enc.params().iter().zip(&before) {
        assert_eq!(&down(&p.value), old, "{} changed when packed", p.name);
        assert!(down(&p.grad).iter().all(|&v| v == 0.0), "{}: gradient not zeroed", p.name);
        let chunk = arena.chunks().iter().find(|c| c.values.buffer() == p.value.buffer());
        assert!(chunk.is_some(), "{} is not a view into a chunk", p.name);
    }
    assert_eq!(forward(&enc), before_out, "packing changed the forward pass");
    // Writing a chunk writes its parameters: they are views, not copies.
    let chunk = &arena.chunks()[0];
    g.write(&chunk.values, &vec![0.5; chunk.values.len()]);
    let first = &enc.params()[0];
    assert!(down(&first.value).iter().all(|&v| v == 0.5), "{} is not a view of its chunk", first.name);
}
