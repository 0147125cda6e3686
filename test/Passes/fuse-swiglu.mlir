// RUN: ember-opt %s --ember-fuse-swiglu --split-input-file | FileCheck %s

// The dense MLP of the decoder: the up buffer goes away, gate holds h.
// CHECK-LABEL: func @mlp
// CHECK-SAME: (%[[X:[^:]+]]: memref<?x8xf32>, %[[WG:[^:]+]]: memref<16x8xbf16>, %[[WU:[^:]+]]: memref<16x8xbf16>, %[[WD:[^:]+]]: memref<8x16xbf16>, %[[R:[^:]+]]: memref<?x8xf32>)
func.func @mlp(%x: memref<?x8xf32>, %wg: memref<16x8xbf16>, %wu: memref<16x8xbf16>, %wd: memref<8x16xbf16>,
               %r: memref<?x8xf32>) {
  %c0 = arith.constant 0 : index
  %t = memref.dim %x, %c0 : memref<?x8xf32>
  // CHECK: %[[GATE:.*]] = memref.alloc
  // CHECK-NOT: memref.alloc
  %gate = memref.alloc(%t) : memref<?x16xf32>
  %up = memref.alloc(%t) : memref<?x16xf32>
  // CHECK: ember.swiglu %[[X]], %[[WG]], %[[WU]] into %[[GATE]]
  // CHECK-NOT: ember.silu_mul
  // CHECK: ember.linear %[[GATE]], %[[WD]] into %[[R]] {accumulate}
  ember.linear %x, %wg into %gate : memref<?x8xf32>, memref<16x8xbf16> into memref<?x16xf32>
  ember.linear %x, %wu into %up : memref<?x8xf32>, memref<16x8xbf16> into memref<?x16xf32>
  ember.silu_mul %gate, %up into %gate : memref<?x16xf32>, memref<?x16xf32> into memref<?x16xf32>
  ember.linear %gate, %wd into %r {accumulate} : memref<?x16xf32>, memref<8x16xbf16> into memref<?x8xf32>
  // CHECK: memref.dealloc %[[GATE]]
  // CHECK-NOT: memref.dealloc
  memref.dealloc %gate : memref<?x16xf32>
  memref.dealloc %up : memref<?x16xf32>
  return
}

// -----

// Linears in the other order, the result in a third buffer: both
// projection buffers go away.
// CHECK-LABEL: func @swapped
func.func @swapped(%x: memref<2x8xf32>, %wg: memref<16x8xf32>, %wu: memref<16x8xf32>, %h: memref<2x16xf32>) {
  // CHECK-NOT: memref.alloc
  // CHECK: ember.swiglu %{{.*}}, %[[WG:[^,]+]], %[[WU:[^ ]+]] into %{{[^ ]+}} :
  // CHECK-NEXT: return
  %gate = memref.alloc() : memref<2x16xf32>
  %up = memref.alloc() : memref<2x16xf32>
  ember.linear %x, %wu into %up : memref<2x8xf32>, memref<16x8xf32> into memref<2x16xf32>
  ember.linear %x, %wg into %gate : memref<2x8xf32>, memref<16x8xf32> into memref<2x16xf32>
  ember.silu_mul %gate, %up into %h : memref<2x16xf32>, memref<2x16xf32> into memref<2x16xf32>
  memref.dealloc %gate : memref<2x16xf32>
  memref.dealloc %up : memref<2x16xf32>
  return
}

// -----

