// RUN: ember-opt %s --ember-lower-to-loops=norm-statistics=per-token --canonicalize --cse | FileCheck %s --check-prefixes=CHECK,TOKENS
// RUN: ember-opt %s --ember-cpu-pipeline="compile-to=loops vector-lanes=0" | FileCheck %s --check-prefixes=CHECK,OUTPUTS
// RUN: ember-opt %s --ember-nvptx-pipeline="compile-to=loops cooperative-kernels=false" | FileCheck %s --check-prefix=GPU

// Per token (the CPU pipeline): a sequential loop over the tokens computes
// each inverse RMS and normalized row into a [T, D] scratch buffer, then one
// [T, out] nest reads it and the buffer is freed. The CPU pipeline makes the
// nest output-major (output-major: the outputs outside the tokens, so a
// weight row is read once for all tokens). The GPU pipeline's loops (for
// ops without a cooperative strategy, here forced) keep one token-major
// [T, out] nest that normalizes per element read (lower-fused-to-loops.mlir);
// warp_per_row is in gpu-strategies.mlir.
// CHECK-LABEL: func @norm_linear
// CHECK: %[[ROWS:[^ ]+]] = memref.alloc(%{{[^)]+}}) : memref<?x8xf32>
// CHECK: scf.for %[[T:[^ ]+]] =
// CHECK:   scf.for
// CHECK:   math.sqrt
// CHECK:   %[[INV:[^ ]+]] = arith.divf
// CHECK:   scf.for %[[I:[^ ]+]] =
// CHECK:     arith.mulf %{{.*}}, %[[INV]]
// CHECK:     memref.store %{{.*}}, %[[ROWS]][%[[T]], %[[I]]]
// TOKENS: scf.parallel (%[[T2:[^ ]+]], %[[O:[^ ]+]]) =
// OUTPUTS: scf.parallel (%[[O:[^ ]+]], %[[T2:[^ ]+]]) =
// CHECK-NOT: math.sqrt
// CHECK-NOT: %[[INV]]
// CHECK:     scf.for %[[J:[^ ]+]] =
// CHECK:       memref.load %[[ROWS]][%[[T2]], %[[J]]]
// CHECK:     memref.store %{{.*}}, %{{.*}}[%[[T2]], %[[O]]]
// CHECK: memref.dealloc %[[ROWS]]
// GPU-LABEL: func @norm_linear
// GPU: scf.parallel (%{{[^ ]+}}, %{{[^ ]+}}) =
// GPU-NOT: scf.parallel
func.func @norm_linear(%x: memref<?x8xf32>, %n: memref<8xbf16>, %w: memref<4x8xbf16>, %y: memref<?x4xf32>) {
  ember.norm_linear %x, %n, %w into %y {eps = 1.0e-5 : f32} : memref<?x8xf32>, memref<8xbf16>, memref<4x8xbf16> into memref<?x4xf32>
  return
}
