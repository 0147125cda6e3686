// RUN: ember-opt %s --ember-nvptx-pipeline=compile-to=gpu | FileCheck %s --check-prefix=GPU
// RUN: ember-opt %s --ember-nvptx-pipeline="chip=sm_90 features=+ptx80" | FileCheck %s --check-prefix=PTX

// A linear with block-scaled FP8 weights on the GPU run by the GEMV kernel
// (warp_per_row), each lane loading 16 weights at once (16 bytes), the
// block's scale beside them. It turns the bytes into f16 bit patterns four
// at a time, in 32-bit words w = b3 b2 b1 b0: b0 and b2 from w shifted up
// by 7 (exponent and mantissa, mask 0x3F803F80 = 1065369472) and by 8 (the
// signs, mask 0x80008000 = -2147450880), b1 and b3 from w shifted down by 1
// and w itself. The hardware's cvt.f32.f16 widens them; the scale times 2^8
// (0f43800000) multiplies them, x then; the lanes' sums meet by shuffles.
// GPU: gpu_kernel<op = "linear", index = 0, strategy = "warp_per_row"
// PTX: gpu.binary @fp8__linear_0
// PTX-SAME: ld.global.v4.b32 \09{[[W0:%r[0-9]+]], {{%r[0-9]+}}, {{%r[0-9]+}}, {{%r[0-9]+}}}
// PTX-SAME: ld.global.b32 \09[[SCALE:%r[0-9]+]]
// PTX-SAME: shl.b32 \09[[SIGNS:%r[0-9]+]], [[W0]], 8;
// PTX-SAME: shl.b32 \09[[MAGNITUDES:%r[0-9]+]], [[W0]], 7;
// PTX-SAME: and.b32 \09{{%r[0-9]+}}, [[SIGNS]], -2147450880;
// PTX-SAME: and.b32 \09{{%r[0-9]+}}, [[MAGNITUDES]], 1065369472;
// PTX-SAME: or.b32
// PTX-SAME: shr.u32 \09{{%r[0-9]+}}, [[W0]], 1;
// PTX-SAME: and.b32 \09{{%r[0-9]+}}, [[W0]], -2147450880;
// PTX-SAME: cvt.f32.f16 \09{{%r[0-9]+}}, {{%rs[0-9]+}};
// PTX-SAME: mul.rn.f32 \09{{%r[0-9]+}}, [[SCALE]], 0f43800000;
// PTX-SAME: fma.rn.f32
// PTX-SAME: shfl.sync.bfly.b32
func.func @fp8(%x: memref<?x256xf32>, %w: memref<48x256xf8E4M3FN>, %s: memref<1x2xf32>, %y: memref<?x48xf32>) {
  ember.linear %x, %w scaled %s into %y {weight_block = array<i64: 128, 128>}
      : memref<?x256xf32>, memref<48x256xf8E4M3FN> scaled memref<1x2xf32> into memref<?x48xf32>
  return
}

// Blocks 24 wide: 8 weights (8 bytes) per load, so that a load's weights
// share one scale.
// GPU: gpu_kernel<op = "linear", index = 0, strategy = "warp_per_row"
// PTX: gpu.binary @narrow_blocks__linear_0
// PTX-SAME: ld.global.v2.b32
// PTX-SAME: cvt.f32.f16
func.func @narrow_blocks(%x: memref<?x96xf32>, %w: memref<48x96xf8E4M3FN>, %s: memref<2x4xf32>,
                         %y: memref<?x48xf32>) {
  ember.linear %x, %w scaled %s into %y {weight_block = array<i64: 32, 24>}
      : memref<?x96xf32>, memref<48x96xf8E4M3FN> scaled memref<2x4xf32> into memref<?x48xf32>
  return
}

// The other ops that read weights, with FP8 ones, keep their bf16
// strategies: mla_up_v is the GEMV per head, mla_absorb block_split_k with
// runs of 8 columns a lane (8 bytes: ld.global.v2.b32), the routed experts
// warp_per_row with 16 weights a lane.
// GPU-DAG: gpu_kernel<op = "mla_absorb", index = 0, strategy = "block_split_k"
// GPU-DAG: gpu_kernel<op = "mla_up_v", index = 1, strategy = "warp_per_row"
// GPU-DAG: gpu_kernel<op = "expert_gate_up", index = 2, strategy = "warp_per_row"
// GPU-DAG: gpu_kernel<op = "expert_down_combine", index = 3, strategy = "warp_per_row"
// PTX-DAG: gpu.binary @fp8_others__mla_absorb_0 {{.*}}ld.global.v2.b32 {{.*}}cvt.f32.f16
// PTX-DAG: gpu.binary @fp8_others__mla_up_v_1 {{.*}}ld.global.v4.b32 {{.*}}cvt.f32.f16
// PTX-DAG: gpu.binary @fp8_others__expert_gate_up_2 {{.*}}ld.global.v4.b32 {{.*}}cvt.f32.f16
// PTX-DAG: gpu.binary @fp8_others__expert_down_combine_3 {{.*}}ld.global.v4.b32 {{.*}}cvt.f32.f16
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
