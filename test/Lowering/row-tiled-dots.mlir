// RUN: ember-opt %s --ember-lower-to-loops="output-major=true vector-lanes=4" --canonicalize --cse | FileCheck %s
// RUN: ember-opt %s --ember-cpu-pipeline="vector-lanes=8" | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVMIR

// vector-lanes (the CPU pipeline: the host's SIMD width) makes linear,
// swiglu, norm_linear and norm_swiglu explicit SIMD dot products: for each
// output unit, rows in tiles of 8 (4 with swiglu's two matrices) that share
// each loaded, widened weight vector, then the rows left over one by one.
// A row's sum is the same operations in either loop: lanes-wide FMAs in k
// order, the K % lanes tail in order (here K = 10: 2 elements), then the
// lanes added in order to the tail's sum. batched_e2e.py checks that a
// batch then gives each row the bits it gets alone. The routed experts,
// mla_absorb, mla_up_v and the router's logits get SIMD dots too, one input
// row at a time (below).
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
// CHECK-COUNT-7: vector.reduction <add>
// CHECK:     memref.store %{{[^ ]+}}, %[[Y]][%[[T0]], %[[O]]]
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

// The same dots one input row at a time: each computed row of a routed
// expert's gate/up tile is a SIMD dot of its token's row with the expert's
// gate and up rows, both widened once per step.
// CHECK-LABEL: func @expert_gate_up
// CHECK-SAME: (%[[X:[^:]+]]: memref<?x96xf32>, %[[G:[^:]+]]: memref<8x32x96xbf16>, %[[U:[^:]+]]: memref<8x32x96xf16>
// CHECK: scf.parallel (%{{[^,]+}}, %[[F:[^ ]+]]) =
// CHECK: scf.if
// CHECK: scf.for %[[K:[^ ]+]] = %{{[^ ]+}} to %{{[^ ]+}} step %{{[^ ]+}} iter_args({{.*}}) -> (vector<4xf32>, vector<4xf32>)
// CHECK:   vector.load %[[G]][%[[E:[^,]+]], %[[F]], %[[K]]] : memref<8x32x96xbf16>, vector<4xbf16>
// CHECK:   vector.load %[[U]][%[[E]], %[[F]], %[[K]]] : memref<8x32x96xf16>, vector<4xf16>
// CHECK:   vector.load %[[X]][%{{[^,]+}}, %[[K]]] : memref<?x96xf32>, vector<4xf32>
// CHECK-COUNT-2: vector.fma
// CHECK: vector.reduction <add>
// CHECK: vector.reduction <add>
// CHECK: math.exp
func.func @expert_gate_up(%x: memref<?x96xf32>, %gate: memref<8x32x96xbf16>, %up: memref<8x32x96xf16>, %experts: memref<?x3xi32>, %order: memref<?xi32>, %h: memref<?x32xf32>) {
  ember.expert_gate_up %x, %gate, %up, %experts, %order into %h : memref<?x96xf32>, memref<8x32x96xbf16>, memref<8x32x96xf16>, memref<?x3xi32>, memref<?xi32> into memref<?x32xf32>
  return
}

// CHECK-LABEL: func @expert_down
// CHECK-SAME: (%[[H:[^:]+]]: memref<?x32xf32>, %[[D:[^:]+]]: memref<?x96x32xbf16>
// CHECK: scf.parallel (%[[P:[^,]+]], %[[O:[^ ]+]]) =
// CHECK: scf.if
// CHECK: scf.for %[[K:[^ ]+]] = {{.*}} -> (vector<4xf32>)
// CHECK:   vector.load %[[D]][%{{[^,]+}}, %[[O]], %[[K]]] : memref<?x96x32xbf16>, vector<4xbf16>
// CHECK:   vector.load %[[H]][%[[P]], %[[K]]] : memref<?x32xf32>, vector<4xf32>
// CHECK:   vector.fma
// CHECK: vector.reduction <add>
func.func @expert_down(%h: memref<?x32xf32>, %down: memref<?x96x32xbf16>, %experts: memref<?x?xi32>, %order: memref<?xi32>, %y: memref<?x96xf32>) {
  ember.expert_down %h, %down, %experts, %order into %y : memref<?x32xf32>, memref<?x96x32xbf16>, memref<?x?xi32>, memref<?xi32> into memref<?x96xf32>
  return
}

