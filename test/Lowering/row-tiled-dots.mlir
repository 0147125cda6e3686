// RUN: ember-opt %s --ember-lower-to-loops="output-major=true vector-lanes=4" --canonicalize --cse | FileCheck %s
// RUN: ember-opt %s --ember-cpu-pipeline="vector-lanes=8" | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVMIR

// vector-lanes (the CPU pipeline: the host's SIMD width) makes linear,
// swiglu, norm_linear and norm_swiglu explicit SIMD dot products: for each
// output unit, rows in tiles of 8 (4 with swiglu's two matrices) that share
// each loaded, widened weight vector, then the rows left over one by one.
// A row's sum is the same operations in either loop: lanes-wide FMAs in k
// order, the K % lanes tail in order (here K = 10: 2 elements), then the
// lanes added in order to the tail's sum. batched_e2e.py checks that a
// batch then gives each row the bits it gets alone.
// CHECK-LABEL: func @linear
// CHECK-SAME: (%[[X:[^:]+]]: memref<?x10xf32>, %[[W:[^:]+]]: memref<4x10xbf16>, %[[Y:[^:]+]]: memref<?x4xf32>)
// CHECK: scf.parallel (%[[O:[^ ]+]]) =
// CHECK:   scf.for %[[T0:[^ ]+]] = %{{[^ ]+}} to %{{[^ ]+}} step %[[C8:[^ ]+]] {
// CHECK:     %[[ACC:[^:]+]]:8 = scf.for %[[K:[^ ]+]] = %{{[^ ]+}} to %{{[^ ]+}} step %[[C4:[^ ]+]] iter_args(
// CHECK-SAME:  -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>)
// One load and widening of the weight vector serves the eight rows.
// CHECK:       %[[WV:[^ ]+]] = vector.load %[[W]][%[[O]], %[[K]]] : memref<4x10xbf16>, vector<4xbf16>
// CHECK:       %[[WF:[^ ]+]] = arith.extf %[[WV]] : vector<4xbf16> to vector<4xf32>
// CHECK-NOT:   vector.load %[[W]]
// CHECK-COUNT-8: vector.fma %{{[^,]+}}, %[[WF]], %{{[^ ]+}} : vector<4xf32>
// CHECK:       scf.yield
// The tail: scalar, in k order, no fast-math flags.
// CHECK:     %[[TAIL:[^:]+]]:8 = scf.for
// CHECK-NOT:   fastmath
// CHECK:       arith.mulf
// CHECK:       arith.addf
// CHECK:     vector.reduction <add>, %[[ACC]]#0, %[[TAIL]]#0 : vector<4xf32> into f32
// CHECK:     memref.store %{{[^ ]+}}, %[[Y]][%[[T0]], %[[O]]]
// CHECK-COUNT-7: vector.reduction <add>
// The rows after the last whole tile, each with one accumulator.
// CHECK:   scf.for %[[T:[^ ]+]] = %{{[^ ]+}} to %{{[^ ]+}} step %{{[^ ]+}} {
// CHECK:     scf.for %{{[^ ]+}} = %{{[^ ]+}} to %{{[^ ]+}} step %[[C4]] iter_args(%{{[^ ]+}} = %{{[^ ]+}}) -> (vector<4xf32>)
// CHECK:     vector.reduction <add>
// CHECK:     memref.store %{{[^ ]+}}, %[[Y]][%[[T]], %[[O]]]
// LLVMIR-LABEL: define void @linear
// LLVMIR: call <8 x float> @llvm.fmuladd.v8f32
// LLVMIR: call float @llvm.vector.reduce.fadd.v8f32
func.func @linear(%x: memref<?x10xf32>, %w: memref<4x10xbf16>, %y: memref<?x4xf32>) {
  ember.linear %x, %w into %y : memref<?x10xf32>, memref<4x10xbf16> into memref<?x4xf32>
  return
}

// swiglu's two matrices: tiles of 4 rows, 8 accumulators, both weight
// vectors loaded once per step.
// CHECK-LABEL: func @swiglu
// CHECK: scf.for %{{[^ ]+}} = %{{[^ ]+}} to %{{[^ ]+}} step %[[C4S:[^ ]+]] {
// CHECK:   scf.for %{{.*}} -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>)
// CHECK-COUNT-2: vector.load %{{[^ ]+}}[%{{[^ ]+}}, %{{[^ ]+}}] : memref<6x8xbf16>, vector<4xbf16>
// CHECK-COUNT-8: vector.fma
// CHECK: math.exp
func.func @swiglu(%x: memref<?x8xf32>, %g: memref<6x8xbf16>, %u: memref<6x8xbf16>, %h: memref<?x6xf32>) {
  ember.swiglu %x, %g, %u into %h : memref<?x8xf32>, memref<6x8xbf16>, memref<6x8xbf16> into memref<?x6xf32>
  return
}

// A weight whose rows are not contiguous keeps the scalar loops, which
// LLVM's vectorizer may take.
// CHECK-LABEL: func @strided_weight
// CHECK-NOT: vector.fma
// CHECK: scf.parallel (%{{[^ ]+}}, %{{[^ ]+}}) =
// CHECK: memref.load
func.func @strided_weight(%x: memref<?x8xf32>, %w: memref<4x8xbf16, strided<[16, 2]>>, %y: memref<?x4xf32>) {
  ember.linear %x, %w into %y : memref<?x8xf32>, memref<4x8xbf16, strided<[16, 2]>> into memref<?x4xf32>
  return
}
