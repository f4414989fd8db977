// GELU forward, the exact (erf) form PyTorch uses by default: y = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)).
// WGSL has no erf: erf_approx below is Abramowitz & Stegun 7.1.26 refined (|error| < 1.5e-7).

struct Params {
    len: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

// erf(z) to about 1.5e-7 absolute (Abramowitz & Stegun 7.1.26).
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
        y[i] = 0.5 * v * (1.0 + erf_approx(v * 0.70710678118654752));
    }
}
