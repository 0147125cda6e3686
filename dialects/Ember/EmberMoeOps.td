//===- EmberMoeOps.td - ember moe operations ------*- tablegen -*-===//
// Included by EmberOps.td (one generated op list for the dialect).
//
// The MoE block of docs/design.md §3 as five destination-passing ops:
//   router_topk -> moe_dispatch -> expert_gate_up -> expert_down -> moe_combine.
// R = n_routed (real SwiGLU experts), Z = zero (identity) experts, k = top-k,
// T = tokens. An assignment a = t * k + j is token t's j-th choice. Expert
// ids are read as unsigned: every id >= R (so also a negative i32) is a zero
// expert, which keeps the lowered code in bounds whatever the ids hold.
// Each step is its own op so that later fusion passes can rewrite them
// (router + dispatch into one kernel, gate/up + down into a grouped GEMM,
// combine into the residual add).

#ifndef EMBER_MOE_OPS_TD
#define EMBER_MOE_OPS_TD

def Ember_RouterTopkOp : Ember_Op<"router_topk", [Ember_OwnTraffic]> {
  let summary = "softmax router with bias-corrected top-k selection";
  let description = [{
    Per token t, with `p = softmax(logits[t])` (max-subtracted, in f32), picks
    the k experts with the largest `p[e] + bias[e]` in descending score order,
    ties broken by the lower index: `experts[t, j] = e_j` and
    `weights[t, j] = p[e_j] * scaling`. The bias
    (`e_score_correction_bias`) only selects; weights are not renormalised.
    `logits` is `[T, R+Z]` (the router matmul's output), `bias` is `[R+Z]`,
    `experts`/`weights` are `[T, k]`. `n_routed` = R tells real experts
    (index < R) from zero experts. Kept apart from the router matmul and from
    dispatch so that a fusion pass can build the fused softmax/top-k/scale
    kernel of the paper.

    ```mlir
    ember.router_topk %logits, %bias into %experts, %weights
        {n_routed = 8 : i64, scaling = 6.000000e+00 : f32}
        : memref<?x12xf32>, memref<12xf32> into memref<?x3xi32>, memref<?x3xf32>
    ```
  }];
  let arguments = (ins Arg<F32MemRef, "router logits [T, R+Z]", [MemRead]>:$logits,
                       Arg<F32MemRef, "score correction bias [R+Z]", [MemRead]>:$bias,
                       Arg<I32MemRef, "chosen experts [T, k]", [MemWrite]>:$experts,
                       Arg<F32MemRef, "routing weights [T, k]", [MemWrite]>:$weights,
                       I64Attr:$n_routed, F32Attr:$scaling);
  let assemblyFormat = [{
    $logits `,` $bias `into` $experts `,` $weights attr-dict
    `:` type($logits) `,` type($bias) `into` type($experts) `,` type($weights)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Ember_MoeDispatchOp : Ember_Op<"moe_dispatch", [Ember_DefaultTraffic]> {
  let summary = "group the token/expert assignments by expert";
  let description = [{
    Writes the T*k assignment ids `a = t * k + j` sorted stably by
    `key(a) = min(experts[t, j], R)`: the rows of each real expert become
    contiguous in ascending expert order, and all zero-expert assignments
    come last (they need no kernel). `order[p]` is the assignment of sorted
    row p; `expert_gate_up` and `expert_down` walk rows in this order.
    `experts` is `[T, k]`, `order` is `[T*k]`. Lowered to a counting sort
    with one thread per key (R + 1 of them, O(R T k) work in one kernel);
    `ember.moe_group` (ember-fuse-moe-combine) is the same sort that also
    writes the inverse permutation.

    ```mlir
    ember.moe_dispatch %experts into %order {n_routed = 8 : i64}
        : memref<?x3xi32> into memref<?xi32>
    ```
  }];
  let arguments = (ins Arg<I32MemRef, "chosen experts [T, k]", [MemRead]>:$experts,
                       Arg<I32MemRef, "sorted assignment ids [T*k]", [MemWrite]>:$order,
                       I64Attr:$n_routed);
  let assemblyFormat = [{
    $experts `into` $order attr-dict `:` type($experts) `into` type($order)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Ember_ExpertGateUpOp : Ember_Op<"expert_gate_up", [Ember_OwnTraffic, AttrSizedOperandSegments]> {
  let summary = "gate and up projections of the routed experts, SwiGLU-activated";
  let description = [{
    For each row p of `order` with `a = order[p]`, `t = a / k`, `j = a % k`,
    `e = experts[t, j]`: if a is an assignment (a < T*k, read as unsigned)
    of a real expert (e < R) that is also the expert of the first row of
    p's tile (the `rows_per_tile` = W rows from `W * (p / W)`),
    `h[p, f] = silu(gate[e, f, :] . x[t, :]) * (up[e, f, :] . x[t, :])`
    with `silu(z) = z / (1 + exp(-z))`. Other rows (zero experts, the -1
    padding of `ember.moe_group`) are left untouched. `x` is `[T, D]`,
    `gate`/`up` are the stacked HF weights `[R, F, D]` (R is their dim 0;
    f32, bf16 or f16, widened to f32; or F8E4M3FN with block scales
    `[R, ceil(F / R'), ceil(D / C')]` for `weight_block` = [R', C'], as
    `ember.linear`'s), `experts` is `[T, k]`, `order` has
    at least T*k rows (`ember.moe_dispatch`'s `[T*k]`, or moe_group's padded
    groups) and `h` is `[rows of order, F]`. With W > 1 one thread computes
    a whole tile of one hidden unit (the GPU kernel reads each weight element
    once for its W rows; the loops compute them one by one, so a row's value
    never depends on the other rows of its tile).
    Separate from `ember.expert_down` so that a fusion pass can turn the
    pair into grouped GEMMs over the sorted rows.

    ```mlir
    ember.expert_gate_up %x, %gate, %up, %experts, %order into %h
        : memref<?x96xf32>, memref<8x32x96xbf16>, memref<8x32x96xbf16>,
          memref<?x3xi32>, memref<?xi32> into memref<?x32xf32>
    ```
  }];
  let arguments = (ins Arg<F32MemRef, "expert inputs [T, D]", [MemRead]>:$x,
                       Arg<Ember_QuantizableWeightMemRef, "gate projections [R, F, D]", [MemRead]>:$gate,
                       Arg<Ember_QuantizableWeightMemRef, "up projections [R, F, D]", [MemRead]>:$up,
                       Arg<Optional<F32MemRef>, "block scales of F8E4M3FN gate projections", [MemRead]>:$gate_scale,
                       Arg<Optional<F32MemRef>, "block scales of F8E4M3FN up projections", [MemRead]>:$up_scale,
                       Arg<I32MemRef, "chosen experts [T, k]", [MemRead]>:$experts,
                       Arg<I32MemRef, "grouped assignment ids [>= T*k]", [MemRead]>:$order,
                       Arg<F32MemRef, "activations by row of order [>= T*k, F]", [MemWrite]>:$h,
                       DefaultValuedAttr<I64Attr, "1">:$rows_per_tile,
                       OptionalAttr<DenseI64ArrayAttr>:$weight_block);
  let assemblyFormat = [{
    $x `,` $gate `,` $up (`scaled` $gate_scale^ `,` $up_scale)? `,` $experts `,` $order `into` $h attr-dict
    `:` type($x) `,` type($gate) `,` type($up) (`scaled` type($gate_scale)^ `,` type($up_scale))? `,`
        type($experts) `,` type($order) `into` type($h)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Ember_ExpertDownOp : Ember_Op<"expert_down", [Ember_OwnTraffic]> {
  let summary = "down projection of the routed experts, scattered by assignment";
  let description = [{
    For each sorted row p with `a = order[p]` and a real expert
    `e = experts[a / k, a % k] < R`: `y[a, d] = down[e, d, :] . h[p, :]`.
    The output is indexed by assignment a (not by sorted row), so that
    `ember.moe_combine` reads token t's j-th expert output at row `t * k + j`.
    Zero-expert rows of `y` are left untouched. `h` is `[T*k, F]`, `down` the
    stacked HF weights `[R, D, F]` (f32, bf16 or f16, or F8E4M3FN with block
    scales as `ember.expert_gate_up`'s), `experts` `[T, k]`,
    `order` `[T*k]`, `y` `[T*k, D]`.

    ```mlir
    ember.expert_down %h, %down, %experts, %order into %y
        : memref<?x32xf32>, memref<8x96x32xbf16>, memref<?x3xi32>, memref<?xi32>
          into memref<?x96xf32>
    ```
  }];
  let arguments = (ins Arg<F32MemRef, "activations by sorted row [T*k, F]", [MemRead]>:$h,
                       Arg<Ember_QuantizableWeightMemRef, "down projections [R, D, F]", [MemRead]>:$down,
                       Arg<Optional<F32MemRef>, "block scales of F8E4M3FN down projections", [MemRead]>:$down_scale,
                       Arg<I32MemRef, "chosen experts [T, k]", [MemRead]>:$experts,
                       Arg<I32MemRef, "sorted assignment ids [T*k]", [MemRead]>:$order,
                       Arg<F32MemRef, "expert outputs by assignment [T*k, D]", [MemWrite]>:$y,
                       OptionalAttr<DenseI64ArrayAttr>:$weight_block);
  let assemblyFormat = [{
    $h `,` $down (`scaled` $down_scale^)? `,` $experts `,` $order `into` $y attr-dict
    `:` type($h) `,` type($down) (`scaled` type($down_scale)^)? `,` type($experts) `,` type($order) `into` type($y)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Ember_MoeCombineOp : Ember_Op<"moe_combine", [Ember_DefaultTraffic]> {
  let summary = "add the weighted expert outputs to the residual stream";
  let description = [{
    Accumulates
    `out[t, d] += sum_{j < k} weights[t, j] * (experts[t, j] >= R ? x[t, d] : y[t*k + j, d])`,
    summing j in order 0..k-1 before adding to `out[t, d]`. Zero experts
    (index >= R = `n_routed`) are the identity: they read the MoE input `x`
    and get no kernel of their own. `x` and `out` are `[T, D]`, `y` is
    `[T*k, D]` from `ember.expert_down`, `experts`/`weights` are `[T, k]`.
    Writing into the residual stream directly lets a fusion pass merge it
    with the neighbouring residual adds.

    ```mlir
    ember.moe_combine %x, %y, %experts, %weights into %out {n_routed = 8 : i64}
        : memref<?x96xf32>, memref<?x96xf32>, memref<?x3xi32>, memref<?x3xf32>
          into memref<?x96xf32>
    ```
  }];
  let arguments = (ins Arg<F32MemRef, "MoE inputs [T, D]", [MemRead]>:$x,
                       Arg<F32MemRef, "expert outputs by assignment [T*k, D]", [MemRead]>:$y,
                       Arg<I32MemRef, "chosen experts [T, k]", [MemRead]>:$experts,
                       Arg<F32MemRef, "routing weights [T, k]", [MemRead]>:$weights,
                       Arg<F32MemRef, "residual stream [T, D]", [MemRead, MemWrite]>:$out,
                       I64Attr:$n_routed);
  let assemblyFormat = [{
    $x `,` $y `,` $experts `,` $weights `into` $out attr-dict
    `:` type($x) `,` type($y) `,` type($experts) `,` type($weights) `into` type($out)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
}

#endif // EMBER_MOE_OPS_TD
