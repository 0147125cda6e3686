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

// The other ops that read weights, with FP8 ones: thread_per_element as
// well, where bf16 weights would get block_split_k (mla_absorb) or
// warp_per_row.
// GPU-DAG: gpu_kernel<op = "mla_absorb", index = 0, strategy = "thread_per_element"
// GPU-DAG: gpu_kernel<op = "mla_up_v", index = 1, strategy = "thread_per_element"
// GPU-DAG: gpu_kernel<op = "expert_gate_up", index = 2, strategy = "thread_per_element"
// GPU-DAG: gpu_kernel<op = "expert_down_combine", index = 3, strategy = "thread_per_element"
// PTX-DAG: gpu.binary @fp8_others__mla_absorb_0
// PTX-DAG: gpu.binary @fp8_others__expert_down_combine_3
func.func @fp8_others(%qn: memref<?x4x16xf32>, %kvb: memref<128x512xf8E4M3FN>, %kvs: memref<1x4xf32>,
                      %ql: memref<?x4x512xf32>, %o: memref<?x4x16xf32>,
                      %x: memref<?x256xf32>, %gate: memref<8x128x256xf8E4M3FN>, %up: memref<8x128x256xf8E4M3FN>,
                      %down: memref<8x256x128xf8E4M3FN>, %gs: memref<8x1x2xf32>, %ds: memref<8x2x1xf32>,
                      %experts: memref<?x2xi32>, %weights: memref<?x2xf32>, %order: memref<?xi32>,
                      %h: memref<?x128xf32>, %r: memref<?x256xf32>) {
  ember.mla_absorb %qn, %kvb scaled %kvs into %ql {weight_block = array<i64: 128, 128>}
      : memref<?x4x16xf32>, memref<128x512xf8E4M3FN> scaled memref<1x4xf32> into memref<?x4x512xf32>
  ember.mla_up_v %ql, %kvb scaled %kvs into %o {weight_block = array<i64: 128, 128>}
      : memref<?x4x512xf32>, memref<128x512xf8E4M3FN> scaled memref<1x4xf32> into memref<?x4x16xf32>
  ember.expert_gate_up %x, %gate, %up scaled %gs, %gs, %experts, %order into %h {weight_block = array<i64: 128, 128>}
      : memref<?x256xf32>, memref<8x128x256xf8E4M3FN>, memref<8x128x256xf8E4M3FN> scaled memref<8x1x2xf32>,
        memref<8x1x2xf32>, memref<?x2xi32>, memref<?xi32> into memref<?x128xf32>
  ember.expert_down_combine %x, %h, %down scaled %ds, %experts, %weights, %order into %r
      {n_routed = 8 : i64, weight_block = array<i64: 128, 128>}
      : memref<?x256xf32>, memref<?x128xf32>, memref<8x256x128xf8E4M3FN> scaled memref<8x2x1xf32>, memref<?x2xi32>,
        memref<?x2xf32>, memref<?xi32> into memref<?x256xf32>
  return
}
