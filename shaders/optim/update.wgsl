// Optimizer updates, one thread per element of one parameter. Hyper-parameters that change every step
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

@group(0) @binding(0) var<storage, read_write> w: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<storage, read> sched: array<f32>;
@group(0) @binding(5) var<storage, read> stats: array<f32>;
@group(0) @binding(6) var<uniform> h: Hyper;

fn index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.y * nwg.x * 256u + gid.x;
}

@compute @workgroup_size(256)
fn sgd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if i >= h.len {
        return;
    }
    var g = stats[0] * grad[i];
    if h.decay == 1u {
        g += h.wd * w[i];
    }
    let buf = h.momentum * m[i] + g;
    m[i] = buf;
    var step = buf;
    if h.nesterov == 1u {
        step = g + h.momentum * buf;
    }
    w[i] -= sched[0] * step;
}

@compute @workgroup_size(256)
fn adamw(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if i >= h.len {
        return;
    }
    let lr = sched[0];
    let g = stats[0] * grad[i];
    var p = w[i];
    if h.decay == 1u {
        p *= 1.0 - lr * h.wd;
    }
    let m1 = h.beta1 * m[i] + (1.0 - h.beta1) * g;
    let v1 = h.beta2 * v[i] + (1.0 - h.beta2) * g * g;
    m[i] = m1;
    v[i] = v1;
    w[i] = p - lr * (m1 / sched[1]) / (sqrt(v1 / sched[2]) + h.eps);
}

@compute @workgroup_size(256)
fn lars(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if i >= h.len {
        return;
    }
    var g = stats[0] * grad[i];
    if h.decay == 1u {
        g += h.wd * w[i];
        let wn = sqrt(stats[h.slot]);
        let gn = sqrt(stats[h.slot + 1u]);
        if wn > 0.0 && gn > 0.0 {
            g *= h.eta * wn / gn;
        }
    }
    let buf = h.momentum * m[i] + g;
    m[i] = buf;
    w[i] -= sched[0] * buf;
}

@compute @workgroup_size(256)
fn ema(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = index(gid, nwg);
    if i >= h.len {
        return;
    }
    let tau = sched[3];
    w[i] = tau * w[i] + (1.0 - tau) * grad[i];
}
