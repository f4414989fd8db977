//! Every WGSL source in `shaders/`, embedded at compile time, by its path under `shaders/`.

macro_rules! shader {
    ($path:literal) => {
        ($path, include_str!(concat!("../../../shaders/", $path)))
    };
}

/// `(path under shaders/, WGSL source)` for every shader tandem ships.
pub const ALL: &[(&str, &str)] = &[
    shader!("linalg/gemm_tiled.wgsl"),
    shader!("linalg/gemm_sg8.wgsl"),
    shader!("linalg/gemm_pack.wgsl"),
    shader!("linalg/reduce_fwd.wgsl"),
    shader!("linalg/reduce_bwd.wgsl"),
    shader!("linalg/axpy.wgsl"),
    shader!("nn/bias_add_fwd.wgsl"),
    shader!("nn/relu_fwd.wgsl"),
    shader!("nn/relu_bwd.wgsl"),
    shader!("nn/gelu_fwd.wgsl"),
    shader!("nn/gelu_bwd.wgsl"),
    shader!("nn/batch_norm_fwd.wgsl"),
    shader!("nn/batch_norm_bwd.wgsl"),
    shader!("nn/layer_norm_fwd.wgsl"),
    shader!("nn/layer_norm_bwd.wgsl"),
    shader!("nn/l2_normalize_fwd.wgsl"),
    shader!("nn/l2_normalize_bwd.wgsl"),
    shader!("energy/pair_rows.wgsl"),
    shader!("energy/sum.wgsl"),
    shader!("energy/combine.wgsl"),
    shader!("energy/columns.wgsl"),
    shader!("energy/centre.wgsl"),
    shader!("energy/vicreg_std.wgsl"),
    shader!("energy/column_sums.wgsl"),
    shader!("energy/standardise.wgsl"),
    shader!("energy/cross_block.wgsl"),
    shader!("energy/barlow_diagonal.wgsl"),
    shader!("energy/barlow_scale_add.wgsl"),
    shader!("energy/info_nce_lse.wgsl"),
    shader!("energy/info_nce_loss.wgsl"),
    shader!("energy/info_nce_bwd.wgsl"),
    shader!("conv/im2col.wgsl"),
    shader!("conv/col2im.wgsl"),
    shader!("conv/pool_fwd.wgsl"),
    shader!("conv/pool_bwd.wgsl"),
    shader!("augment/view.wgsl"),
    shader!("optim/update.wgsl"),
    shader!("optim/norms.wgsl"),
    shader!("eval/knn_vote.wgsl"),
    shader!("eval/softmax_xent.wgsl"),
    shader!("eval/pair_exp.wgsl"),
];

/// The source of the shader at `path` (a path listed in [`ALL`]).
#[track_caller]
pub(crate) fn source(path: &'static str) -> &'static str {
    ALL.iter()
        .find(|(p, _)| *p == path)
        .map(|(_, s)| *s)
        .unwrap_or_else(|| panic!("shader {path} is not listed in shaders::ALL"))
}
