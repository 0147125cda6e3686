// RUN: ember-opt %s --ember-nvptx-pipeline=compile-to=gpu | FileCheck %s --check-prefix=GPU
// RUN: ember-opt %s --ember-nvptx-pipeline="chip=sm_90 features=+ptx80" | FileCheck %s --check-prefix=PTX

// A linear with block-scaled FP8 weights for a GPU. The GEMV kernels do
// not dequantize yet, so it keeps the loops' kernel (thread_per_element),
// whose threads read each weight byte sign-extended, move it into an f16's
// bit pattern (shift by 7, mask 0xBF80 = -16512 as b16) and widen it with
// the hardware's cvt.f32.f16; the block's scale is times 2^8 (0f43800000).
// GPU: gpu_kernel<op = "linear", index = 0, strategy = "thread_per_element"
// PTX: gpu.binary @fp8__linear_0
// PTX-SAME: ld.global.s8 \09[[BYTE:%rs[0-9]+]]
// PTX-SAME: shl.b16 \09[[SHIFTED:%rs[0-9]+]], [[BYTE]], 7;
// PTX-SAME: and.b16 \09[[HALF:%rs[0-9]+]], [[SHIFTED]], -16512;
// PTX-SAME: cvt.f32.f16 \09{{%r[0-9]+}}, [[HALF]];
// PTX-SAME: mul.rn.f32 \09{{%r[0-9]+}}, {{%r[0-9]+}}, 0f43800000;
func.func @fp8(%x: memref<?x256xf32>, %w: memref<48x256xf8E4M3FN>, %s: memref<1x2xf32>, %y: memref<?x48xf32>) {
  ember.linear %x, %w scaled %s into %y {weight_block = array<i64: 128, 128>}
      : memref<?x256xf32>, memref<48x256xf8E4M3FN> scaled memref<1x2xf32> into memref<?x48xf32>
  return
}
