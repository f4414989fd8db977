// Barlow Twins through the n×n Gram matrices (objectives' barlow_twins.rs): the parts of the value and of
// the gradient that come from the diagonal of C = â^T b̂ / N (D×D), which the Gram route never forms.
// diag = [C_jj | D_jj] (2 D), with C_jj filled beforehand (column_sums.wgsl, dot of â and b̂); one thread
// per column:
//   D_jj = -2 (1 - C_jj) - 2 lambda C_jj      (dvalue/dC_jj minus the off-diagonal rule 2 lambda C_jj)
//   terms[on_at + j] = (1 - C_jj)^2,  terms[off_at + j] = -C_jj^2   (‖C‖² minus the diagonal is the off part)
// D scales the columns of the other branch in the gradient (barlow_scale_add.wgsl).

struct Params {
    d: u32,
    lambda: f32,
    on_at: u32,
    off_at: u32,
}

@group(0) @binding(0) var<storage, read_write> diag: array<f32>;   // [C_jj | D_jj] (2 D)
@group(0) @binding(1) var<storage, read_write> terms: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = gid.y * nwg.x * 64u + gid.x;
    if j >= p.d {
        return;
    }
    let c = diag[j];
    diag[p.d + j] = -2.0 * (1.0 - c) - 2.0 * p.lambda * c;
    terms[p.on_at + j] = (1.0 - c) * (1.0 - c);
    terms[p.off_at + j] = -c * c;
}
