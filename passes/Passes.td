//===- Passes.td - ember -> ember fusion passes -------------*- tablegen -*-===//
//
// One pass per fusion (one .cpp each). The fusion pipeline
// (FusionPipeline.cpp) runs the enabled ones between the ember and loops
// phases; `ember-compile --disable-fusion=NAME,...` switches them off.
//
//===----------------------------------------------------------------------===//
#ifndef EMBER_PASSES_TD
#define EMBER_PASSES_TD

include "mlir/Pass/PassBase.td"

def EmberFuseSwiGlu : Pass<"ember-fuse-swiglu", "func::FuncOp"> {
  let summary = "Fuse the gate and up projections and silu_mul into ember.swiglu";
  let description = [{
    Rewrites the SwiGLU up-projection of a dense MLP,

    ```mlir
    ember.linear %x, %wg into %gate
    ember.linear %x, %wu into %up
    ember.silu_mul %gate, %up into %h
    ```

    (the two linears in either order, directly before the silu_mul, neither
    accumulating) into `ember.swiglu %x, %wg, %wu into %h`: one kernel whose
    threads compute both dot products and the gate, so the two `[T, F]`
    projections never reach memory. A projection buffer left with no use but
    its allocation and deallocation is removed.
  }];
  let statistics = [
    Statistic<"numFused", "fused-swiglus", "SwiGLU groups fused into ember.swiglu">,
    Statistic<"numBuffersRemoved", "removed-buffers", "Projection buffers no longer needed">
  ];
  let dependentDialects = ["::mlir::ember::EmberDialect"];
}

def EmberFuseNgram : Pass<"ember-fuse-ngram", "func::FuncOp"> {
  let summary = "Fuse the n-gram embedding (ids, gathers, combine) into ember.ngram_embed";
  let description = [{
    Rewrites the n-gram embedding that models/NgramGraph.cpp builds,

    ```mlir
    ember.ngram_ids %table[%slot, %pos] into %ids {config = ...}
    ember.multi_table_gather %tables[%ids] into %rows {row_offsets = ..., ngram = ...}
    ember.multi_table_gather %embed[%column] into %word {row_offsets = array<i64: 0>}
    ember.ngram_combine %word2d, %rows, %proj into %out
    ```

    (`%column` the transposed `[1, T]` view of `%table[%slot, %pos..]`,
    `%word2d` `%word` collapsed to `[T, D]`) into
    `ember.ngram_embed %table[%slot, %pos], %embed, %tables, %proj into %out`:
    one kernel whose threads hash their token and read the table rows
    themselves, so neither the ids nor the `[T, E, W]` and `[T, 1, D]` rows
    reach memory. The rows and word buffers must be scratch (used by nothing
    else) and no op between the ids and the combine may write memory. When
    the ids have another reader (ember_ngram_embed returns them), the
    `ngram_ids` op stays; otherwise it and its buffer are removed too.
  }];
  let statistics = [
    Statistic<"numFused", "fused-ngram-embeddings", "N-gram embeddings fused into ember.ngram_embed">,
    Statistic<"numIdsKept", "kept-ids", "Fusions that kept ngram_ids for another reader of the ids">,
    Statistic<"numBuffersRemoved", "removed-buffers", "Ids, row and word buffers no longer needed">
  ];
  let dependentDialects = ["::mlir::ember::EmberDialect"];
}

def EmberFuseRouter : Pass<"ember-fuse-router", "func::FuncOp"> {
  let summary = "Fuse the router matmul and router_topk into ember.fused_router";
  let description = [{
    Rewrites the MoE router,

    ```mlir
    ember.linear %u, %classifier into %logits
    ember.router_topk %logits, %bias into %experts, %weights {n_routed, scaling}
    ```

    (the linear not accumulating, with only allocations or side-effect-free
    ops between the two, `%logits` allocated by `memref.alloc` and used by
    nothing but these two ops and its deallocation) into
    `ember.fused_router %u, %classifier, %bias into %experts, %weights`: one
    kernel, one thread per token, that computes the logits, the softmax and
    the biased top-k without writing the `[T, R+Z]` logits to memory. The
    logits buffer is removed.
  }];
  let statistics = [
    Statistic<"numFused", "fused-routers", "Routers fused into ember.fused_router">
  ];
  let dependentDialects = ["::mlir::ember::EmberDialect"];
}

