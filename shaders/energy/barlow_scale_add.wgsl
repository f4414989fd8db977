// The diagonal's share of Barlow Twins' gradient through the Gram route (objectives' barlow_twins.rs):
// dvalue/dâ = b̂ G_C^T / N where G_C = 2 lambda C + diag(D), so b̂ diag(D) / N is added here; one thread per
// element of x (N, D), with diag = [C_jj | D_jj] from barlow_diagonal.wgsl:
//   out_ij += scale * x_ij * D_jj

struct Params {
    rows: u32,
    d: u32,
    scale: f32,
    _pad0: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;          // (N, D)
@group(0) @binding(1) var<storage, read> diag: array<f32>;       // [C_jj | D_jj] (2 D)
@group(0) @binding(2) var<storage, read_write> out: array<f32>;  // (N, D)
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.y * nwg.x * 256u + gid.x;
    if t >= p.rows * p.d {
        return;
    }
    out[t] += p.scale * x[t] * diag[p.d + t % p.d];
}
