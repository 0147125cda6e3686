// Runs mla_absorb, mla_up_v and the routed experts (expert_gate_up,
// expert_down, expert_down_combine) with F8E4M3FN weights and block scales of
// 2 x 8 on the CPU: the scalar loops (0 lanes, and 16 lanes, which the 8-wide
// blocks leave to them) and the SIMD dots (8 lanes).
// RUN: ember-opt %s --ember-cpu-pipeline="vector-lanes=0" | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_lib_dir/libmlir_c_runner_utils.so,%mlir_lib_dir/libmlir_runner_utils.so | FileCheck %s
// RUN: ember-opt %s --ember-cpu-pipeline="vector-lanes=8" | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_lib_dir/libmlir_c_runner_utils.so,%mlir_lib_dir/libmlir_runner_utils.so | FileCheck %s
// RUN: ember-opt %s --ember-cpu-pipeline="vector-lanes=16" | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_lib_dir/libmlir_c_runner_utils.so,%mlir_lib_dir/libmlir_runner_utils.so | FileCheck %s

// kv_b [H (Dn + Dv) = 1 (2 + 1), C = 16]: key rows 0-1 (scale row 0), value
// row 2 (scale row 1).
memref.global "private" constant @kv_b : memref<3x16xf8E4M3FN> = dense<[[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 448.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0], [0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.75, 0.0, 0.0, 0.0]]>
memref.global "private" constant @kv_b_scale : memref<2x2xf32> = dense<[[2.0, 4.0], [8.0, 16.0]]>
// Stacked experts [R = 2, F = 2, D = 16] (down [2, D = 2, F = 16]); expert 0
// is all 64, which a token routed to expert 1 must not read.
memref.global "private" constant @gate : memref<2x2x16xf8E4M3FN> = dense<[[[64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0], [64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0]], [[2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [1.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 448.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]]>
memref.global "private" constant @up : memref<2x2x16xf8E4M3FN> = dense<[[[64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0], [64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0]], [[0.0, 0.75, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -2.0, 0.0, 0.0, 0.0, 0.0, 0.0]]]>
memref.global "private" constant @down : memref<2x2x16xf8E4M3FN> = dense<[[[64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0], [64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0, 64.0]], [[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.5]]]>
memref.global "private" constant @gate_scale : memref<2x1x2xf32> = dense<[[[1.0, 1.0]], [[10.0, 8.0]]]>
memref.global "private" constant @up_scale : memref<2x1x2xf32> = dense<[[[1.0, 1.0]], [[1.0, 0.5]]]>
memref.global "private" constant @down_scale : memref<2x1x2xf32> = dense<[[[1.0, 1.0]], [[3.0, 5.0]]]>
memref.global "private" constant @q : memref<1x1x2xf32> = dense<[[[1.0, 2.0]]]>
memref.global "private" constant @ones : memref<1x16xf32> = dense<1.0>
memref.global "private" constant @ones3 : memref<1x1x16xf32> = dense<1.0>
memref.global "private" constant @experts : memref<1x1xi32> = dense<1>
memref.global "private" constant @order : memref<1xi32> = dense<0>
memref.global "private" constant @routing : memref<1x1xf32> = dense<1.0>
func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

// mla_absorb, q = [1, 2]: c = 0: 1 * 1 * 2 + 2 * 0.5 * 2 = 4; c = 9: 448 * 4
// = 1792; c = 15: 2 * -1 * 4 = -8.
// CHECK: data =
// CHECK-NEXT: {{\[\[\[}}4,   0,   0,   0,   0,   0,   0,   0,   0,   1792,   0,   0,   0,   0,   0,   -8]]]
// mla_up_v, o_lat all 1: 2 * 8 + 0.75 * 16 = 28.
// CHECK: data =
// CHECK-NEXT: {{\[\[\[}}28]]]
// expert_gate_up, x all 1, expert 1: gate = 2 * 10 + 1 * 8 = 28 and 1.5 * 10 +
// 448 * 8 = 3599 (silu(z) = z in f32 from z = 17 on); up = 0.75 * 1 and
// -2 * 0.5; h = 21, -3599.
// CHECK: data =
// CHECK-NEXT: {{\[\[}}21,   -3599]]
// expert_down, h all 1, expert 1: d = 0: 1 * 3 + 2 * 5 = 13; d = 1: -0.5 * 5.
// CHECK: data =
// CHECK-NEXT: {{\[\[}}13,   -2.5]]
// expert_down_combine: 1 (routing weight) times the same, added to 0.
// CHECK: data =
// CHECK-NEXT: {{\[\[}}13,   -2.5]]
func.func @main() {
  %kv_b = memref.get_global @kv_b : memref<3x16xf8E4M3FN>
  %kv_b_scale = memref.get_global @kv_b_scale : memref<2x2xf32>
  %q = memref.get_global @q : memref<1x1x2xf32>
  %q_lat = memref.alloc() : memref<1x1x16xf32>
  ember.mla_absorb %q, %kv_b scaled %kv_b_scale into %q_lat {weight_block = array<i64: 2, 8>}
      : memref<1x1x2xf32>, memref<3x16xf8E4M3FN> scaled memref<2x2xf32> into memref<1x1x16xf32>
  %q_lat_cast = memref.cast %q_lat : memref<1x1x16xf32> to memref<*xf32>
  call @printMemrefF32(%q_lat_cast) : (memref<*xf32>) -> ()
  %o_lat = memref.get_global @ones3 : memref<1x1x16xf32>
  %values = memref.alloc() : memref<1x1x1xf32>
  ember.mla_up_v %o_lat, %kv_b scaled %kv_b_scale into %values {weight_block = array<i64: 2, 8>}
      : memref<1x1x16xf32>, memref<3x16xf8E4M3FN> scaled memref<2x2xf32> into memref<1x1x1xf32>
  %values_cast = memref.cast %values : memref<1x1x1xf32> to memref<*xf32>
  call @printMemrefF32(%values_cast) : (memref<*xf32>) -> ()

  %x = memref.get_global @ones : memref<1x16xf32>
  %gate = memref.get_global @gate : memref<2x2x16xf8E4M3FN>
  %up = memref.get_global @up : memref<2x2x16xf8E4M3FN>
  %down = memref.get_global @down : memref<2x2x16xf8E4M3FN>
  %gate_scale = memref.get_global @gate_scale : memref<2x1x2xf32>
  %up_scale = memref.get_global @up_scale : memref<2x1x2xf32>
  %down_scale = memref.get_global @down_scale : memref<2x1x2xf32>
  %experts = memref.get_global @experts : memref<1x1xi32>
  %order = memref.get_global @order : memref<1xi32>
  %routing = memref.get_global @routing : memref<1x1xf32>
  %h = memref.alloc() : memref<1x2xf32>
  ember.expert_gate_up %x, %gate, %up scaled %gate_scale, %up_scale, %experts, %order into %h {weight_block = array<i64: 2, 8>}
      : memref<1x16xf32>, memref<2x2x16xf8E4M3FN>, memref<2x2x16xf8E4M3FN> scaled memref<2x1x2xf32>, memref<2x1x2xf32>,
        memref<1x1xi32>, memref<1xi32> into memref<1x2xf32>
  %h_cast = memref.cast %h : memref<1x2xf32> to memref<*xf32>
  call @printMemrefF32(%h_cast) : (memref<*xf32>) -> ()
  %y = memref.alloc() : memref<1x2xf32>
  ember.expert_down %x, %down scaled %down_scale, %experts, %order into %y {weight_block = array<i64: 2, 8>}
      : memref<1x16xf32>, memref<2x2x16xf8E4M3FN> scaled memref<2x1x2xf32>, memref<1x1xi32>, memref<1xi32>
        into memref<1x2xf32>
  %y_cast = memref.cast %y : memref<1x2xf32> to memref<*xf32>
  call @printMemrefF32(%y_cast) : (memref<*xf32>) -> ()
  %residual = memref.alloc() : memref<1x2xf32>
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  memref.store %zero, %residual[%c0, %c0] : memref<1x2xf32>
  memref.store %zero, %residual[%c0, %c1] : memref<1x2xf32>
  %x2 = memref.alloc() : memref<1x2xf32>
  ember.expert_down_combine %x2, %x, %down scaled %down_scale, %experts, %routing, %order into %residual
      {n_routed = 2 : i64, weight_block = array<i64: 2, 8>}
      : memref<1x2xf32>, memref<1x16xf32>, memref<2x2x16xf8E4M3FN> scaled memref<2x1x2xf32>, memref<1x1xi32>,
        memref<1x1xf32>, memref<1xi32> into memref<1x2xf32>
  %residual_cast = memref.cast %residual : memref<1x2xf32> to memref<*xf32>
  call @printMemrefF32(%residual_cast) : (memref<*xf32>) -> ()
  memref.dealloc %q_lat : memref<1x1x16xf32>
  memref.dealloc %values : memref<1x1x1xf32>
  memref.dealloc %h : memref<1x2xf32>
  memref.dealloc %y : memref<1x2xf32>
  memref.dealloc %residual : memref<1x2xf32>
  memref.dealloc %x2 : memref<1x2xf32>
  return
}
