// Runs the MoE grouping and combine on the CPU, unfused and fused, on
// choices with repeated experts and zero experts (id 2 >= R = 2, and -1,
// which is read as unsigned): moe_dispatch and moe_group give the same
// stable order, moe_group's rows are its inverse, and expert_down +
// moe_combine and expert_down_combine add the same values.
// RUN: ember-opt %s --ember-cpu-pipeline | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_lib_dir/libmlir_c_runner_utils.so,%mlir_lib_dir/libmlir_runner_utils.so | FileCheck %s

// T = 3 tokens, k = 2: assignments a = 0..5 choose experts 1 0 | 2 1 | 0 -1,
// keys min(e, 2) = 1 0 2 1 0 2.
memref.global "private" constant @experts : memref<3x2xi32> = dense<[[1, 0], [2, 1], [0, -1]]>
memref.global "private" constant @weights : memref<3x2xf32> = dense<[[1.0, 2.0], [0.5, 1.0], [2.0, 0.25]]>
memref.global "private" constant @x : memref<3x2xf32> = dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]>
// By sorted row; the two zero-expert rows hold values nothing may read.
memref.global "private" constant @h : memref<6x2xf32> = dense<[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.0], [99.0, 99.0], [99.0, 99.0]]>
memref.global "private" constant @start : memref<3x2xf32> = dense<10.0>
memref.global "private" constant @down : memref<2x2x2xf32> = dense<[[[1.0, 2.0], [3.0, 4.0]], [[-1.0, 1.0], [2.0, 0.0]]]>
func.func private @printMemrefI32(memref<*xi32>) attributes {llvm.emit_c_interface}
func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

func.func @print_i32(%m: memref<6xi32>) {
  %cast = memref.cast %m : memref<6xi32> to memref<*xi32>
  call @printMemrefI32(%cast) : (memref<*xi32>) -> ()
  return
}

func.func @print_f32(%m: memref<3x2xf32>) {
  %cast = memref.cast %m : memref<3x2xf32> to memref<*xf32>
  call @printMemrefF32(%cast) : (memref<*xf32>) -> ()
  return
}

// Stable by key: a = 1 4 (expert 0), 0 3 (expert 1), 2 5 (zero experts).
// CHECK: data =
// CHECK-NEXT: [1,  4,  0,  3,  2,  5]
// CHECK: data =
// CHECK-NEXT: [1,  4,  0,  3,  2,  5]
// rows[a] = the sorted row of a.
// CHECK: data =
// CHECK-NEXT: [2,  0,  4,  3,  1,  5]
// out starts at 10. y = down[e] . h[row]: a0 (0, 2), a1 (1, 3), a3 (-2, 4),
// a4 (2, 4). t0: 1 (0, 2) + 2 (1, 3) = (2, 8); t1: 0.5 x1 + 1 (-2, 4) =
// (-0.5, 6); t2: 2 (2, 4) + 0.25 x2 = (5.25, 9.5). Unfused, then fused:
// CHECK: data =
// CHECK-NEXT: {{\[\[}}12,   18],
// CHECK-NEXT:  [9.5,   16],
// CHECK-NEXT:  [15.25,   19.5]]
// CHECK: data =
// CHECK-NEXT: {{\[\[}}12,   18],
// CHECK-NEXT:  [9.5,   16],
// CHECK-NEXT:  [15.25,   19.5]]
func.func @main() {
  %experts = memref.get_global @experts : memref<3x2xi32>
  %weights = memref.get_global @weights : memref<3x2xf32>
  %x = memref.get_global @x : memref<3x2xf32>
  %h = memref.get_global @h : memref<6x2xf32>
  %down = memref.get_global @down : memref<2x2x2xf32>
  %start = memref.get_global @start : memref<3x2xf32>

  %order = memref.alloc() : memref<6xi32>
  ember.moe_dispatch %experts into %order {n_routed = 2 : i64} : memref<3x2xi32> into memref<6xi32>
  call @print_i32(%order) : (memref<6xi32>) -> ()
  %grouped = memref.alloc() : memref<6xi32>
  %rows = memref.alloc() : memref<6xi32>
  ember.moe_group %experts into %grouped, %rows {n_routed = 2 : i64} : memref<3x2xi32> into memref<6xi32>, memref<6xi32>
  call @print_i32(%grouped) : (memref<6xi32>) -> ()
  call @print_i32(%rows) : (memref<6xi32>) -> ()

  %y = memref.alloc() : memref<6x2xf32>
  %unfused = memref.alloc() : memref<3x2xf32>
  memref.copy %start, %unfused : memref<3x2xf32> to memref<3x2xf32>
  ember.expert_down %h, %down, %experts, %order into %y : memref<6x2xf32>, memref<2x2x2xf32>, memref<3x2xi32>, memref<6xi32> into memref<6x2xf32>
  ember.moe_combine %x, %y, %experts, %weights into %unfused {n_routed = 2 : i64} : memref<3x2xf32>, memref<6x2xf32>, memref<3x2xi32>, memref<3x2xf32> into memref<3x2xf32>
  call @print_f32(%unfused) : (memref<3x2xf32>) -> ()
  %fused = memref.alloc() : memref<3x2xf32>
  memref.copy %start, %fused : memref<3x2xf32> to memref<3x2xf32>
  ember.expert_down_combine %x, %h, %down, %experts, %weights, %rows into %fused {n_routed = 2 : i64} : memref<3x2xf32>, memref<6x2xf32>, memref<2x2x2xf32>, memref<3x2xi32>, memref<3x2xf32>, memref<6xi32> into memref<3x2xf32>
  call @print_f32(%fused) : (memref<3x2xf32>) -> ()

  memref.dealloc %order : memref<6xi32>
  memref.dealloc %grouped : memref<6xi32>
  memref.dealloc %rows : memref<6xi32>
  memref.dealloc %y : memref<6x2xf32>
  memref.dealloc %unfused : memref<3x2xf32>
  memref.dealloc %fused : memref<3x2xf32>
  return
}
