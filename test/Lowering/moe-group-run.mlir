// Runs the MoE grouping and combine on the CPU, unfused and fused, on
// choices with repeated experts and zero experts (id 2 >= R = 2, and -1,
// which is read as unsigned): moe_dispatch and moe_group give the same
// stable order, moe_group's rows are its inverse, and expert_down +
// moe_combine and expert_down_combine add the same values. Then moe_group
// with groups padded to 2 and to 3 rows: its counts, order and rows, and
// expert_gate_up over the padded tiles (2: every tile full, one pass over
// D for both rows; 3: rows one at a time) giving the unpadded rows' values
// and leaving the padding rows alone, so that the fused MoE adds the same.
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
// counts per key 0, 1, 2 (zero experts).
// CHECK: data =
// CHECK-NEXT: [2,  2,  2]
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
  %counts = memref.alloc() : memref<3xi32>
  ember.moe_group %experts into %grouped, %rows, %counts {n_routed = 2 : i64} : memref<3x2xi32> into memref<6xi32>, memref<6xi32>, memref<3xi32>
  call @print_i32(%grouped) : (memref<6xi32>) -> ()
  call @print_i32(%rows) : (memref<6xi32>) -> ()
  %counts_cast = memref.cast %counts : memref<3xi32> to memref<?xi32>
  call @print_order(%counts_cast) : (memref<?xi32>) -> ()

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
  memref.dealloc %counts : memref<3xi32>
  memref.dealloc %y : memref<6x2xf32>
  memref.dealloc %unfused : memref<3x2xf32>
  memref.dealloc %fused : memref<3x2xf32>

  call @padded(%experts, %weights, %x, %down, %start) : (memref<3x2xi32>, memref<3x2xf32>, memref<3x2xf32>, memref<2x2x2xf32>, memref<3x2xf32>) -> ()
  return
}

memref.global "private" constant @gate : memref<2x2x2xf32> = dense<[[[1.0, 0.0], [0.0, 1.0]], [[0.5, 0.5], [1.0, -1.0]]]>
memref.global "private" constant @up : memref<2x2x2xf32> = dense<[[[1.0, 1.0], [0.0, 2.0]], [[1.0, 0.0], [0.0, 1.0]]]>
memref.global "private" constant @untouched : memref<10x2xf32> = dense<99.0>

func.func @print_rows(%m: memref<?x2xf32>) {
  %cast = memref.cast %m : memref<?x2xf32> to memref<*xf32>
  call @printMemrefF32(%cast) : (memref<*xf32>) -> ()
  return
}

func.func @print_order(%m: memref<?xi32>) {
  %cast = memref.cast %m : memref<?xi32> to memref<*xi32>
  call @printMemrefI32(%cast) : (memref<*xi32>) -> ()
  return
}