// Not fused: the projections read different inputs, one linear
// accumulates, the gate is also the up input, or an op sits in between.
// CHECK-LABEL: func @not_fused
// CHECK-NOT: ember.swiglu
func.func @not_fused(%x: memref<2x8xf32>, %y: memref<2x8xf32>, %w: memref<16x8xf32>,
                     %g: memref<2x16xf32>, %u: memref<2x16xf32>, %h: memref<2x16xf32>,
                     %w0: memref<16xf32>) {
  ember.linear %x, %w into %g : memref<2x8xf32>, memref<16x8xf32> into memref<2x16xf32>
  ember.linear %y, %w into %u : memref<2x8xf32>, memref<16x8xf32> into memref<2x16xf32>
  ember.silu_mul %g, %u into %h : memref<2x16xf32>, memref<2x16xf32> into memref<2x16xf32>
  ember.linear %x, %w into %g : memref<2x8xf32>, memref<16x8xf32> into memref<2x16xf32>
  ember.linear %x, %w into %u {accumulate} : memref<2x8xf32>, memref<16x8xf32> into memref<2x16xf32>
  ember.silu_mul %g, %u into %h : memref<2x16xf32>, memref<2x16xf32> into memref<2x16xf32>
  ember.linear %x, %w into %g : memref<2x8xf32>, memref<16x8xf32> into memref<2x16xf32>
  ember.linear %x, %w into %u : memref<2x8xf32>, memref<16x8xf32> into memref<2x16xf32>
  ember.silu_mul %g, %g into %h : memref<2x16xf32>, memref<2x16xf32> into memref<2x16xf32>
  ember.linear %x, %w into %g : memref<2x8xf32>, memref<16x8xf32> into memref<2x16xf32>
  ember.linear %x, %w into %u : memref<2x8xf32>, memref<16x8xf32> into memref<2x16xf32>
  ember.rms_norm %g, %w0 into %g {eps = 1.0e-05 : f32} : memref<2x16xf32>, memref<16xf32> into memref<2x16xf32>
  ember.silu_mul %g, %u into %h : memref<2x16xf32>, memref<2x16xf32> into memref<2x16xf32>
  return
}

// -----

// The pipeline's disable switch: nothing fused.
// RUN: ember-opt %s --split-input-file --ember-fusion-pipeline=disable=swiglu | FileCheck %s --check-prefix=OFF
// RUN: ember-opt %s --split-input-file --ember-fusion-pipeline=disable=all | FileCheck %s --check-prefix=OFF
// OFF-NOT: ember.swiglu
// RUN: ember-opt %s --split-input-file --ember-fusion-pipeline | FileCheck %s --check-prefix=ON
// ON: ember.swiglu

// -----

// FP8 gate and up projections: their block scales go into the swiglu.
// CHECK-LABEL: func @fp8_projections
// CHECK-SAME: (%[[X:[^:]+]]: memref<?x8xf32>, %[[WG:[^:]+]]: memref<16x8xf8E4M3FN>, %[[WU:[^:]+]]: memref<16x8xf8E4M3FN>, %[[SG:[^:]+]]: memref<1x1xf32>, %[[SU:[^:]+]]: memref<1x1xf32>, %[[GATE:[^:]+]]: memref<?x16xf32>,
// CHECK: ember.swiglu %[[X]], %[[WG]], %[[WU]] scaled %[[SG]], %[[SU]] into %[[GATE]] {weight_block = array<i64: 128, 128>}
// CHECK-NOT: ember.linear
func.func @fp8_projections(%x: memref<?x8xf32>, %wg: memref<16x8xf8E4M3FN>, %wu: memref<16x8xf8E4M3FN>, %sg: memref<1x1xf32>,
                           %su: memref<1x1xf32>, %gate: memref<?x16xf32>, %up: memref<?x16xf32>) {
  ember.linear %x, %wu scaled %su into %up {weight_block = array<i64: 128, 128>} : memref<?x8xf32>, memref<16x8xf8E4M3FN> scaled memref<1x1xf32> into memref<?x16xf32>
  ember.linear %x, %wg scaled %sg into %gate {weight_block = array<i64: 128, 128>} : memref<?x8xf32>, memref<16x8xf8E4M3FN> scaled memref<1x1xf32> into memref<?x16xf32>
  ember.silu_mul %gate, %up into %gate : memref<?x16xf32>, memref<?x16xf32> into memref<?x16xf32>
  return
}

// -----

// Not fused: one FP8 and one bf16 projection (a swiglu has one
// weight_block for both weights).
// CHECK-LABEL: func @mixed_projections
// CHECK-NOT: ember.swiglu
// CHECK-COUNT-2: ember.linear
// CHECK: ember.silu_mul
func.func @mixed_projections(%x: memref<?x8xf32>, %wg: memref<16x8xf8E4M3FN>, %wu: memref<16x8xbf16>, %s: memref<1x1xf32>,
                             %gate: memref<?x16xf32>, %up: memref<?x16xf32>) {
  ember.linear %x, %wg scaled %s into %gate {weight_block = array<i64: 128, 128>} : memref<?x8xf32>, memref<16x8xf8E4M3FN> scaled memref<1x1xf32> into memref<?x16xf32>
  ember.linear %x, %wu into %up : memref<?x8xf32>, memref<16x8xbf16> into memref<?x16xf32>
  ember.silu_mul %gate, %up into %gate : memref<?x16xf32>, memref<?x16xf32> into memref<?x16xf32>
  return
}
