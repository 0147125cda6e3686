//===- EmberFusedOps.td - ops the fusion passes create ------*- tablegen -*-===//
// Included by EmberOps.td. Each op here is what one passes/ fusion turns a
// group of unfused ops into: one kernel instead of several, with the
// intermediate results kept in registers instead of written to memory.

def Ember_SwiGluOp : Ember_Op<"swiglu", [Ember_OwnTraffic, AttrSizedOperandSegments]> {
  let summary = "Fused SwiGLU up-projection: h = silu(x Wg^T) * (x Wu^T)";
  let description = [{
    `h[t, f] = silu(sum_i x[t, i] g[f, i]) * sum_i x[t, i] u[f, i]`: the gate
    and up projections and `silu_mul` in one kernel (ember-fuse-swiglu), so
    neither `[T, F]` projection is written to memory and `x` is read once
    per output. Both weights may be F8E4M3FN with block scales, as
    `ember.linear`'s (one `weight_block` for both).

    ```mlir
    ember.swiglu %x, %g, %u into %h
        : memref<?x96xf32>, memref<192x96xbf16>, memref<192x96xbf16> into memref<?x192xf32>
    ```
  }];
  let arguments = (ins Arg<F32MemRef, "x [T, D]", [MemRead]>:$x,
                       Arg<Ember_QuantizableWeightMemRef, "gate weight [F, D]", [MemRead]>:$gate_weight,
                       Arg<Ember_QuantizableWeightMemRef, "up weight [F, D]", [MemRead]>:$up_weight,
                       Arg<Optional<F32MemRef>, "block scales of an F8E4M3FN gate weight", [MemRead]>:$gate_scale,
                       Arg<Optional<F32MemRef>, "block scales of an F8E4M3FN up weight", [MemRead]>:$up_scale,
                       Arg<F32MemRef, "h [T, F]", [MemWrite]>:$out,
                       OptionalAttr<DenseI64ArrayAttr>:$weight_block);
  let assemblyFormat = [{
    $x `,` $gate_weight `,` $up_weight (`scaled` $gate_scale^ `,` $up_scale)? `into` $out attr-dict
        `:` type($x) `,` type($gate_weight) `,` type($up_weight)
        (`scaled` type($gate_scale)^ `,` type($up_scale))? `into` type($out)
  }];
  let hasVerifier = 1;
}

def Ember_NgramEmbedOp : Ember_Op<"ngram_embed",
    [Ember_OwnTraffic, AllTypesMatch<["slots", "positions"]>]> {
  let summary = "Fused n-gram embedding: ids, gathers, projections and mean";
  let description = [{
    For the `T = dim(out, 0)` rows, token `x_t = tokens[t]` already written at
    `table[slots[t], positions[t]]`:
    `out[t, d] = (embed[x_t, d] + sum_i sum_w proj[i, d, w] * tables[o_i + id_i(t), w]) / (1 + E)`
    with `id_i(t)` as `ember.ngram_ids` computes it and `o_i` the exclusive
    row offsets of the concatenated n-gram tables (docs/design.md §2). It is
    `ngram_ids` + both `multi_table_gather`s + `ngram_combine` in one kernel
    (ember-fuse-ngram): each thread hashes its token's n-grams and reads the
    rows itself, so neither the ids nor the gathered rows reach memory.

    ```mlir
    ember.ngram_embed %tokens, %table[%slots, %positions], %embed, %tables, %proj into %out
        {config = #ember.ngram<vocab = 512, m = 39936, n = 4, k = 4, eos = 2>}
        : memref<?xi32>, memref<?x?xi32>, memref<?xi32>, memref<512x96xbf16>, memref<479376x8xbf16>,
          memref<12x96x8xbf16> into memref<?x96xf32>
    ```
  }];
  let arguments = (ins Arg<I32MemRef, "tokens [T]", [MemRead]>:$tokens,
                       Arg<I32MemRef, "token table", [MemRead]>:$table,
                       Arg<Ember_RowIndexMemRef, "slot of each row [T]", [MemRead]>:$slots,
                       Arg<Ember_RowIndexMemRef, "position of each row [T]", [MemRead]>:$positions,
                       Arg<Ember_WeightMemRef, "word embedding [V, D]", [MemRead]>:$embed,
                       Arg<Ember_WeightMemRef, "n-gram tables [sum M_i, W]", [MemRead]>:$tables,
                       Arg<Ember_WeightMemRef, "projections [E, D, W]", [MemRead]>:$projections,
                       Arg<F32MemRef, "embeddings [T, D]", [MemWrite]>:$out,
                       Ember_NgramConfigAttr:$config);
  let assemblyFormat = [{
    $tokens `,` $table `[` $slots `,` $positions `]` `,` $embed `,` $tables `,` $projections `into` $out
    attr-dict `:` type($tokens) `,` type($table) `,` type($slots) `,` type($embed) `,` type($tables) `,`
    type($projections) `into` type($out)
  }];
  let hasVerifier = 1;
}

