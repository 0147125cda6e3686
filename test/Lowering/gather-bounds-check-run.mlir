// Runs a gather with an id outside its table on the CPU: clamp reads the
// table's last row, fatal aborts before anything is printed (its message
// goes to stdout through puts, which abort() does not flush into a pipe).
// RUN: ember-opt %s --ember-lower-to-loops=bounds-check=clamp | ember-opt --ember-cpu-pipeline | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_lib_dir/libmlir_c_runner_utils.so,%mlir_lib_dir/libmlir_runner_utils.so | FileCheck %s --check-prefix=CLAMP
// RUN: ember-opt %s --ember-lower-to-loops=bounds-check=fatal | ember-opt --ember-cpu-pipeline | not --crash mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_lib_dir/libmlir_c_runner_utils.so,%mlir_lib_dir/libmlir_runner_utils.so 2>/dev/null | FileCheck %s --allow-empty --check-prefix=FATAL

memref.global "private" constant @table : memref<5x1xf32> = dense<[[10.0], [11.0], [12.0], [20.0], [21.0]]>
func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

// Table 0 holds rows 10, 11, 12; table 1 rows 20, 21. Id 7 is outside table 1.
// CLAMP: data =
// CLAMP-NEXT: {{\[\[\[}}11],
// CLAMP-NEXT: [21]]]
// FATAL-NOT: data =
func.func @main() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %id0 = arith.constant 1 : i32
  %id1 = arith.constant 7 : i32
  %table = memref.get_global @table : memref<5x1xf32>
  %ids = memref.alloc() : memref<1x2xi32>
  %rows = memref.alloc() : memref<1x2x1xf32>
  memref.store %id0, %ids[%c0, %c0] : memref<1x2xi32>
  memref.store %id1, %ids[%c0, %c1] : memref<1x2xi32>
  ember.multi_table_gather %table[%ids] into %rows {row_offsets = array<i64: 0, 3>} : memref<5x1xf32>, memref<1x2xi32> into memref<1x2x1xf32>
  %cast = memref.cast %rows : memref<1x2x1xf32> to memref<*xf32>
  call @printMemrefF32(%cast) : (memref<*xf32>) -> ()
  memref.dealloc %ids : memref<1x2xi32>
  memref.dealloc %rows : memref<1x2x1xf32>
  return
}
