// Packs GEMM operands into zero-padded panels for the subgroup kernel (gemm_sg8.wgsl), applying the
// transpose on the way, so that the main loop reads only aligned vec4s with no bounds checks.
//
//   A as op(A) (M, K) -> panels [ceil(M/64)][K][64]   (64 rows of one k contiguous)
//   B as op(B) (K, N) -> panels [ceil(N/64)][K][64]   (64 columns of one k contiguous)
// Both are "a (rows, K) matrix into 64-row panels": rows = M for A, rows = N for B (read transposed).
// Rows past `rows` are zero. One thread per vec4 of packed elements, flat index folded into 2-D.

override TRANS: bool = false;

struct Params {
    rows: u32,   // M for pack_a, N for pack_b: the dimension that is blocked
    k: u32,
    total: u32,  // number of packed elements
    offset: u32, // the matrix starts this many elements into src
    ld: u32,     // stride between its stored rows: >= k, or >= rows when TRANS
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;

// Element (row, k): stored (rows, K) row-major, or (K, rows) when TRANS. For A, TRANS = trans_a; for B,
// whose op(B) is (K, N), TRANS = !trans_b (see gemm.rs).
fn element(row: u32, k: u32) -> f32 {
    if TRANS {
        return src[p.offset + k * p.ld + row];
    }
    return src[p.offset + row * p.ld + k];
}

// One thread per four packed elements: rows r..r+3 of one k, written as one vec4 (panels are 64 rows wide,
// so a vec4 never straddles two k or two panels).
fn value(row: u32, k: u32) -> f32 {
    if row < p.rows {
        return element(row, k);
    }
    return 0.0;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = gid.y * nwg.x * 256u + gid.x;
    let t = 4u * q;
    if t >= p.total {
        return;
    }
    let k = (t / 64u) % p.k;
    let row = (t / 64u / p.k) * 64u + t % 64u;
    dst[q] = vec4(value(row, k), value(row + 1u, k), value(row + 2u, k), value(row + 3u, k));
}
