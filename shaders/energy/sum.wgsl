// Reduces a range of a vector to one scalar: out[slot] = scale * sum_{i < len} v[start + i], in one
// workgroup of 256 threads
// (strided partial sums, then a tree in workgroup memory: deterministic for a given length).

struct Params {
    len: u32,
    slot: u32,
    scale: f32,
    start: u32,
}

@group(0) @binding(0) var<storage, read> v: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) t: u32) {
    var s = 0.0;
    for (var i = t; i < p.len; i += 256u) {
        s += v[p.start + i];
    }
    partial[t] = s;
    workgroupBarrier();
    for (var stride = 128u; stride > 0u; stride >>= 1u) {
        if t < stride {
            partial[t] += partial[t + stride];
        }
        workgroupBarrier();
    }
    if t == 0u {
        out[p.slot] = p.scale * partial[0];
    }
}
