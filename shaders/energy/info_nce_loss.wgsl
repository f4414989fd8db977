// InfoNCE (NT-Xent) loss per anchor for one window of rows j = r0 .. r0 + R of the normalised halves za, zb
// (N, D), once lse is complete (info_nce_lse.wgsl). The positive of anchor j is N + j and vice versa, both
// with similarity za_j . zb_j / tau; one thread per window row writes both anchors:
//   loss[j] = lse[j] - za_j . zb_j / tau,   loss[N + j] = lse[N + j] - za_j . zb_j / tau
// The value is mean_i loss[i] (energy/sum.wgsl).

struct Params {
    r0: u32,
    rows: u32,
    n: u32,
    d: u32,
    inv_tau: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> za: array<f32>;         // (R, D) window
@group(0) @binding(1) var<storage, read> zb: array<f32>;         // (R, D) window
@group(0) @binding(2) var<storage, read> lse: array<f32>;        // (2 N)
@group(0) @binding(3) var<storage, read_write> loss: array<f32>; // (2 N)
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = gid.y * nwg.x * 64u + gid.x;
    if r >= p.rows {
        return;
    }
    var dot = 0.0;
    for (var k = 0u; k < p.d; k++) {
        dot += za[r * p.d + k] * zb[r * p.d + k];
    }
    let j = p.r0 + r;
    loss[j] = lse[j] - dot * p.inv_tau;
    loss[p.n + j] = lse[p.n + j] - dot * p.inv_tau;
}