// The unpadded reference: dispatch, gate/up, down and combine.
// CHECK: data =
// CHECK-NEXT: {{\[\[}}[[A1:.*]]],
// CHECK-NEXT: [[A4:\[.*]]],
// CHECK-NEXT: [[A0:\[.*]]],
// CHECK-NEXT: [[A3:\[.*]]],
// CHECK-NEXT: [99,   99],
// CHECK-NEXT: [99,   99]]
// CHECK: data =
// CHECK-NEXT: {{\[\[}}[[OUT0:.*]]],
// CHECK-NEXT: [[OUT1:\[.*]]],
// CHECK-NEXT: [[OUT2:\[.*]]]]
//
// Tiles of 2 rows: the groups (2 rows each) need no padding; the 2 rows
// after the zero group are -1.
// CHECK: data =
// CHECK-NEXT: [1,  4,  0,  3,  2,  5,  -1,  -1]
// CHECK: data =
// CHECK-NEXT: [2,  0,  4,  3,  1,  5]
// CHECK: data =
// CHECK-NEXT: {{\[\[}}[[A1]]],
// CHECK-NEXT: [[A4]]],
// CHECK-NEXT: [[A0]]],
// CHECK-NEXT: [[A3]]],
// CHECK-NEXT: [99,   99],
// CHECK-NEXT: [99,   99],
// CHECK-NEXT: [99,   99],
// CHECK-NEXT: [99,   99]]
// CHECK: data =
// CHECK-NEXT: {{\[\[}}[[OUT0]]],
// CHECK-NEXT: [[OUT1]]],
// CHECK-NEXT: [[OUT2]]]]
//
// Tiles of 3 rows: each real group padded by one -1 row.
// CHECK: data =
// CHECK-NEXT: [1,  4,  -1,  0,  3,  -1,  2,  5,  -1,  -1]
// CHECK: data =
// CHECK-NEXT: [3,  0,  6,  4,  1,  7]
// CHECK: data =
// CHECK-NEXT: {{\[\[}}[[A1]]],
// CHECK-NEXT: [[A4]]],
// CHECK-NEXT: [99,   99],
// CHECK-NEXT: [[A0]]],
// CHECK-NEXT: [[A3]]],
// CHECK-NEXT: [99,   99],
// CHECK-NEXT: [99,   99],
// CHECK-NEXT: [99,   99],
// CHECK-NEXT: [99,   99],
// CHECK-NEXT: [99,   99]]
// CHECK: data =
// CHECK-NEXT: {{\[\[}}[[OUT0]]],
// CHECK-NEXT: [[OUT1]]],
// CHECK-NEXT: [[OUT2]]]]
func.func @padded(%experts: memref<3x2xi32>, %weights: memref<3x2xf32>, %x: memref<3x2xf32>, %down: memref<2x2x2xf32>, %start: memref<3x2xf32>) {
  %gate = memref.get_global @gate : memref<2x2x2xf32>
  %up = memref.get_global @up : memref<2x2x2xf32>
  %untouched = memref.get_global @untouched : memref<10x2xf32>
  %c0 = arith.constant 0 : index

  %order = memref.alloc() : memref<6xi32>
  ember.moe_dispatch %experts into %order {n_routed = 2 : i64} : memref<3x2xi32> into memref<6xi32>
  %h = memref.alloc() : memref<6x2xf32>
  %init = memref.subview %untouched[0, 0] [6, 2] [1, 1] : memref<10x2xf32> to memref<6x2xf32, strided<[2, 1]>>
  memref.copy %init, %h : memref<6x2xf32, strided<[2, 1]>> to memref<6x2xf32>
  ember.expert_gate_up %x, %gate, %up, %experts, %order into %h : memref<3x2xf32>, memref<2x2x2xf32>, memref<2x2x2xf32>, memref<3x2xi32>, memref<6xi32> into memref<6x2xf32>
  %hd = memref.cast %h : memref<6x2xf32> to memref<?x2xf32>
  call @print_rows(%hd) : (memref<?x2xf32>) -> ()
  %y = memref.alloc() : memref<6x2xf32>
  %reference = memref.alloc() : memref<3x2xf32>
  memref.copy %start, %reference : memref<3x2xf32> to memref<3x2xf32>
  ember.expert_down %h, %down, %experts, %order into %y : memref<6x2xf32>, memref<2x2x2xf32>, memref<3x2xi32>, memref<6xi32> into memref<6x2xf32>
  ember.moe_combine %x, %y, %experts, %weights into %reference {n_routed = 2 : i64} : memref<3x2xf32>, memref<6x2xf32>, memref<3x2xi32>, memref<3x2xf32> into memref<3x2xf32>
  %rd = memref.cast %reference : memref<3x2xf32> to memref<?x2xf32>
  call @print_rows(%rd) : (memref<?x2xf32>) -> ()

  %c8 = arith.constant 8 : index
  call @fused2(%experts, %weights, %x, %gate, %up, %down, %start, %c8) : (memref<3x2xi32>, memref<3x2xf32>, memref<3x2xf32>, memref<2x2x2xf32>, memref<2x2x2xf32>, memref<2x2x2xf32>, memref<3x2xf32>, index) -> ()
  %c10 = arith.constant 10 : index
  call @fused3(%experts, %weights, %x, %gate, %up, %down, %start, %c10) : (memref<3x2xi32>, memref<3x2xf32>, memref<3x2xf32>, memref<2x2x2xf32>, memref<2x2x2xf32>, memref<2x2x2xf32>, memref<3x2xf32>, index) -> ()
  return
}


