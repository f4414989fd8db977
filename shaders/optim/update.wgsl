// Optimizer updates, one thread per four elements of one parameter (vec4 loads and stores: a quarter of
// the memory instructions; lanes past `len` keep their old values, so a tensor that is a prefix of a longer
// buffer is safe). Hyper-parameters that change every step
// (learning rate, Adam's bias corrections, EMA momentum) are read from `sched` = [lr, 1 - beta1^t,
// 1 - beta2^t, tau], written by the host before each submit, so the uniform block stays the same every
// step; `stats[0]` is the gradient-clipping factor (1 when clipping is off), `stats[slot]` and
// `stats[slot + 1]` the squared norms LARS uses (shaders/optim/norms.wgsl).
//   sgd:   g = c grad (+ wd w);  m = momentum m + g;  w -= lr (nesterov ? g + momentum m : m)
//   adamw: g = c grad;  w *= 1 - lr wd;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
//          w -= lr (m / bc1) / (sqrt(v / bc2) + eps)
//   lars:  g = c grad; if decay { g += wd w; g *= trust = eta |w| / |g| (1 when either norm is 0) };
//          m = momentum m + g;  w -= lr m
//   ema:   w = tau w + (1 - tau) grad    (w: target parameter, grad: the online parameter)
// `decay` is 0 for biases and normalisation parameters: no weight decay, no LARS trust ratio.
// Reference: tandem_reference::optim.

struct Hyper {
    len: u32,
    decay: u32,
    nesterov: u32,
    slot: u32,
    wd: f32,
    momentum: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    eta: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<storage, read_write> w: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> grad: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> m: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> sched: array<f32>;
@group(0) @binding(5) var<storage, read> stats: array<f32>;
@group(0) @binding(6) var<uniform> h: Hyper;

fn index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.y * nwg.x * 256u + gid.x;
}

// Which of the four lanes of vec4 i are elements of the tensor.
fn lanes(i: u32) -> vec4<bool> {
    return vec4(4u * i, 4u * i + 1u, 4u * i + 2u, 4u * i + 3u) < vec4(h.len);
}

@compute @workgroup_size(256)
fn sgd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if 4u * i >= h.len {
        return;
    }
    let keep = lanes(i);
    let w0 = w[i];
    var g = stats[0] * grad[i];
    if h.decay == 1u {
        g += h.wd * w0;
    }
    let buf = h.momentum * m[i] + g;
    m[i] = select(m[i], buf, keep);
    var step = buf;
    if h.nesterov == 1u {
        step = g + h.momentum * buf;
    }
    w[i] = select(w0, w0 - sched[0] * step, keep);
}

@compute @workgroup_size(256)
fn adamw(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if 4u * i >= h.len {
        return;
    }
    let keep = lanes(i);
    let lr = sched[0];
    let g = stats[0] * grad[i];
    let w0 = w[i];
    var p = w0;
    if h.decay == 1u {
        p *= 1.0 - lr * h.wd;
    }
    let m1 = h.beta1 * m[i] + (1.0 - h.beta1) * g;
    let v1 = h.beta2 * v[i] + (1.0 - h.beta2) * g * g;
    m[i] = select(m[i], m1, keep);
    v[i] = select(v[i], v1, keep);
    w[i] = select(w0, p - lr * (m1 / sched[1]) / (sqrt(v1 / sched[2]) + h.eps), keep);
}

@compute @workgroup_size(256)
fn lars(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if 4u * i >= h.len {
        return;
    }
    let keep = lanes(i);
    let w0 = w[i];
    var g = stats[0] * grad[i];
    if h.decay == 1u {
        g += h.wd * w0;
        let wn = sqrt(stats[h.slot]);
        let gn = sqrt(stats[h.slot + 1u]);
        if wn > 0.0 && gn > 0.0 {
            g *= h.eta * wn / gn;
        }
    }
    let buf = h.momentum * m[i] + g;
    m[i] = select(m[i], buf, keep);
    w[i] = select(w0, w0 - sched[0] * buf, keep);
}

@compute @workgroup_size(256)
fn ema(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if 4u * i >= h.len {
        return;
    }
    let tau = sched[3];
    let w0 = w[i];
    w[i] = select(w0, tau * w0 + (1.0 - tau) * grad[i], lanes(i));
}
