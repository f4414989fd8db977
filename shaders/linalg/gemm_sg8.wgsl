// GEMM for 8-lane subgroups (lavapipe and other CPU adapters), on panels packed by gemm_pack.wgsl.
//
//   C (M, N) = alpha * op(A) . op(B) + beta * C,  f32 accumulation, beta == 0 never reads C.
// One workgroup = one subgroup of 8 lanes computes a 64x64 block of C. Lane l owns columns 8l..8l+7 of
// the block for all 64 rows (two vec4 accumulators per row: 128 vec4). For each k, lane l loads two vec4
// of A (rows 8l..8l+7) and two vec4 of B (its 8 columns); the 64 A values are shared across the subgroup
// with subgroupBroadcast, a register shuffle, instead of separate loads in every lane. On lavapipe every
// storage load is a loop over the lanes, so the kernel is built to load as little as possible per FMA
// (docs/architecture.md). The panels are zero-padded, so the main loop has no bounds checks.
// Requires the SUBGROUP feature and a subgroup size of exactly 8 (the host checks).
// Every index into `acc` is a constant after inlining: a non-constant one would move the whole array
// to per-lane memory.

struct Params {
    m: u32,
    n: u32,
    k: u32,
    alpha: f32,
    beta: f32,
    a_offset: u32,  // applied by the packing kernel
    c_offset: u32,  // C starts this many elements into its buffer
    lda: u32,       // applied by the packing kernel
    ldc: u32,       // stride between rows of C
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> ap: array<vec4<f32>>;  // [ceil(M/64)][K][64] packed op(A)
@group(0) @binding(1) var<storage, read> bp: array<vec4<f32>>;  // [ceil(N/64)][K][64] packed op(B)
@group(0) @binding(2) var<storage, read_write> c: array<f32>;   // (M, N)
@group(0) @binding(3) var<uniform> p: Params;

// acc[2r] holds row r, columns 8l..8l+3; acc[2r+1] columns 8l+4..8l+7. `base` = 2 * first row.
fn rows4(acc: ptr<function, array<vec4<f32>, 128>>, base: u32, av: vec4<f32>, b0: vec4<f32>, b1: vec4<f32>) {
    (*acc)[base + 0u] = fma(vec4(av.x), b0, (*acc)[base + 0u]);
    (*acc)[base + 1u] = fma(vec4(av.x), b1, (*acc)[base + 1u]);
    (*acc)[base + 2u] = fma(vec4(av.y), b0, (*acc)[base + 2u]);
    (*acc)[base + 3u] = fma(vec4(av.y), b1, (*acc)[base + 3u]);
    (*acc)[base + 4u] = fma(vec4(av.z), b0, (*acc)[base + 4u]);
    (*acc)[base + 5u] = fma(vec4(av.z), b1, (*acc)[base + 5u]);
    (*acc)[base + 6u] = fma(vec4(av.w), b0, (*acc)[base + 6u]);
    (*acc)[base + 7u] = fma(vec4(av.w), b1, (*acc)[base + 7u]);
}

fn store(m: u32, n: u32, v: f32) {
    if m < p.m && n < p.n {
        let idx = p.c_offset + m * p.ldc + n;
        var out = p.alpha * v;
        if p.beta != 0.0 {
            out += p.beta * c[idx];
        }
        c[idx] = out;
    }
}

fn store_row(m: u32, n0: u32, v0: vec4<f32>, v1: vec4<f32>) {
    store(m, n0, v0.x);
    store(m, n0 + 1u, v0.y);
    store(m, n0 + 2u, v0.z);
    store(m, n0 + 3u, v0.w);
    store(m, n0 + 4u, v1.x);
    store(m, n0 + 5u, v1.y);
    store(m, n0 + 6u, v1.z);
    store(m, n0 + 7u, v1.w);
}

// Rows m..m+3 (accumulators base..base+7) into columns n0..n0+7 of C.
fn store_rows4(acc: ptr<function, array<vec4<f32>, 128>>, base: u32, m: u32, n0: u32) {
    store_row(m, n0, (*acc)[base + 0u], (*acc)[base + 1u]);
    store_row(m + 1u, n0, (*acc)[base + 2u], (*acc)[base + 3u]);
    store_row(m + 2u, n0, (*acc)[base + 4u], (*acc)[base + 5u]);
    store_row(m + 3u, n0, (*acc)[base + 6u], (*acc)[base + 7u]);
}

@compute @workgroup_size(8)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
    let a_base = wg.y * p.k * 16u;  // vec4 index of this row block's panel
    let b_base = wg.x * p.k * 16u;  // vec4 index of this column block's panel
    var acc: array<vec4<f32>, 128>;
    for (var k = 0u; k < p.k; k++) {
        let a0 = ap[a_base + k * 16u + 2u * lane];       // rows 8l..8l+3
        let a1 = ap[a_base + k * 16u + 2u * lane + 1u];  // rows 8l+4..8l+7
        let b0 = bp[b_base + k * 16u + 2u * lane];
        let b1 = bp[b_base + k * 16u + 2u * lane + 1u];
        // Lane j's a0 holds rows 8j..8j+3, its a1 rows 8j+4..8j+7.
        rows4(&acc, 0u, subgroupBroadcast(a0, 0u), b0, b1);
        rows4(&acc, 8u, subgroupBroadcast(a1, 0u), b0, b1);
        rows4(&acc, 16u, subgroupBroadcast(a0, 1u), b0, b1);
        rows4(&acc, 24u, subgroupBroadcast(a1, 1u), b0, b1);
        rows4(&acc, 32u, subgroupBroadcast(a0, 2u), b0, b1);
        rows4(&acc, 40u, subgroupBroadcast(a1, 2u), b0, b1);
        rows4(&acc, 48u, subgroupBroadcast(a0, 3u), b0, b1);
        rows4(&acc, 56u, subgroupBroadcast(a1, 3u), b0, b1);
        rows4(&acc, 64u, subgroupBroadcast(a0, 4u), b0, b1);
        rows4(&acc, 72u, subgroupBroadcast(a1, 4u), b0, b1);
        rows4(&acc, 80u, subgroupBroadcast(a0, 5u), b0, b1);
        rows4(&acc, 88u, subgroupBroadcast(a1, 5u), b0, b1);
        rows4(&acc, 96u, subgroupBroadcast(a0, 6u), b0, b1);
        rows4(&acc, 104u, subgroupBroadcast(a1, 6u), b0, b1);
        rows4(&acc, 112u, subgroupBroadcast(a0, 7u), b0, b1);
        rows4(&acc, 120u, subgroupBroadcast(a1, 7u), b0, b1);
    }
    let m0 = wg.y * 64u;
    let n0 = wg.x * 64u + lane * 8u;
    store_rows4(&acc, 0u, m0 + 0u, n0);
    store_rows4(&acc, 8u, m0 + 4u, n0);
    store_rows4(&acc, 16u, m0 + 8u, n0);
    store_rows4(&acc, 24u, m0 + 12u, n0);
    store_rows4(&acc, 32u, m0 + 16u, n0);
    store_rows4(&acc, 40u, m0 + 20u, n0);
    store_rows4(&acc, 48u, m0 + 24u, n0);
    store_rows4(&acc, 56u, m0 + 28u, n0);
    store_rows4(&acc, 64u, m0 + 32u, n0);
    store_rows4(&acc, 72u, m0 + 36u, n0);
    store_rows4(&acc, 80u, m0 + 40u, n0);
    store_rows4(&acc, 88u, m0 + 44u, n0);
    store_rows4(&acc, 96u, m0 + 48u, n0);
    store_rows4(&acc, 104u, m0 + 52u, n0);
    store_rows4(&acc, 112u, m0 + 56u, n0);
    store_rows4(&acc, 120u, m0 + 60u, n0);
}