def Ember_FusedRouterOp : Ember_Op<"fused_router"> {
  let summary = "Fused MoE router: logits = u W^T, then router_topk's softmax and biased top-k";
  let description = [{
    `ember.linear %u, %classifier` followed by `ember.router_topk` in one
    kernel (ember-fuse-router): per token t, `logits[e] = u[t] . classifier[e]`
    (f32) over the R+Z experts, then exactly router_topk's semantics
    (f32 softmax, top-k of `p + bias` in descending score order with ties
    to the lower index, `weights[t, j] = p[e_j] * scaling`, ids >= `n_routed`
    are zero experts). The `[T, R+Z]` logits are never written to memory:
    each token's thread recomputes them where router_topk would load them.
    `u` is `[T, D]`, `classifier` `[R+Z, D]`, `bias` `[R+Z]`,
    `experts`/`weights` `[T, k]`.

    ```mlir
    ember.fused_router %u, %classifier, %bias into %experts, %weights
        {n_routed = 8 : i64, scaling = 6.000000e+00 : f32}
        : memref<?x96xf32>, memref<12x96xf32>, memref<12xf32> into memref<?x3xi32>, memref<?x3xf32>
    ```
  }];
  let arguments = (ins Arg<F32MemRef, "router input u [T, D]", [MemRead]>:$u,
                       Arg<Ember_WeightMemRef, "router classifier [R+Z, D]", [MemRead]>:$classifier,
                       Arg<F32MemRef, "score correction bias [R+Z]", [MemRead]>:$bias,
                       Arg<I32MemRef, "chosen experts [T, k]", [MemWrite]>:$experts,
                       Arg<F32MemRef, "routing weights [T, k]", [MemWrite]>:$weights,
                       I64Attr:$n_routed, F32Attr:$scaling);
  let assemblyFormat = [{
    $u `,` $classifier `,` $bias `into` $experts `,` $weights attr-dict
    `:` type($u) `,` type($classifier) `,` type($bias) `into` type($experts) `,` type($weights)
  }];
  let hasVerifier = 1;
}

def Ember_NormLinearOp : Ember_Op<"norm_linear", [Ember_OwnTraffic]> {
  let summary = "linear on RMSNorm(x), the norm recomputed in the matmul";
  let description = [{
    `ember.rms_norm %x, %norm_weight` followed by `ember.linear` of its output
    in one kernel (ember-fuse-norm): `y[t, o] (+)= sum_i n[t, i] * f32(w[o, i])`
    with `n[t, i] = x[t, i] * rsqrt(mean_i(x[t]^2) + eps) * f32(norm_weight[i]) * scale`
    computed where the linear would load it, so the normalized `[T, D]`
    activations never reach memory. The residual add before the norm is
    already the epilogue of the accumulating linear or combine that wrote
    `x`, so residual add + RMSNorm + matmul need no kernel between them.
    `x` is `[T, D]`, `norm_weight` `[D]`, `weight` `[out, D]`, `out` `[T, out]`
    (which must not alias `x`).

    `weight` may be F8E4M3FN with block scales, as `ember.linear`'s.

    ```mlir
    ember.norm_linear %x, %g, %w into %y {eps = 1.0e-05 : f32}
        : memref<?x96xf32>, memref<96xbf16>, memref<48x96xbf16> into memref<?x48xf32>
    ```
  }];
  let arguments = (ins Arg<F32MemRef, "x [T, D] (before the norm)", [MemRead]>:$x,
                       Arg<Ember_WeightMemRef, "RMSNorm weight [D]", [MemRead]>:$norm_weight,
                       Arg<Ember_QuantizableWeightMemRef, "w [out, D]", [MemRead]>:$weight,
                       Arg<Optional<F32MemRef>, "block scales of an F8E4M3FN w", [MemRead]>:$weight_scale,
                       Arg<F32MemRef, "y [T, out]", [MemRead, MemWrite]>:$out,
                       F32Attr:$eps,
                       DefaultValuedAttr<F32Attr, "1.0">:$scale,
                       UnitAttr:$accumulate,
                       OptionalAttr<DenseI64ArrayAttr>:$weight_block);
  let assemblyFormat = [{
    $x `,` $norm_weight `,` $weight (`scaled` $weight_scale^)? `into` $out attr-dict
    `:` type($x) `,` type($norm_weight) `,` type($weight) (`scaled` type($weight_scale)^)? `into` type($out)
  }];
  let hasVerifier = 1;
}

