// Column sums over one window of rows of an (R, D) matrix, one thread per column, written or accumulated
// into acc so that a matrix processed in row windows gets its column statistics window by window:
//   entry sum:        acc[out + j] (+)= scale * sum_i x_ij
//   entry centred_sq: acc[out + j] (+)= scale * sum_i (x_ij - acc[centre + j])^2   (the mean is in acc)
//   entry dot:        acc[out + j] (+)= scale * sum_i x_ij * y_ij
// "+=" when accumulate is 1 (every window after the first), "=" otherwise. y is only read by dot.

struct Params {
    rows: u32,
    d: u32,
    scale: f32,
    accumulate: u32,
    out: u32,
    centre: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;          // (R, D)
@group(0) @binding(1) var<storage, read> y: array<f32>;          // (R, D)
@group(0) @binding(2) var<storage, read_write> acc: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

fn column(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.y * nwg.x * 64u + gid.x;
}

fn store(j: u32, total: f32) {
    let prev = select(0.0, acc[p.out + j], p.accumulate != 0u);
    acc[p.out + j] = prev + p.scale * total;
}

@compute @workgroup_size(64)
fn sum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = column(gid, nwg);
    if j >= p.d {
        return;
    }
    var t = 0.0;
    for (var i = 0u; i < p.rows; i++) {
        t += x[i * p.d + j];
    }
    store(j, t);
}

@compute @workgroup_size(64)
fn centred_sq(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = column(gid, nwg);
    if j >= p.d {
        return;
    }
    let m = acc[p.centre + j];
    var t = 0.0;
    for (var i = 0u; i < p.rows; i++) {
        let v = x[i * p.d + j] - m;
        t += v * v;
    }
    store(j, t);
}

@compute @workgroup_size(64)
fn dot(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = column(gid, nwg);
    if j >= p.d {
        return;
    }
    var t = 0.0;
    for (var i = 0u; i < p.rows; i++) {
        t += x[i * p.d + j] * y[i * p.d + j];
    }
    store(j, t);
}
