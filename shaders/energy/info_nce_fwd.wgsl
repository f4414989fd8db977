// InfoNCE (NT-Xent) forward over one block of rows of the scaled similarity matrix, never the whole of it.
// z = [za; zb] (M = 2N rows) are the normalised embeddings, kept as their two halves za, zb (N, D) so that
// neither exceeds a binding; s (R, M) holds s_ik = z_i . z_k / tau for the block's rows i = r0 .. r0 + R
// (computed by the GEMM).
//   entry lse:  lse[i] = logsumexp_{k != i} s_ik (max-shifted), one thread per block row
//   entry loss: loss[i] = lse[i] - z_i . z_p(i) / tau, p(i) = i + N or i - N, so the positive pair's
//               similarity is za_j . zb_j with j = i mod N; one thread per row of z
// The value is mean_i loss[i] (energy/sum.wgsl).

struct Params {
    r0: u32,
    rows: u32,
    m: u32,
    d: u32,
    inv_tau: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> s: array<f32>;          // (R, M)
@group(0) @binding(1) var<storage, read> za: array<f32>;         // (N, D)
@group(0) @binding(2) var<storage, read> zb: array<f32>;         // (N, D)
@group(0) @binding(3) var<storage, read_write> lse: array<f32>;  // (M)
@group(0) @binding(4) var<storage, read_write> loss: array<f32>; // (M)
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(64)
fn lse_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
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

@compute @workgroup_size(64)
fn loss_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.y * nwg.x * 64u + gid.x;
    if i >= p.m {
        return;
    }
    let row = i % (p.m / 2u);
    var dot = 0.0;
    for (var j = 0u; j < p.d; j++) {
        dot += za[row * p.d + j] * zb[row * p.d + j];
    }
    loss[i] = lse[i] - dot * p.inv_tau;
}
