//===- EmberFusedOps.td - ops the fusion passes create ------*- tablegen -*-===//
// Included by EmberOps.td. Each op here is what one passes/ fusion turns a
// group of unfused ops into: one kernel instead of several, with the
// intermediate results kept in registers instead of written to memory.

def Ember_SwiGluOp : Ember_Op<"swiglu", [Ember_OwnTraffic]> {
  let summary = "Fused SwiGLU up-projection: h = silu(x Wg^T) * (x Wu^T)";
  let description = [{
    `h[t, f] = silu(sum_i x[t, i] g[f, i]) * sum_i x[t, i] u[f, i]`: the gate
    and up projections and `silu_mul` in one kernel (ember-fuse-swiglu), so
    neither `[T, F]` projection is written to memory and `x` is read once
    per output.

    ```mlir
    ember.swiglu %x, %g, %u into %h
        : memref<?x96xf32>, memref<192x96xbf16>, memref<192x96xbf16> into memref<?x192xf32>
    ```
  }];
  let arguments = (ins Arg<F32MemRef, "x [T, D]", [MemRead]>:$x,
                       Arg<Ember_WeightMemRef, "gate weight [F, D]", [MemRead]>:$gate_weight,
                       Arg<Ember_WeightMemRef, "up weight [F, D]", [MemRead]>:$up_weight,
                       Arg<F32MemRef, "h [T, F]", [MemWrite]>:$out);
  let assemblyFormat = [{
    $x `,` $gate_weight `,` $up_weight `into` $out attr-dict `:` type($x) `,` type($gate_weight) `,`
        type($up_weight) `into` type($out)
  }];
  let hasVerifier = 1;
}
