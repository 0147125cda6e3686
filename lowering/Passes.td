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
    in a sequential loop, into a scratch row that an inner `scf.parallel`
    over the outputs reads. Both do the same arithmetic.
  }];
  let options = [
    Option<"boundsCheck", "bounds-check", "::mlir::ember::GatherBoundsCheck",
           /*default=*/"::mlir::ember::GatherBoundsCheck::Clamp",
           "What a table gather does with a row id outside its table",
           [{::llvm::cl::values(
             clEnumValN(::mlir::ember::GatherBoundsCheck::Fatal, "fatal",
                        "assert: abort (CPU) or trap (GPU) with a message"),
             clEnumValN(::mlir::ember::GatherBoundsCheck::Clamp, "clamp",
                        "read the table's last row instead"),
             clEnumValN(::mlir::ember::GatherBoundsCheck::None, "none",
                        "no check: the id indexes the table as is"))}]>,
    Option<"normStatistics", "norm-statistics", "::mlir::ember::NormStatistics",
           /*default=*/"::mlir::ember::NormStatistics::PerThread",
           "Where norm_linear / norm_swiglu normalize their input row",
           [{::llvm::cl::values(
             clEnumValN(::mlir::ember::NormStatistics::PerThread, "per-thread",
                        "in every output thread, per element read (GPU)"),
             clEnumValN(::mlir::ember::NormStatistics::PerToken, "per-token",
                        "once per token into a scratch row the outputs read (CPU)"))}]>
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
                           "::mlir::cf::ControlFlowDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def EmberTileForGpu : Pass<"ember-tile-for-gpu"> {
  let summary = "Tile outermost scf.parallel loops into blocks of threads";
  let description = [{
    Tiles the innermost dimension of every outermost `scf.parallel` by
    `block-size` (other dimensions by 1) without min/max bounds, which is the
    form `gpu-map-parallel-loops` + `convert-parallel-loops-to-gpu` accept:
    the outer loop becomes the grid and the inner loop a thread block.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"128",
           "Threads per block along the innermost parallel dimension">
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::arith::ArithDialect"];
}

def EmberHostAllocToGpu : Pass<"ember-host-alloc-to-gpu", "ModuleOp"> {
  let summary = "Allocate host-side temporaries in device memory";
  let description = [{
    On the nvptx target every memref a host function handles lives in device
    memory: the runtime passes device buffers and kernels read the
    temporaries. Rewrites `memref.alloc`/`memref.dealloc` in the module's
    host functions (top-level `func.func`, not gpu kernels) into synchronous
    `gpu.alloc`/`gpu.dealloc`; `gpu-async-region` later chains them on a
    stream for `gpu-to-llvm`.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def EmberCheckHostMemoryAccess : Pass<"ember-check-host-memory-access", "ModuleOp"> {
  let summary = "Reject host code that would dereference device memory";
  let description = [{
    After kernel outlining and `ember-host-alloc-to-gpu`, host functions may
    only pass memrefs around (views, gpu runtime ops, calls of other host
    functions). Any op there that reads, writes, allocates or frees memref
    memory (a loop left unmapped, a scalar memref.load, memref.copy) would
    make the CPU touch a device pointer; the pass fails naming the op.
  }];
}

def EmberHoistStaticAllocas : Pass<"ember-hoist-static-allocas", "func::FuncOp"> {
  let summary = "Move static-shape memref.alloca out of loops to the function entry (CPU)";
  let description = [{
    Per-iteration scratch (`memref.alloca` in an `scf.parallel` body, like
    the fused router's row of logits) is released with its iteration by the
    loop's allocation scope, but `convert-scf-to-cf` drops that scope: the
    alloca lands inside the lowered loop, where LLVM grows the stack on
    every iteration ((R+Z) x 4 bytes per token for the router: 6 MB for a
    4096-token prefill of the real config). On the CPU the loops run one
    iteration after another, so they can share one scratch: a fresh
    alloca's contents are undefined, so finding the previous iteration's is
    allowed. The pass moves every static-shape alloca inside a loop to the
    start of its function. CPU only: on the GPU the iterations are threads
    running at once, each with its own scratch.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

#endif // EMBER_LOWERING_PASSES_TD
