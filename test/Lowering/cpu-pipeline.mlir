// RUN: ember-opt %s --ember-cpu-pipeline | FileCheck %s
// RUN: ember-opt %s --ember-cpu-pipeline=compile-to=loops | FileCheck %s --check-prefix=LOOPS
// RUN: ember-opt %s --ember-cpu-pipeline | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVMIR

// Everything ends in the LLVM dialect with MLIR's C interface wrapper, which
// the runtime calls.
// CHECK-NOT: ember.
// CHECK-NOT: scf.
// CHECK-NOT: memref.
// CHECK-LABEL: llvm.func @combine(
// CHECK: llvm.fpext %{{.*}} : bf16 to f32
// CHECK: llvm.fmul {{.*}}fastmath<{{.*}}reassoc
// CHECK: llvm.fdiv
// CHECK-LABEL: llvm.func @_mlir_ciface_combine(
// CHECK-SAME: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr

// LOOPS-LABEL: func.func @combine
// LOOPS: scf.parallel
// LOOPS-NOT: ember.

// LLVMIR: define void @_mlir_ciface_combine(ptr
func.func @combine(%word: memref<?x96xf32>, %rows: memref<?x12x8xf32>, %proj: memref<12x96x8xbf16>, %out: memref<?x96xf32>) attributes {llvm.emit_c_interface} {
  ember.ngram_combine %word, %rows, %proj into %out : memref<?x96xf32>, memref<?x12x8xf32>, memref<12x96x8xbf16> into memref<?x96xf32>
  return
}
