// RUN: ember-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(ember-hoist-static-allocas))' | FileCheck %s
// RUN: ember-opt %s --split-input-file --ember-cpu-pipeline | FileCheck %s --check-prefix=LLVM

// A per-token scratch row (the fused router's logits) moves out of the
// token loop to the function entry; the CPU runs the iterations in order,
// so they share it.
// CHECK-LABEL: func @per_token_scratch
// CHECK-NEXT: %[[ROW:[^ ]+]] = memref.alloca() : memref<384xf32>
// CHECK: scf.parallel
// CHECK-NOT: memref.alloca
// CHECK: memref.store %{{[^ ]+}}, %[[ROW]]
// After the CPU pipeline the stack slot is allocated once, before the loop.
// LLVM-LABEL: llvm.func @per_token_scratch
// LLVM-NOT: llvm.br
// LLVM: llvm.alloca
// LLVM: llvm.br
// LLVM-NOT: llvm.alloca
// LLVM: llvm.return
func.func @per_token_scratch(%x: memref<?x8xf32>, %out: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %t = memref.dim %x, %c0 : memref<?x8xf32>
  scf.parallel (%i) = (%c0) to (%t) step (%c1) {
    %row = memref.alloca() : memref<384xf32>
    scf.for %j = %c0 to %c8 step %c1 {
      %v = memref.load %x[%i, %j] : memref<?x8xf32>
      memref.store %v, %row[%j] : memref<384xf32>
    }
    %w = memref.load %row[%c0] : memref<384xf32>
    memref.store %w, %out[%i] : memref<?xf32>
    scf.reduce
  }
  return
}

// -----

// Allocas outside loops and dynamic-size ones stay where they are.
// CHECK-LABEL: func @not_moved
// CHECK: arith.constant
// CHECK: %[[TOP:[^ ]+]] = memref.alloca() : memref<4xf32>
// CHECK: scf.for
// CHECK-NEXT: memref.alloca(%{{[^ ]+}}) : memref<?xf32>
func.func @not_moved(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %top = memref.alloca() : memref<4xf32>
  scf.for %i = %c0 to %n step %c1 {
    %dynamic = memref.alloca(%n) : memref<?xf32>
    scf.yield
  }
  return
}
