// InfoNCE (NT-Xent) forward over one block of rows of the scaled similarity matrix, never the whole of it:
// s (R, M) holds s_ik = z_i . z_k / tau for the block's rows i = r0 .. r0 + R of z = [za; zb] (M = 2N rows,
// computed by the GEMM). One thread per block row:
//   lse[i] = logsumexp_{k != i} s_ik   (max-shifted)
// The loss per row follows from lse (info_nce_loss.wgsl).

struct Params {
    r0: u32,
    rows: u32,
    m: u32,
    _pad0: u32,
}

@group(0) @binding(0) var<storage, read> s: array<f32>;          // (R, M)
@group(0) @binding(1) var<storage, read_write> lse: array<f32>;  // (M)
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = gid.y * nwg.x * 64u + gid.x;
    if r >= p.rows {
        return;
    }
    let i = p.r0 + r;
    var mx = -3.0e38;
    for (var k = 0u; k < p.m; k++) {
        if k != i {
            mx = max(mx, s[r * p.m + k]);
        }
    }
    var sum = 0.0;
    for (var k = 0u; k < p.m; k++) {
        if k != i {
            sum += exp(s[r * p.m + k] - mx);
        }
    }
    lse[i] = mx + log(sum);
}