// The fused MoE with groups padded to 2 rows, over `capacity` rows.
func.func @fused2(%experts: memref<3x2xi32>, %weights: memref<3x2xf32>, %x: memref<3x2xf32>, %gate: memref<2x2x2xf32>, %up: memref<2x2x2xf32>, %down: memref<2x2x2xf32>, %start: memref<3x2xf32>, %capacity: index) {
  %order = memref.alloc(%capacity) : memref<?xi32>
  %rows = memref.alloc() : memref<6xi32>
  %counts = memref.alloc() : memref<3xi32>
  ember.moe_group %experts into %order, %rows, %counts {n_routed = 2 : i64, rows_per_tile = 2 : i64} : memref<3x2xi32> into memref<?xi32>, memref<6xi32>, memref<3xi32>
  call @print_order(%order) : (memref<?xi32>) -> ()
  %rows_cast = memref.cast %rows : memref<6xi32> to memref<?xi32>
  call @print_order(%rows_cast) : (memref<?xi32>) -> ()
  %untouched = memref.get_global @untouched : memref<10x2xf32>
  %init = memref.subview %untouched[0, 0] [%capacity, 2] [1, 1] : memref<10x2xf32> to memref<?x2xf32, strided<[2, 1]>>
  %h = memref.alloc(%capacity) : memref<?x2xf32>
  memref.copy %init, %h : memref<?x2xf32, strided<[2, 1]>> to memref<?x2xf32>
  ember.expert_gate_up %x, %gate, %up, %experts, %order into %h {rows_per_tile = 2 : i64} : memref<3x2xf32>, memref<2x2x2xf32>, memref<2x2x2xf32>, memref<3x2xi32>, memref<?xi32> into memref<?x2xf32>
  call @print_rows(%h) : (memref<?x2xf32>) -> ()
  %out = memref.alloc() : memref<3x2xf32>
  memref.copy %start, %out : memref<3x2xf32> to memref<3x2xf32>
  ember.expert_down_combine %x, %h, %down, %experts, %weights, %rows into %out {n_routed = 2 : i64} : memref<3x2xf32>, memref<?x2xf32>, memref<2x2x2xf32>, memref<3x2xi32>, memref<3x2xf32>, memref<6xi32> into memref<3x2xf32>
  %od = memref.cast %out : memref<3x2xf32> to memref<?x2xf32>
  call @print_rows(%od) : (memref<?x2xf32>) -> ()
  memref.dealloc %order : memref<?xi32>
  memref.dealloc %rows : memref<6xi32>
  memref.dealloc %counts : memref<3xi32>
  memref.dealloc %h : memref<?x2xf32>
  memref.dealloc %out : memref<3x2xf32>
  return
}

// The same with 3 rows per tile.
func.func @fused3(%experts: memref<3x2xi32>, %weights: memref<3x2xf32>, %x: memref<3x2xf32>, %gate: memref<2x2x2xf32>, %up: memref<2x2x2xf32>, %down: memref<2x2x2xf32>, %start: memref<3x2xf32>, %capacity: index) {
  %order = memref.alloc(%capacity) : memref<?xi32>
  %rows = memref.alloc() : memref<6xi32>
  %counts = memref.alloc() : memref<3xi32>
  ember.moe_group %experts into %order, %rows, %counts {n_routed = 2 : i64, rows_per_tile = 3 : i64} : memref<3x2xi32> into memref<?xi32>, memref<6xi32>, memref<3xi32>
  call @print_order(%order) : (memref<?xi32>) -> ()
  %rows_cast = memref.cast %rows : memref<6xi32> to memref<?xi32>
  call @print_order(%rows_cast) : (memref<?xi32>) -> ()
  %untouched = memref.get_global @untouched : memref<10x2xf32>
  %init = memref.subview %untouched[0, 0] [%capacity, 2] [1, 1] : memref<10x2xf32> to memref<?x2xf32, strided<[2, 1]>>
  %h = memref.alloc(%capacity) : memref<?x2xf32>
  memref.copy %init, %h : memref<?x2xf32, strided<[2, 1]>> to memref<?x2xf32>
  ember.expert_gate_up %x, %gate, %up, %experts, %order into %h {rows_per_tile = 3 : i64} : memref<3x2xf32>, memref<2x2x2xf32>, memref<2x2x2xf32>, memref<3x2xi32>, memref<?xi32> into memref<?x2xf32>
  call @print_rows(%h) : (memref<?x2xf32>) -> ()
  %out = memref.alloc() : memref<3x2xf32>
  memref.copy %start, %out : memref<3x2xf32> to memref<3x2xf32>
  ember.expert_down_combine %x, %h, %down, %experts, %weights, %rows into %out {n_routed = 2 : i64} : memref<3x2xf32>, memref<?x2xf32>, memref<2x2x2xf32>, memref<3x2xi32>, memref<3x2xf32>, memref<6xi32> into memref<3x2xf32>
  %od = memref.cast %out : memref<3x2xf32> to memref<?x2xf32>
  call @print_rows(%od) : (memref<?x2xf32>) -> ()
  memref.dealloc %order : memref<?xi32>
  memref.dealloc %rows : memref<6xi32>
  memref.dealloc %counts : memref<3xi32>
  memref.dealloc %h : memref<?x2xf32>
  memref.dealloc %out : memref<3x2xf32>
  return
}