def Ember_NormSwiGluOp : Ember_Op<"norm_swiglu", [Ember_OwnTraffic, AttrSizedOperandSegments]> {
  let summary = "ember.swiglu on RMSNorm(x), the norm recomputed in the matmuls";
  let description = [{
    `ember.rms_norm %x, %norm_weight` followed by `ember.swiglu` of its output
    in one kernel (ember-fuse-norm): `h[t, f] = silu(n[t] . g[f]) * (n[t] . u[f])`
    with `n` RMSNorm(x) as in `ember.norm_linear`, recomputed where the
    SwiGLU would load it. `x` is `[T, D]`, `norm_weight` `[D]`, the gate and
    up weights `[F, D]` (both may be F8E4M3FN with block scales, as
    `ember.swiglu`'s), `out` `[T, F]` (which must not alias `x`).

    ```mlir
    ember.norm_swiglu %x, %n, %g, %u into %h {eps = 1.0e-05 : f32}
        : memref<?x96xf32>, memref<96xbf16>, memref<192x96xbf16>, memref<192x96xbf16>
          into memref<?x192xf32>
    ```
  }];
  let arguments = (ins Arg<F32MemRef, "x [T, D] (before the norm)", [MemRead]>:$x,
                       Arg<Ember_WeightMemRef, "RMSNorm weight [D]", [MemRead]>:$norm_weight,
                       Arg<Ember_QuantizableWeightMemRef, "gate weight [F, D]", [MemRead]>:$gate_weight,
                       Arg<Ember_QuantizableWeightMemRef, "up weight [F, D]", [MemRead]>:$up_weight,
                       Arg<Optional<F32MemRef>, "block scales of an F8E4M3FN gate weight", [MemRead]>:$gate_scale,
                       Arg<Optional<F32MemRef>, "block scales of an F8E4M3FN up weight", [MemRead]>:$up_scale,
                       Arg<F32MemRef, "h [T, F]", [MemWrite]>:$out,
                       F32Attr:$eps,
                       DefaultValuedAttr<F32Attr, "1.0">:$scale,
                       OptionalAttr<DenseI64ArrayAttr>:$weight_block);
  let assemblyFormat = [{
    $x `,` $norm_weight `,` $gate_weight `,` $up_weight (`scaled` $gate_scale^ `,` $up_scale)? `into` $out attr-dict
    `:` type($x) `,` type($norm_weight) `,` type($gate_weight) `,` type($up_weight)
    (`scaled` type($gate_scale)^ `,` type($up_scale))? `into` type($out)
  }];
  let hasVerifier = 1;
}

def Ember_MoeGroupOp : Ember_Op<"moe_group", [Ember_OwnTrafficKernels]> {
  let summary = "group the assignments by expert: counts, padded order and each one's row";
  let description = [{
    The grouping of `ember.moe_dispatch` with its counts, its inverse and
    groups padded to a tile of `rows_per_tile` = W rows (default 1: no
    padding), written by ember-fuse-moe-combine. With R = `n_routed` and
    `key(a) = min(experts[t, j], R)` for assignment `a = t * k + j`:
    - `counts[g]` is the number of assignments with key g (`[R+1]`; g = R
      counts the zero-expert choices);
    - `order` holds the groups in key order, each group's assignments
      ascending. Real expert g's group starts at row
      `sum_{e<g} roundup(counts[e], W)` and is followed by padding up to a
      multiple of W; the zero-expert group comes last, unpadded. Padding
      and the rows after the last group hold -1, so every tile of W rows
      belongs to one expert and `ember.expert_gate_up` (same W) can reuse
      each weight element across its tile's rows. `order` must hold
      `T*k + min(T*k, R) * (W - 1)` rows (checked where static); nothing is
      written past its end (an assignment whose row falls there still gets
      that row in `rows`);
    - `rows[a]` is the row of `order` that holds assignment a (`[T*k]`),
      so that `ember.expert_down_combine` finds token t's j-th expert
      activations without a `[T*k, D]` buffer indexed by assignment.
    With W = 1 and `T*k` rows, `order` is exactly moe_dispatch's, from the
    same one-kernel counting sort. With W > 1 it takes two kernels, one
    thread per key in each: the counts, then each group's offset (the sum
    of the smaller keys' padded counts), rows and padding.

    ```mlir
    ember.moe_group %experts into %order, %rows, %counts {n_routed = 8 : i64, rows_per_tile = 4 : i64}
        : memref<?x3xi32> into memref<?xi32>, memref<?xi32>, memref<9xi32>
    ```
  }];
  let arguments = (ins Arg<I32MemRef, "chosen experts [T, k]", [MemRead]>:$experts,
                       Arg<I32MemRef, "grouped, padded assignment ids [>= T*k]", [MemWrite]>:$order,
                       Arg<I32MemRef, "row of order holding each assignment [T*k]", [MemWrite]>:$rows,
                       Arg<I32MemRef, "assignments per key [R+1]", [MemRead, MemWrite]>:$counts,
                       I64Attr:$n_routed,
                       DefaultValuedAttr<I64Attr, "1">:$rows_per_tile);
  let assemblyFormat = [{
    $experts `into` $order `,` $rows `,` $counts attr-dict
    `:` type($experts) `into` type($order) `,` type($rows) `,` type($counts)
  }];
  let hasVerifier = 1;
}

def Ember_ExpertDownCombineOp : Ember_Op<"expert_down_combine", [Ember_OwnTraffic]> {
  let summary = "expert down projections summed straight into the residual stream";
  let description = [{
    `ember.expert_down` + `ember.moe_combine` in one kernel
    (ember-fuse-moe-combine):
    `out[t, d] += sum_{j < k} weights[t, j] * y(t, j, d)` with
    `y = e >= R ? x[t, d] : down[e, d, :] . h[rows[t*k + j], :]`
    with `e = experts[t, j]` (read as unsigned) and R = `n_routed`, summed in
    order j = 0..k-1 before the add, as `moe_combine` does. Each thread
    computes its token's expert outputs where `moe_combine` loaded them, so
    the `[T*k, D]` expert outputs never reach memory. `x` and `out` are
    `[T, D]`, `h` by row of `order` (`expert_gate_up`; at least `T*k`
    rows, more when moe_group padded the groups), `down` the stacked
    `[R, D, F]` weights (F8E4M3FN with block scales, as `ember.expert_down`'s,
    or any weight type), `experts`/`weights` `[T, k]`, `rows` `[T*k]` from
    `ember.moe_group`.

    ```mlir
    ember.expert_down_combine %x, %h, %down, %experts, %weights, %rows into %out
        {n_routed = 8 : i64}
        : memref<?x96xf32>, memref<?x32xf32>, memref<8x96x32xbf16>, memref<?x3xi32>,
          memref<?x3xf32>, memref<?xi32> into memref<?x96xf32>
    ```
  }];
  let arguments = (ins Arg<F32MemRef, "MoE inputs [T, D]", [MemRead]>:$x,
                       Arg<F32MemRef, "activations by row of order [>= T*k, F]", [MemRead]>:$h,
                       Arg<Ember_QuantizableWeightMemRef, "down projections [R, D, F]", [MemRead]>:$down,
                       Arg<Optional<F32MemRef>, "block scales of F8E4M3FN down projections", [MemRead]>:$down_scale,
                       Arg<I32MemRef, "chosen experts [T, k]", [MemRead]>:$experts,
                       Arg<F32MemRef, "routing weights [T, k]", [MemRead]>:$weights,
                       Arg<I32MemRef, "sorted row of each assignment [T*k]", [MemRead]>:$rows,
                       Arg<F32MemRef, "residual stream [T, D]", [MemRead, MemWrite]>:$out,
                       I64Attr:$n_routed,
                       OptionalAttr<DenseI64ArrayAttr>:$weight_block);
  let assemblyFormat = [{
    $x `,` $h `,` $down (`scaled` $down_scale^)? `,` $experts `,` $weights `,` $rows `into` $out attr-dict
    `:` type($x) `,` type($h) `,` type($down) (`scaled` type($down_scale)^)? `,` type($experts) `,`
        type($weights) `,` type($rows) `into` type($out)
  }];
  let hasVerifier = 1;
}
