// Terms of a D x D cross-correlation or covariance matrix, one column block C[:, j0 .. j0 + W] (stored
// (D, W)) at a time, one thread per column of the block; global column g = j0 + j, diagonal entry C[g, j].
//   entry cov:    offdiag[g] = sum_{k != g} C_kg^2; then C[g, j] = 0, so the block becomes offdiag(C).
//   entry barlow: on[g] = (1 - C_gg)^2, offdiag[g] = sum_{k != g} C_kg^2; then the block becomes the
//                 gradient of the value with respect to C: 2 lambda C_kg off the diagonal, -2 (1 - C_gg) on it.
// terms holds [offdiag (D) | on (D)] starting at `offset`.

struct Params {
    d: u32,
    w: u32,
    j0: u32,
    lambda: f32,
    offset: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> c: array<f32>;      // (D, W)
@group(0) @binding(1) var<storage, read_write> terms: array<f32>;  // (offset + 2 D)
@group(0) @binding(2) var<uniform> p: Params;

fn offdiag_sumsq(j: u32, g: u32) -> f32 {
    var s = 0.0;
    for (var k = 0u; k < p.d; k++) {
        if k != g {
            let v = c[k * p.w + j];
            s += v * v;
        }
    }
    return s;
}

@compute @workgroup_size(64)
fn cov(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    if j >= p.w {
        return;
    }
    let g = p.j0 + j;
    terms[p.offset + g] = offdiag_sumsq(j, g);
    c[g * p.w + j] = 0.0;
}

@compute @workgroup_size(64)
fn barlow(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    if j >= p.w {
        return;
    }
    let g = p.j0 + j;
    terms[p.offset + g] = offdiag_sumsq(j, g);
    let diag = c[g * p.w + j];
    terms[p.offset + p.d + g] = (1.0 - diag) * (1.0 - diag);
    for (var k = 0u; k < p.d; k++) {
        let idx = k * p.w + j;
        c[idx] = select(2.0 * p.lambda * c[idx], -2.0 * (1.0 - diag), k == g);
    }
}
