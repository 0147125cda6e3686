//===- EmberDenseOps.td - ember dense operations ------------*- tablegen -*-===//
// Included by EmberOps.td (one generated op list for the dialect).
//
// Token-parallel building blocks of the decoder: weight matmuls, RMSNorm and
// the SwiGLU gate. Activations are f32; weights may be stored narrower.

def Ember_LinearOp : Ember_Op<"linear", [Ember_OwnTraffic]> {
  let summary = "y = x W^T (HF Linear layout), optionally accumulated into y";
  let description = [{
    `y[t, o] (+)= sum_i x[t, i] * f32(w[o, i])` with `w` in the `[out, in]`
    layout of HF checkpoints. With `accumulate` the product is added to `y`
    (the residual stream), so residual adds need no op of their own. Its own op
    rather than linalg so the fusion passes can match weight reads by role.

    An F8E4M3FN `w` comes with its block scales: `f32(w[o, i])` is then
    `e4m3(w[o, i]) * weight_scale[o / R][i / C]` for `weight_block = [R, C]`.

    ```mlir
    ember.linear %x, %w into %y {accumulate}
        : memref<?x96xf32>, memref<48x96xbf16> into memref<?x48xf32>
    ember.linear %x, %w scaled %s into %y {weight_block = array<i64: 32, 64>}
        : memref<?x96xf32>, memref<48x96xf8E4M3FN> scaled memref<2x2xf32> into memref<?x48xf32>
    ```
  }];
  let arguments = (ins Arg<F32MemRef, "x [T, in]", [MemRead]>:$x,
                       Arg<Ember_QuantizableWeightMemRef, "w [out, in]", [MemRead]>:$weight,
                       Arg<Optional<F32MemRef>, "block scales of an F8E4M3FN w", [MemRead]>:$weight_scale,
                       Arg<F32MemRef, "y [T, out]", [MemRead, MemWrite]>:$out,
                       UnitAttr:$accumulate,
                       OptionalAttr<DenseI64ArrayAttr>:$weight_block);
  let assemblyFormat = [{
    $x `,` $weight (`scaled` $weight_scale^)? `into` $out attr-dict
    `:` type($x) `,` type($weight) (`scaled` type($weight_scale)^)? `into` type($out)
  }];
  let hasVerifier = 1;
}

def Ember_RmsNormOp : Ember_Op<"rms_norm", [Ember_OwnTraffic]> {
  let summary = "RMSNorm with f32 statistics, times an optional constant";
  let description = [{
    `y[t, d] = x[t, d] * rsqrt(mean_d(x[t]^2) + eps) * f32(w[d]) * scale`.
    `scale` carries MLA's LoRA scaling (sqrt(D / rank)), which HF applies right
    after the latent norms. `y` may alias `x`.

    ```mlir
    ember.rms_norm %x, %w into %y {eps = 1.0e-06 : f32, scale = 1.5 : f32}
        : memref<?x32xf32>, memref<32xbf16> into memref<?x32xf32>
    ```
  }];
  let arguments = (ins Arg<F32MemRef, "x [T, D]", [MemRead]>:$x,
                       Arg<Ember_WeightMemRef, "w [D]", [MemRead]>:$weight,
                       Arg<F32MemRef, "y [T, D]", [MemWrite]>:$out,
                       F32Attr:$eps,
                       DefaultValuedAttr<F32Attr, "1.0">:$scale);
  let assemblyFormat = [{
    $x `,` $weight `into` $out attr-dict `:` type($x) `,` type($weight) `into` type($out)
  }];
  let hasVerifier = 1;
}

def Ember_SiluMulOp : Ember_Op<"silu_mul", [Ember_DefaultTraffic]> {
  let summary = "SwiGLU gate: h = silu(g) * u";
  let description = [{
    `h = g / (1 + exp(-g)) * u` elementwise on `[T, F]`; `h` may alias `g`.

    ```mlir
    ember.silu_mul %g, %u into %h : memref<?x192xf32>, memref<?x192xf32> into memref<?x192xf32>
    ```
  }];
  let arguments = (ins Arg<F32MemRef, "gate [T, F]", [MemRead]>:$gate,
                       Arg<F32MemRef, "up [T, F]", [MemRead]>:$up,
                       Arg<F32MemRef, "h [T, F]", [MemWrite]>:$out);
  let assemblyFormat = [{
    $gate `,` $up `into` $out attr-dict `:` type($gate) `,` type($up) `into` type($out)
  }];
  let hasVerifier = 1;
}
