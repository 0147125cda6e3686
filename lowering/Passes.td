//===- Passes.td - ember lowering passes -------------------*- tablegen -*-===//
#ifndef EMBER_LOWERING_PASSES_TD
#define EMBER_LOWERING_PASSES_TD

include "mlir/Pass/PassBase.td"

def EmberLowerToLoops : Pass<"ember-lower-to-loops"> {
  let summary = "Lower ember ops to scf.parallel loop nests on memrefs";
  let description = [{
    The one loop IR that feeds both targets: each ember op becomes one
    `scf.parallel` nest whose body does a single output element (or a row
    segment), so the CPU pipeline runs it sequentially and the GPU pipeline
    maps it to blocks and threads. Small static extents (tables, n-gram
    order) are unrolled; hash constants V^j mod M_i are folded in.

    `bounds-check` says what a table gather does with a row id outside its
    table: every row read of `ember.multi_table_gather` (the word embedding,
    indexed by token ids from the caller, and the n-gram tables) and the
    word-embedding read of the fused `ember.ngram_embed` (its hashed ids are
    in range by construction). Ids are read as unsigned, so a negative id is
    out of range too. `clamp` (the default) reads the table's last row
    instead: one unsigned min per row, no branch, so an artifact called with
    bad ids never reads outside its weights. `fatal` asserts with
    `cf.assert` (CPU: `puts` of the message, then abort; GPU:
    `__assertfail`, which prints it and traps, leaving the CUDA context
    unusable). `none` indexes unchecked. The runtime rejects out-of-range
    token ids before every call, so in ember the check never fires.

    `norm-statistics` says where `ember.norm_linear` and `ember.norm_swiglu`
    normalize their input row: `per-thread` (the default, what the GPU
    pipeline uses) in every output element's iteration of one `[T, N]`
    nest, per element read, or `per-token` (the CPU pipeline) once per token
    in a sequential loop, into a `[T, D]` scratch buffer that the `[T, N]`
    nest reads. Both do the same arithmetic.

    `output-major` (the CPU pipeline) puts the output units outside the
    tokens in the nests of `linear`, `swiglu`, `norm_linear` and
    `norm_swiglu`: a batched step then reads each weight row once for all
    its rows while the row is in cache, instead of once per row. Each
    output element is the same computation in either order.

    `vector-lanes` (the CPU pipeline: 16 on hosts with AVX-512, 8 with
    AVX2, else 4) lowers those four ops, where their rows are contiguous,
    to explicit SIMD (`lowering/RowTiledDots.h`): for each output unit, the
    rows go in tiles (8 rows for one weight matrix, 4 for swiglu's two) that
    share every loaded and widened weight vector, so a batched step widens
    and loads each weight element once per tile. Each row's sum is the same
    operations in the same order in any tile, so a row's result does not
    depend on the rest of its batch. The same SIMD dots, one input row at a
    time, serve the routed experts (`expert_gate_up`, `expert_down`,
    `expert_down_combine`), `mla_up_v` and the logits of `fused_router`;
    `mla_absorb` adds `q[n]` times kv_b's contiguous row segments instead
    of reading kv_b down its columns.
  }];
  let options = [
    Option<"boundsCheck", "bounds-check", "::mlir::ember::GatherBoundsCheck",
           /*default=*/"::mlir::ember::GatherBoundsCheck::Clamp",
           "What a table gather does with a row id outside its table",
           [{::mlir::ember::gatherBoundsCheckValues()}]>,
    Option<"normStatistics", "norm-statistics", "::mlir::ember::NormStatistics",
           /*default=*/"::mlir::ember::NormStatistics::PerThread",
           "Where norm_linear / norm_swiglu normalize their input row",
           [{::llvm::cl::values(
             clEnumValN(::mlir::ember::NormStatistics::PerThread, "per-thread",
                        "in every output thread, per element read (GPU)"),
             clEnumValN(::mlir::ember::NormStatistics::PerToken, "per-token",
                        "once per token into a scratch row the outputs read (CPU)"))}]>,
    Option<"outputMajor", "output-major", "bool", /*default=*/"false",
           "Put the output units outside the tokens in the nests of linear, "
           "swiglu, norm_linear and norm_swiglu, so each weight row is read "
           "once per call for all tokens while it is in cache (CPU)">,
    Option<"vectorLanes", "vector-lanes", "int64_t", /*default=*/"0",
           "> 0 (CPU): the matmul-class ops (linear, swiglu, norm_*, the "
           "experts, mla_absorb, mla_up_v, the router's logits) as vector "
           "dot products of this many f32 lanes (lowering/RowTiledDots.h), "
           "where their rows are contiguous">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
                           "::mlir::cf::ControlFlowDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def EmberInsertFiniteChecks : Pass<"ember-insert-finite-checks", "::mlir::ModuleOp"> {
  let summary = "Check every f32 output of every ember op for NaN and Inf at run time (diagnostics)";
  let description = [{
    The diagnostic build ember-run re-runs a step with when its logits are
    not finite. After every kernel op (ember ops and memref.copy) each f32
    memref it writes is handed to the runtime hook
    `ember_check_finite(memref<*xf32>, memref<?xi8> label)`, which records
    the first output holding NaN or Inf. The label names the op as kernels
    are named, `ember.<op> #<index> of @<function>` (the index the traffic
    model and the kernel manifest use). Around every call of a function with
    checks, `ember_enter_scope(label)` / `ember_leave_scope()` tell the hook
    where it is: the call's `ember.scope` attribute (the graph builder sets
    `model.layers.<n>`), else `@<callee>`. The hooks read device memory
    themselves (they synchronize the stream and copy), so their declarations
    carry `ember.reads_device_memory`, which ember-check-host-memory-access
    accepts. Run before the ops are lowered; it changes no op.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect", "::mlir::memref::MemRefDialect"];
}

#endif // EMBER_LOWERING_PASSES_TD