def EmberFuseNorm : Pass<"ember-fuse-norm", "func::FuncOp"> {
  let summary = "Fuse rms_norm into the linears and swiglus that read its output";
  let description = [{
    Rewrites an RMSNorm whose output only matmuls read,

    ```mlir
    ember.rms_norm %x, %g into %n {eps, scale}
    ember.linear %n, %wq into %q          // or ember.swiglu %n, %wg, %wu into %h
    ember.linear %n, %wkv into %kv
    ```

    into `ember.norm_linear %x, %g, %wq into %q` (`ember.norm_swiglu` for a
    swiglu) for every reader, and removes the norm: each matmul recomputes
    the normalized input where it would load it, so the `[T, D]` output
    never reaches memory and the norm needs no kernel. With the residual add
    already in the epilogue of the accumulating linear / moe_combine that
    wrote `%x`, residual add, RMSNorm and the next matmul run in two kernels
    instead of three. The norm may work in place (`%n` = `%x`).

    Conditions: `%n` is a `memref.alloc` of the same block with no view
    taken of it; its readers between the norm and the next `rms_norm` that
    overwrites it (or the end of the block) are all linears / swiglus that
    take it as input and do not write it; nothing from the norm to the last
    reader writes or frees `%x` or `%g` or a view of them (buffers with
    other roots do not alias: docs/passes.md, "Alias policy"), and no op
    with unknown writes comes in between. A norm with any other reader
    (moe_combine, expert_gate_up, a returned buffer, a KV-cache view) stays
    as it is. Run it after ember-fuse-swiglu so that the dense MLPs'
    gate and up projections are one consumer.
  }];
  let statistics = [
    Statistic<"numFused", "fused-norms", "RMSNorms folded into their readers">,
    Statistic<"numConsumers", "norm-consumers", "Linears and swiglus that recompute a norm">,
    Statistic<"numBuffersRemoved", "removed-buffers", "Norm outputs no longer needed">
  ];
  let dependentDialects = ["::mlir::ember::EmberDialect"];
}

def EmberFuseMoeCombine : Pass<"ember-fuse-moe-combine", "func::FuncOp"> {
  let summary = "Group the MoE rows by expert in padded tiles; fuse expert_down into moe_combine";
  let description = [{
    Rewrites the MoE block that models/BodyBuilder.cpp and DecoderGraph.cpp
    build,

    ```mlir
    ember.moe_dispatch %experts into %order {n_routed}
    ember.expert_gate_up %u, %gate, %up, %experts, %order into %h
    ember.expert_down %h, %down, %experts, %order into %y
    ...                                     // the rest of the layer
    ember.moe_combine %u, %y, %experts, %weights into %r {n_routed}
    ```

    into

    ```mlir
    ember.moe_group %experts into %order2, %rows, %counts {n_routed, rows_per_tile = W}
    ember.expert_gate_up %u, %gate, %up, %experts, %order2 into %h2 {rows_per_tile = W}
    ...
    ember.expert_down_combine %u, %h2, %down, %experts, %weights, %rows into %r {n_routed}
    ```

    `moe_group` is the same counting sort that also counts each expert's
    rows (`%counts`, `[R+1]`), pads each expert's group to a multiple of
    W = `rows-per-tile` rows and writes each assignment's row (`%rows`,
    `[T*k]`), so that every tile of W rows of `%h2` belongs to one expert
    and `expert_gate_up` reads each weight element once per tile. With
    W > 1, `%order2` and `%h2` are new buffers of
    `T*k + min(T*k, R) * (W - 1)` rows that replace `%order` and `%h`
    (W = 1 keeps them). `expert_down_combine` computes the down projections
    where `moe_combine` read them, so the `[T*k, D]` expert outputs `%y`
    (then removed) are never written or read, and one kernel goes. The new
    buffers are allocated at the dispatch and freed after the combine.
    Requires: the four ops in one block in this order, agreeing on
    `%experts`, `%order` and `%h` and on n_routed (= gate and down dim 0);
    `%order`, `%h` and `%y` allocations that only these ops use; no op
    between the dispatch and the down projection writing `%experts` or
    `%order`, nor any between the down projection and the combine writing
    `%experts`, `%h` or `%down` (views count as their buffer; an op with an
    unknown write stops the fusion).
  }];
  let options = [
    Option<"rowsPerTile", "rows-per-tile", "int64_t", /*default=*/"4",
           "Rows of one expert that one expert_gate_up thread computes together "
           "(each group is padded to a multiple of it; 1: no padding)">
  ];
  let statistics = [
    Statistic<"numFused", "fused-moe-combines", "expert_down + moe_combine pairs fused">
  ];
  let dependentDialects = ["::mlir::ember::EmberDialect", "::mlir::arith::ArithDialect"];
}

#endif // EMBER_PASSES_TD
