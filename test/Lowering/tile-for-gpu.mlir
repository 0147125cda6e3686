// RUN: ember-opt %s --ember-tile-for-gpu=block-size=64 | FileCheck %s

// The innermost dimension is split into blocks of 64 threads, the others
// into blocks of 1; the guard replaces min/max bounds.
// CHECK-LABEL: func @tile
func.func @tile(%out: memref<?x96xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c96 = arith.constant 96 : index
  %zero = arith.constant 0.0 : f32
  // CHECK: %[[C64:.*]] = arith.constant 64 : index
  // CHECK: %[[STEP:.*]] = arith.muli %{{.*}}, %[[C64]] : index
  // CHECK: scf.parallel ({{.*}}) = ({{.*}}) to ({{.*}}) step (%{{.*}}, %[[STEP]])
  // CHECK:   scf.parallel ({{.*}}) = ({{.*}}) to (%{{.*}}, %[[STEP]])
  // CHECK:     scf.if
  // CHECK:       memref.store
  scf.parallel (%t, %d) = (%c0, %c0) to (%n, %c96) step (%c1, %c1) {
    memref.store %zero, %out[%t, %d] : memref<?x96xf32>
  }
  return
}

// RUN: not ember-opt %s --ember-tile-for-gpu=block-size=0 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: ember-tile-for-gpu: block-size must be >= 1, got 0
