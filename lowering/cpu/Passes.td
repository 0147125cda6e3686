//===- Passes.td - ember's CPU-only passes -----------------*- tablegen -*-===//
#ifndef EMBER_LOWERING_CPU_PASSES_TD
#define EMBER_LOWERING_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

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


#endif // EMBER_LOWERING_CPU_PASSES_TD
