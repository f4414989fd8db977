// Packs GEMM operands into zero-padded panels for the subgroup kernel (gemm_sg8.wgsl), applying the
// transpose on the way, so that the main loop reads only aligned vec4s with no bounds checks.
//
//   A as op(A) (M, K) -> panels [ceil(M/64)][K][64]   (64 rows of one k contiguous)
//   B as op(B) (K, N) -> panels [ceil(N/64)][K][64]   (64 columns of one k contiguous)
// Both are "a (rows, K) matrix into 64-row panels": rows = M for A, rows = N for B (read transposed).
// Rows past `rows` are zero. Elements are stored as f32, or as f16 (HALF) two to a u32, rounded to
// nearest even. One thread per vec4 of packed words (4 elements, or 8 when HALF), flat index folded
// into 2-D. The source holds f32 values, or f16 ones (STORED_HALF: an f16 matrix, two to a word, the
// lower half first, `offset` and `ld` still counted in elements).

override TRANS: bool = false;
override HALF: bool = false;
override STORED_HALF: bool = false;

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

@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<u32>>;
@group(0) @binding(2) var<uniform> p: Params;

// Element (row, k): stored (rows, K) row-major, or (K, rows) when TRANS. For A, TRANS = trans_a; for B,
// whose op(B) is (K, N), TRANS = !trans_b (see gemm.rs).
fn element(row: u32, k: u32) -> f32 {
    var e = p.offset + row * p.ld + k;
    if TRANS {
        e = p.offset + k * p.ld + row;
    }
    if STORED_HALF {
        let pair = unpack2x16float(src[e / 2u]);
        return select(pair.x, pair.y, e % 2u == 1u);
    }
    return bitcast<f32>(src[e]);
}

fn value(row: u32, k: u32) -> f32 {
    if row < p.rows {
        return element(row, k);
    }
    return 0.0;
}

fn four(row: u32, k: u32) -> vec4<f32> {
    return vec4(value(row, k), value(row + 1u, k), value(row + 2u, k), value(row + 3u, k));
}

// Thread q writes rows r..r+3 (or r..r+7 when HALF) of one k as one vec4 of words: panels are 64 rows
// wide, so a vec4 never straddles two k or two panels.
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let q = gid.y * nwg.x * 256u + gid.x;
    let per = select(4u, 8u, HALF);
    let t = per * q;
    if t >= p.total {
        return;
    }
    let k = (t / 64u) % p.k;
    let row = (t / 64u / p.k) * 64u + t % 64u;
    if HALF {
        let lo = four(row, k);
        let hi = four(row + 4u, k);
        dst[q] = vec4(pack2x16float(lo.xy), pack2x16float(lo.zw), pack2x16float(hi.xy), pack2x16float(hi.zw));
    } else {
        dst[q] = bitcast<vec4<u32>>(four(row, k));
    }
}
