// Runs linear, norm_linear, swiglu and norm_swiglu with F8E4M3FN weights
// and block scales on the CPU: the scalar loops, and SIMD dots whose lanes
// share a block's scale (8 lanes: every op; 16 lanes: the ops with blocks 16
// columns wide, with a tail of 8; norm_linear's 8-column blocks keep the
// scalar loop).
// RUN: ember-opt %s --ember-cpu-pipeline="vector-lanes=0" | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_lib_dir/libmlir_c_runner_utils.so,%mlir_lib_dir/libmlir_runner_utils.so | FileCheck %s
// RUN: ember-opt %s --ember-cpu-pipeline="vector-lanes=8" | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_lib_dir/libmlir_c_runner_utils.so,%mlir_lib_dir/libmlir_runner_utils.so | FileCheck %s
// RUN: ember-opt %s --ember-cpu-pipeline="vector-lanes=16" | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_lib_dir/libmlir_c_runner_utils.so,%mlir_lib_dir/libmlir_runner_utils.so | FileCheck %s

// W [3, 40]: three nonzero weights per row, one per block of 16 columns:
// 1, 448 (the largest E4M3 value), -1 | 2^-9 (the smallest subnormal), 1.5,
// 0.75 | 2, -448, 0.5.
memref.global "private" constant @w : memref<3x40xf8E4M3FN> = dense<[
    [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 448.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 0.0],
    [0.0, 0.001953125, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.75],
    [0.0, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -448.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]>
// linear: blocks of 2 x 16, so rows 0-1 take scale row 0 and row 2 row 1.
memref.global "private" constant @s16 : memref<2x3xf32> = dense<[[1.0, 2.0, 4.0], [0.5, 3.0, 10.0]]>
// norm_linear: blocks of 2 x 8 (the weights sit in column blocks 0, 2, 4).
memref.global "private" constant @s8 : memref<2x5xf32> = dense<[[1.0, 0.0, 0.25, 0.0, 2.0], [4.0, 0.0, 0.5, 0.0, 1.0]]>
memref.global "private" constant @g : memref<40xf32> = dense<1.0>
// swiglu: gate and up are both W, in blocks of 2 x 16 with these scales.
memref.global "private" constant @sgate : memref<2x3xf32> = dense<[[1.0, 16.0, 4.0], [0.5, -3.0, 10.0]]>
memref.global "private" constant @sup : memref<2x3xf32> = dense<1.0>
func.func private @printMemrefF32(memref<*xf32>) attributes {llvm.emit_c_interface}

// x row 0 is all 1, row 1 all 2.
// linear, y[t, o] = x[t] * sum of w[o, i] * scale:
//   o = 0: 1 * 1 + 448 * 2 - 1 * 4 = 893; o = 1: 2^-9 + 1.5 * 2 + 0.75 * 4 = 6.001953125;
//   o = 2: 2 * 0.5 - 448 * 3 + 0.5 * 10 = -1338.
// CHECK: data =
// CHECK-NEXT: {{\[\[}}893,   6.00195,   -1338],
// CHECK-NEXT: [1786,   12.0039,   -2676]]
// norm_linear (eps 1e-30: both rows normalize to all 1, exactly):
//   o = 0: 1 + 448 * 0.25 - 1 * 2 = 111; o = 1: 2^-9 + 1.5 * 0.25 + 0.75 * 2 = 1.876953125;
//   o = 2: 2 * 4 - 448 * 0.5 + 0.5 * 1 = -215.5.
// CHECK: data =
// CHECK-NEXT: {{\[\[}}111,   1.87695,   -215.5],
// CHECK-NEXT: [111,   1.87695,   -215.5]]
// swiglu, x row 0 (row 1 doubles both projections):
//   gate = 1 + 448 * 16 - 4 = 7165, 2^-9 + 1.5 * 16 + 0.75 * 4 = 27.001953125,
//          2 * 0.5 + 448 * 3 + 0.5 * 10 = 1350 (silu(z) = z in f32 from z = 17 on);
//   up = 1 + 448 - 1 = 448, 2^-9 + 1.5 + 0.75 = 2.251953125, 2 - 448 + 0.5 = -445.5;
//   h = 3209920, 60.8071327..., -601425 | 14330 * 896 = 12839680, 54.00390625 * 4.50390625
//   = 243.2285..., 2700 * -891 = -2405700.
// CHECK: data =
// CHECK-NEXT: {{\[\[}}3.20992e+06,   60.8071,   -601425],
// CHECK-NEXT: [1.28397e+07,   243.229,   -2.4057e+06]]
// norm_swiglu: both rows normalize to all 1, so both are swiglu's row 0.
// CHECK: data =
// CHECK-NEXT: {{\[\[}}3.20992e+06,   60.8071,   -601425],
// CHECK-NEXT: [3.20992e+06,   60.8071,   -601425]]
func.func @main() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c40 = arith.constant 40 : index
  %one = arith.constant 1.0 : f32
  %two = arith.constant 2.0 : f32
  %w = memref.get_global @w : memref<3x40xf8E4M3FN>
  %s16 = memref.get_global @s16 : memref<2x3xf32>
  %s8 = memref.get_global @s8 : memref<2x5xf32>
  %g = memref.get_global @g : memref<40xf32>
  %x = memref.alloc() : memref<2x40xf32>
  scf.for %i = %c0 to %c40 step %c1 {
    memref.store %one, %x[%c0, %i] : memref<2x40xf32>
    memref.store %two, %x[%c1, %i] : memref<2x40xf32>
  }
  %y = memref.alloc() : memref<2x3xf32>
  ember.linear %x, %w scaled %s16 into %y {weight_block = array<i64: 2, 16>}
      : memref<2x40xf32>, memref<3x40xf8E4M3FN> scaled memref<2x3xf32> into memref<2x3xf32>
  %cast = memref.cast %y : memref<2x3xf32> to memref<*xf32>
  call @printMemrefF32(%cast) : (memref<*xf32>) -> ()
  ember.norm_linear %x, %g, %w scaled %s8 into %y {eps = 1.0e-30 : f32, weight_block = array<i64: 2, 8>}
      : memref<2x40xf32>, memref<40xf32>, memref<3x40xf8E4M3FN> scaled memref<2x5xf32> into memref<2x3xf32>
  call @printMemrefF32(%cast) : (memref<*xf32>) -> ()
  %sgate = memref.get_global @sgate : memref<2x3xf32>
  %sup = memref.get_global @sup : memref<2x3xf32>
  ember.swiglu %x, %w, %w scaled %sgate, %sup into %y {weight_block = array<i64: 2, 16>}
      : memref<2x40xf32>, memref<3x40xf8E4M3FN>, memref<3x40xf8E4M3FN> scaled memref<2x3xf32>, memref<2x3xf32>
        into memref<2x3xf32>
  call @printMemrefF32(%cast) : (memref<*xf32>) -> ()
  ember.norm_swiglu %x, %g, %w, %w scaled %sgate, %sup into %y {eps = 1.0e-30 : f32, weight_block = array<i64: 2, 16>}
      : memref<2x40xf32>, memref<40xf32>, memref<3x40xf8E4M3FN>, memref<3x40xf8E4M3FN> scaled memref<2x3xf32>, memref<2x3xf32>
        into memref<2x3xf32>
  call @printMemrefF32(%cast) : (memref<*xf32>) -> ()
  memref.dealloc %x : memref<2x40xf32>
  memref.dealloc %y : memref<2x3xf32>
  return
}
