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

#endif // EMBER_PASSES_TD
