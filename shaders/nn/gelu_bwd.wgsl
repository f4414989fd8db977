// GELU backward (exact form): dx = dy * (Phi(x) + x * phi(x)), phi the standard normal density.
// dx is written (=). erf_approx as in gelu_fwd.wgsl.

struct Params {
    len: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

fn erf_approx(z: f32) -> f32 {
    let a = abs(z);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    let r = 1.0 - poly * exp(-a * a);
    return select(-r, r, z >= 0.0);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.y * nwg.x * 256u + gid.x;
    if i < p.len {
        let v = x[i];
        let cdf = 0.5 * (1.0 + erf_approx(v * 0.70710678118654752));
        let pdf = 0.39894228040143268 * exp(-0.5 * v * v);
        dx[i] = dy[i] * (cdf + v * pdf);
    }
}
