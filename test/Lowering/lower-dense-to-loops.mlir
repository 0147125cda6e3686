// RUN: ember-opt %s --ember-lower-to-loops --canonicalize --cse --split-input-file | FileCheck %s

// One thread per output element; bf16 weights are widened; accumulate starts
// from the existing output.
// CHECK-LABEL: func @linear
// CHECK-SAME: (%[[X:.*]]: memref<?x96xf32>, %[[W:.*]]: memref<48x96xbf16>, %[[Y:.*]]: memref<?x48xf32>)
func.func @linear(%x: memref<?x96xf32>, %w: memref<48x96xbf16>, %y: memref<?x48xf32>) {
  // CHECK-DAG: %[[C96:.*]] = arith.constant 96 : index
  // CHECK-DAG: %[[C48:.*]] = arith.constant 48 : index
  // CHECK: %[[T:.*]] = memref.dim %[[Y]]
  // CHECK: scf.parallel (%[[I:.*]], %[[O:.*]]) = (%{{.*}}, %{{.*}}) to (%[[T]], %[[C48]])
  // CHECK:   %[[INIT:.*]] = memref.load %[[Y]][%[[I]], %[[O]]]
  // CHECK:   %[[SUM:.*]] = scf.for %[[K:[^ ]+]] = %{{.*}} to %[[C96]] {{.*}} iter_args(%[[ACC:.*]] = %[[INIT]])
  // CHECK:     %[[WV:.*]] = memref.load %[[W]][%[[O]], %[[K]]]
  // CHECK:     %[[WF:.*]] = arith.extf %[[WV]] : bf16 to f32
  // CHECK:     %[[XV:.*]] = memref.load %[[X]][%[[I]], %[[K]]]
  // CHECK:     %[[P:.*]] = arith.mulf %[[XV]], %[[WF]] fastmath<reassoc,contract>
  // CHECK:     arith.addf %[[ACC]], %[[P]] fastmath<reassoc,contract>
  // CHECK:   memref.store %[[SUM]], %[[Y]][%[[I]], %[[O]]]
  ember.linear %x, %w into %y {accumulate} : memref<?x96xf32>, memref<48x96xbf16> into memref<?x48xf32>
  return
}

// -----

// Without accumulate the dot product starts from 0.
// CHECK-LABEL: func @linear_overwrite
func.func @linear_overwrite(%x: memref<?x8xf32>, %w: memref<4x8xf32>, %y: memref<?x4xf32>) {
  // CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
  // CHECK: scf.parallel
  // CHECK-NOT: memref.load %arg2
  // CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[ZERO]])
  ember.linear %x, %w into %y : memref<?x8xf32>, memref<4x8xf32> into memref<?x4xf32>
  return
}

// -----

// One thread per token: sum of squares, 1/sqrt(mean + eps), then x * inv * w * scale.
// CHECK-LABEL: func @norm
// CHECK-SAME: (%[[X:.*]]: memref<?x48xf32>, %[[W:.*]]: memref<48xbf16>, %[[Y:.*]]: memref<?x48xf32>)
func.func @norm(%x: memref<?x48xf32>, %w: memref<48xbf16>, %y: memref<?x48xf32>) {
  // CHECK-DAG: %[[WIDTH:.*]] = arith.constant 4.800000e+01 : f32
  // CHECK-DAG: %[[SCALE:.*]] = arith.constant 2.000000e+00 : f32
  // CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
  // CHECK-DAG: %[[EPS:.*]] = arith.constant 9.99999997E-7 : f32
  // CHECK: scf.parallel (%[[T:.*]]) =
  // CHECK:   %[[SQ:.*]] = scf.for
  // CHECK:     %[[V:.*]] = memref.load %[[X]][%[[T]], %{{.*}}]
  // CHECK:     arith.mulf %[[V]], %[[V]]
  // CHECK:   %[[MEAN:.*]] = arith.divf %[[SQ]], %[[WIDTH]]
  // CHECK:   %[[SHIFTED:.*]] = arith.addf %[[MEAN]], %[[EPS]]
  // CHECK:   %[[ROOT:.*]] = math.sqrt %[[SHIFTED]]
  // CHECK:   %[[INV:.*]] = arith.divf %[[ONE]], %[[ROOT]]
  // CHECK:   scf.for %[[D:[^ ]+]] =
  // CHECK:     %[[XV:.*]] = memref.load %[[X]][%[[T]], %[[D]]]
  // CHECK:     %[[N:.*]] = arith.mulf %[[XV]], %[[INV]]
  // CHECK:     %[[WV:.*]] = memref.load %[[W]][%[[D]]]
  // CHECK:     %[[WF:.*]] = arith.extf %[[WV]]
  // CHECK:     %[[NW:.*]] = arith.mulf %[[N]], %[[WF]]
  // CHECK:     %[[OUT:.*]] = arith.mulf %[[NW]], %[[SCALE]]
  // CHECK:     memref.store %[[OUT]], %[[Y]][%[[T]], %[[D]]]
  ember.rms_norm %x, %w into %y {eps = 1.0e-6 : f32, scale = 2.0 : f32} : memref<?x48xf32>, memref<48xbf16> into memref<?x48xf32>
  return
}

// -----

// silu(g) * u = g / (1 + exp(-g)) * u, one thread per element.
// CHECK-LABEL: func @silu
// CHECK-SAME: (%[[G:.*]]: memref<?x16xf32>, %[[U:.*]]: memref<?x16xf32>, %[[H:.*]]: memref<?x16xf32>)
func.func @silu(%g: memref<?x16xf32>, %u: memref<?x16xf32>, %h: memref<?x16xf32>) {
  // CHECK: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
  // CHECK: scf.parallel (%[[I:.*]], %[[J:.*]]) =
  // CHECK:   %[[GV:.*]] = memref.load %[[G]][%[[I]], %[[J]]]
  // CHECK:   %[[UV:.*]] = memref.load %[[U]][%[[I]], %[[J]]]
  // CHECK:   %[[NEG:.*]] = arith.negf %[[GV]]
  // CHECK:   %[[E:.*]] = math.exp %[[NEG]]
  // CHECK:   %[[DEN:.*]] = arith.addf %[[E]], %[[ONE]]
  // CHECK:   %[[S:.*]] = arith.divf %[[GV]], %[[DEN]]
  // CHECK:   %[[P:.*]] = arith.mulf %[[S]], %[[UV]]
  // CHECK:   memref.store %[[P]], %[[H]][%[[I]], %[[J]]]
  ember.silu_mul %g, %u into %h : memref<?x16xf32>, memref<?x16xf32> into memref<?x16xf32>
  return
}

// -----

// memref.copy becomes a loop too, so a GPU runs it as a kernel instead of a
// host memcpy of device memory.
// CHECK-LABEL: func @copy
// CHECK-SAME: (%[[SRC:.*]]: memref<?x16xf32>, %[[DST:.*]]: memref<?x16xf32>)
func.func @copy(%src: memref<?x16xf32>, %dst: memref<?x16xf32>) {
  // CHECK-NOT: memref.copy
  // CHECK: scf.parallel (%[[I:[^ ]+]], %[[J:[^ ]+]]) =
  // CHECK:   %[[V:.*]] = memref.load %[[SRC]][%[[I]], %[[J]]]
  // CHECK:   memref.store %[[V]], %[[DST]][%[[I]], %[[J]]]
  memref.copy %src, %dst : memref<?x16xf32> to memref<?x16xf32>
  return
}
