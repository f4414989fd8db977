// Softmax cross-entropy of logits (rows × classes) against integer labels (stored as f32), one thread per
// row: loss[r] = logsumexp(z_r) − z_r[y_r]; dz[r, c] = (softmax(z_r)_c − [c == y_r]) / rows (the gradient
// of the mean loss). Reference: tandem_reference::probe::softmax_xent.

struct Params {
    rows: u32,
    classes: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<f32>;
@group(0) @binding(2) var<storage, read_write> dz: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = gid.y * nwg.x * 64u + gid.x;
    if r >= p.rows {
        return;
    }
    let base = r * p.classes;
    var m = -3.4e38;
    for (var c = 0u; c < p.classes; c++) {
        m = max(m, z[base + c]);
    }
    var s = 0.0;
    for (var c = 0u; c < p.classes; c++) {
        s += exp(z[base + c] - m);
    }
    let y = u32(labels[r]);
    let inv_rows = 1.0 / f32(p.rows);
    for (var c = 0u; c < p.classes; c++) {
        var g = exp(z[base + c] - m) / s;
        if c == y {
            g -= 1.0;
        }
        dz[base + c] = g * inv_rows;
    }
    loss[r] = m + log(s) - z[base + y];
}
