// RUN: ember-opt %s --ember-lower-to-loops --canonicalize --cse --split-input-file | FileCheck %s

// One thread per h[t, f]: both dot products over the same x row, then
// silu(gate) * up; no [T, F] projection is stored.
// CHECK-LABEL: func @swiglu
// CHECK-SAME: (%[[X:[^:]+]]: memref<?x8xf32>, %[[G:[^:]+]]: memref<16x8xbf16>, %[[U:[^:]+]]: memref<16x8xbf16>, %[[H:[^:]+]]: memref<?x16xf32>)
func.func @swiglu(%x: memref<?x8xf32>, %g: memref<16x8xbf16>, %u: memref<16x8xbf16>, %h: memref<?x16xf32>) {
  // CHECK: scf.parallel (%[[T:[^ ]+]], %[[F:[^ ]+]]) =
  // CHECK:   %[[GATE:.*]] = scf.for %[[I:[^ ]+]] =
  // CHECK-DAG:     memref.load %[[X]][%[[T]], %[[I]]]
  // CHECK-DAG:     memref.load %[[G]][%[[F]], %[[I]]]
  // CHECK:   %[[UP:.*]] = scf.for %[[J:[^ ]+]] =
  // CHECK-DAG:     memref.load %[[U]][%[[F]], %[[J]]]
  // CHECK-DAG:     memref.load %[[X]][%[[T]], %[[J]]]
  // CHECK:   math.exp
  // CHECK:   %[[S:.*]] = arith.divf %[[GATE]]
  // CHECK:   %[[P:.*]] = arith.mulf %[[S]], %[[UP]]
  // CHECK:   memref.store %[[P]], %[[H]][%[[T]], %[[F]]]
  // CHECK-NOT: memref.store
  ember.swiglu %x, %g, %u into %h : memref<?x8xf32>, memref<16x8xbf16>, memref<16x8xbf16> into memref<?x16xf32>
  return
}