// mla_absorb reads kv_b down its columns: with SIMD, one iteration per
// (token, head, 4 latent columns) adds q[n] times kv_b's contiguous row
// segment over n in order, so no element is gathered.
// CHECK-LABEL: func @absorb
// CHECK-SAME: (%[[Q:[^:]+]]: memref<?x2x3xf32>, %[[KVB:[^:]+]]: memref<14x8xbf16>, %[[OUT:[^:]+]]: memref<?x2x8xf32>)
// CHECK: scf.parallel (%[[T:[^,]+]], %[[HEAD:[^,]+]], %{{[^ ]+}}) = {{.*}} to (%{{[^,]+}}, %{{[^,]+}}, %[[C2:[^ ]+]])
// CHECK: scf.for %[[N:[^ ]+]] = {{.*}} -> (vector<4xf32>)
// CHECK:   vector.load %[[KVB]][%{{[^,]+}}, %[[C0:[^ ]+]]] : memref<14x8xbf16>, vector<4xbf16>
// CHECK:   memref.load %[[Q]][%[[T]], %[[HEAD]], %[[N]]]
// CHECK:   vector.broadcast
// CHECK:   vector.fma
// CHECK: vector.store %{{[^,]+}}, %[[OUT]][%[[T]], %[[HEAD]], %[[C0]]] : memref<?x2x8xf32>, vector<4xf32>
func.func @absorb(%q: memref<?x2x3xf32>, %kvb: memref<14x8xbf16>, %out: memref<?x2x8xf32>) {
  ember.mla_absorb %q, %kvb into %out : memref<?x2x3xf32>, memref<14x8xbf16> into memref<?x2x8xf32>
  return
}

// A latent width that is not a multiple of the lanes keeps the column loop.
// CHECK-LABEL: func @absorb_odd_latent
// CHECK-NOT: vector.
// CHECK: return
func.func @absorb_odd_latent(%q: memref<?x2x3xf32>, %kvb: memref<14x6xbf16>, %out: memref<?x2x6xf32>) {
  ember.mla_absorb %q, %kvb into %out : memref<?x2x3xf32>, memref<14x6xbf16> into memref<?x2x6xf32>
  return
}

// CHECK-LABEL: func @up_v
// CHECK-SAME: (%[[OL:[^:]+]]: memref<?x2x8xf32>, %[[KVB:[^:]+]]: memref<14x8xbf16>
// CHECK: scf.parallel (%[[T:[^,]+]], %[[HEAD:[^,]+]], %{{[^ ]+}}) =
// CHECK: scf.for %[[K:[^ ]+]] = {{.*}} -> (vector<4xf32>)
// CHECK:   vector.load %[[KVB]][%{{[^,]+}}, %[[K]]] : memref<14x8xbf16>, vector<4xbf16>
// CHECK:   vector.load %[[OL]][%[[T]], %[[HEAD]], %[[K]]] : memref<?x2x8xf32>, vector<4xf32>
// CHECK: vector.reduction <add>
func.func @up_v(%ol: memref<?x2x8xf32>, %kvb: memref<14x8xbf16>, %out: memref<?x2x4xf32>) {
  ember.mla_up_v %ol, %kvb into %out : memref<?x2x8xf32>, memref<14x8xbf16> into memref<?x2x4xf32>
  return
}

// The fused router's logits: one SIMD dot per expert.
// CHECK-LABEL: func @fused_router
// CHECK-SAME: (%[[U:[^:]+]]: memref<?x8xf32>, %[[C:[^:]+]]: memref<12x8xbf16>
// CHECK: scf.for %[[E:[^ ]+]] =
// CHECK:   scf.for %[[K:[^ ]+]] = {{.*}} -> (vector<4xf32>)
// CHECK:     vector.load %[[C]][%[[E]], %[[K]]] : memref<12x8xbf16>, vector<4xbf16>
// CHECK:   vector.reduction <add>
func.func @fused_router(%u: memref<?x8xf32>, %c: memref<12x8xbf16>, %b: memref<12xf32>, %e: memref<?x3xi32>, %w: memref<?x3xf32>) {
  ember.fused_router %u, %c, %b into %e, %w {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<?x8xf32>, memref<12x8xbf16>, memref<12xf32> into memref<?x3xi32>, memref<?x3xf32>
  return
}
