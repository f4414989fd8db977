// The value from its weighted terms, in place: out[0] = sum_{t=1..count} coeff[t-1] * out[t].
// (VICReg: sim, std / 2, std / 2 ... are passed as the weights of the terms as stored.)

struct Params {
    coeff: vec4<f32>,
    count: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;

@compute @workgroup_size(1)
fn main() {
    var v = 0.0;
    for (var t = 0u; t < p.count; t++) {
        v += p.coeff[t] * out[t + 1u];
    }
    out[0] = v;
}
