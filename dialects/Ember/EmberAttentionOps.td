//===- EmberAttentionOps.td - ember MLA attention operations --*- tablegen -*-===//
// Included by EmberOps.td (one generated op list for the dialect).
//
// Multi-head latent attention in its absorbed form (docs/design.md §3): the KV
// cache holds one latent row [c_kv | k_rope] per token and decode attention
// runs on it directly; kv_b is applied to the query (absorb) and to the
// attention-weighted latent (up_v) instead of to every cached token.

def Ember_RopeOp : Ember_Op<"rope", [Ember_DefaultTraffic]> {
  let summary = "rotary embedding on interleaved pairs";
  let description = [{
    For `x [T, ..., R]`, row t at `positions[t]`: pair i = (x[2i], x[2i+1])
    is rotated by the angle `positions[t] * inv_freq[i]`, and cos/sin are
    multiplied by `scale` (YaRN's mscale ratio, else 1):
    `y[2i] = x[2i] c - x[2i+1] s`, `y[2i+1] = x[2i+1] c + x[2i] s`.
    The angle is computed in f32 as the reference does. `y` may alias `x`.

    ```mlir
    ember.rope %q, %positions into %y {inv_freq = array<f32: 1.0, 0.01>, scale = 1.0 : f32}
        : memref<?x4x4xf32, strided<[48, 12, 1], offset: 8>>, memref<?xi32> into memref<?x4x4xf32>
    ```
  }];
  let arguments = (ins Arg<F32MemRef, "x [T, ..., R]", [MemRead]>:$x,
                       Arg<Ember_RowIndexMemRef, "position of each row [T]", [MemRead]>:$positions,
                       Arg<F32MemRef, "y [T, ..., R]", [MemWrite]>:$out,
                       DenseF32ArrayAttr:$inv_freq,
                       DefaultValuedAttr<F32Attr, "1.0">:$scale);
  let assemblyFormat = [{
    $x `,` $positions `into` $out attr-dict `:` type($x) `,` type($positions) `into` type($out)
  }];
  let hasVerifier = 1;
}

def Ember_MlaAbsorbOp : Ember_Op<"mla_absorb", [Ember_OwnTraffic]> {
  let summary = "absorb kv_b's key half into the query";
  let description = [{
    `q_lat[t, h, c] = sum_n q_nope[t, h, n] * f32(kv_b[h (Dn + Dv) + n, c])`
    with Dn = dim(q_nope, 2) and kv_b `[H (Dn + Dv), C]` (HF layout of
    `kv_b_proj`), so that `q_lat . c_kv` equals `q_nope . k_nope`. `kv_b` may
    be F8E4M3FN with block scales, as `ember.linear`'s weight.

    ```mlir
    ember.mla_absorb %q_nope, %kv_b into %q_lat
        : memref<?x4x16xf32>, memref<128x32xbf16> into memref<?x4x32xf32>
    ```
  }];
  let arguments = (ins Arg<F32MemRef, "q_nope [T, H, Dn]", [MemRead]>:$q_nope,
                       Arg<Ember_QuantizableWeightMemRef, "kv_b [H (Dn + Dv), C]", [MemRead]>:$kv_b,
                       Arg<Optional<F32MemRef>, "block scales of an F8E4M3FN kv_b", [MemRead]>:$kv_b_scale,
                       Arg<F32MemRef, "q_lat [T, H, C]", [MemWrite]>:$out,
                       OptionalAttr<DenseI64ArrayAttr>:$weight_block);
  let assemblyFormat = [{
    $q_nope `,` $kv_b (`scaled` $kv_b_scale^)? `into` $out attr-dict
    `:` type($q_nope) `,` type($kv_b) (`scaled` type($kv_b_scale)^)? `into` type($out)
  }];
  let hasVerifier = 1;
}

def Ember_MlaAttentionOp : Ember_Op<"mla_attention",
    [Ember_OwnTraffic, AllTypesMatch<["slots", "positions"]>]> {
  let summary = "causal softmax attention on the latent KV cache";
  let description = [{
    Row t (a token of sequence `slots[t]` at position `positions[t]`) of head
    h attends to that sequence's cached rows s = 0 .. positions[t] of
    `cache [slots, S, C + R]`, each `[c_kv (C) | k_rope (R)]`:
    `score[s] = (q_lat[t, h] . c_kv[s] + q_rope[t, h] . k_rope[s]) * scale`,
    `out[t, h] = sum_s softmax(score)[s] * c_kv[s]` (softmax in f32). The new
    tokens' rows must already be in the cache; rows of one step may belong to
    different sequences.

    ```mlir
    ember.mla_attention %q_lat, %q_rope, %cache[%slots, %positions] into %o_lat {scale = 0.2 : f32}
        : memref<?x4x32xf32>, memref<?x4x8xf32>, memref<?xi32>,
          memref<4x4096x40xf32, strided<[?, 40, 1], offset: ?>> into memref<?x4x32xf32>
    ```
  }];
  let arguments = (ins Arg<F32MemRef, "q_lat [T, H, C]", [MemRead]>:$q_lat,
                       Arg<F32MemRef, "q_rope [T, H, R]", [MemRead]>:$q_rope,
                       Arg<F32MemRef, "latent cache [slots, S, C + R]", [MemRead]>:$cache,
                       Arg<Ember_RowIndexMemRef, "slot of each row [T]", [MemRead]>:$slots,
                       Arg<Ember_RowIndexMemRef, "position of each row [T]", [MemRead]>:$positions,
                       Arg<F32MemRef, "attended latent [T, H, C]", [MemWrite]>:$out,
                       F32Attr:$scale);
  let assemblyFormat = [{
    $q_lat `,` $q_rope `,` $cache `[` $slots `,` $positions `]` `into` $out attr-dict
    `:` type($q_lat) `,` type($q_rope) `,` type($slots) `,` type($cache) `into` type($out)
  }];
  let hasVerifier = 1;
}

def Ember_MlaUpValueOp : Ember_Op<"mla_up_v", [Ember_OwnTraffic]> {
  let summary = "expand the attended latent to per-head values with kv_b";
  let description = [{
    `out[t, h, v] = sum_c o_lat[t, h, c] * f32(kv_b[h (Dn + Dv) + Dn + v, c])`
    with Dv = dim(out, 2) and Dn = rows(kv_b) / H - Dv. `kv_b` may be
    F8E4M3FN with block scales, as `ember.linear`'s weight.

    ```mlir
    ember.mla_up_v %o_lat, %kv_b into %o
        : memref<?x4x32xf32>, memref<128x32xbf16> into memref<?x4x16xf32>
    ```
  }];
  let arguments = (ins Arg<F32MemRef, "o_lat [T, H, C]", [MemRead]>:$o_lat,
                       Arg<Ember_QuantizableWeightMemRef, "kv_b [H (Dn + Dv), C]", [MemRead]>:$kv_b,
                       Arg<Optional<F32MemRef>, "block scales of an F8E4M3FN kv_b", [MemRead]>:$kv_b_scale,
                       Arg<F32MemRef, "values [T, H, Dv]", [MemWrite]>:$out,
                       OptionalAttr<DenseI64ArrayAttr>:$weight_block);
  let assemblyFormat = [{
    $o_lat `,` $kv_b (`scaled` $kv_b_scale^)? `into` $out attr-dict
    `:` type($o_lat) `,` type($kv_b) (`scaled` type($kv_b_scale)^)? `into` type($out)
  }];
  let hasVerifier = 1;
}
