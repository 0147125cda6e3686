// RUN: ember-opt %s --ember-cpu-pipeline | FileCheck %s --check-prefix=CPU
// RUN: ember-opt %s --ember-nvptx-pipeline=compile-to=gpu | FileCheck %s --check-prefix=GPU
// RUN: ember-opt %s --ember-nvptx-pipeline="chip=sm_80 features=+ptx80" | FileCheck %s --check-prefix=PTX

// The dense and attention ops go through both pipelines: fully to the LLVM
// dialect on the CPU (math.exp/sin/cos become intrinsics), and to one kernel
// per op on the GPU (two for split_kv attention: partial and combine; two
// for the bf16 linear: warp_per_row and, from 64 tokens, mma_sync_tile).
// CPU-LABEL: llvm.func @attention
// CPU-NOT: ember.
// CPU-NOT: scf.
// CPU-DAG: llvm.intr.exp
// CPU-DAG: llvm.intr.cos
// CPU-DAG: llvm.intr.sin
// CPU-DAG: llvm.intr.sqrt
// CPU: llvm.func @_mlir_ciface_attention

// GPU-COUNT-9: gpu.launch_func
// GPU-NOT: gpu.launch_func

// PTX-COUNT-9: gpu.binary @attention__{{[a-z_]+}}_{{[0-6](_1)?}} {{.*}}.target sm_80
func.func @attention(%x: memref<?x96xf32>, %w: memref<48x96xbf16>, %y: memref<?x48xf32>, %n: memref<48xbf16>,
                     %qn: memref<?x4x16xf32>, %kvb: memref<128x32xbf16>, %ql: memref<?x4x32xf32>,
                     %qr: memref<?x4x8xf32>, %cache: memref<2x64x40xf32>, %slots: memref<?xi32>, %pos: memref<?xi32>,
                     %ol: memref<?x4x32xf32>, %o: memref<?x4x16xf32>) attributes {llvm.emit_c_interface} {
  ember.linear %x, %w into %y {accumulate} : memref<?x96xf32>, memref<48x96xbf16> into memref<?x48xf32>
  ember.rms_norm %y, %n into %y {eps = 1.0e-06 : f32, scale = 2.0 : f32} : memref<?x48xf32>, memref<48xbf16> into memref<?x48xf32>
  ember.silu_mul %y, %y into %y : memref<?x48xf32>, memref<?x48xf32> into memref<?x48xf32>
  ember.rope %qr, %pos into %qr {inv_freq = array<f32: 1.0, 0.1, 0.01, 0.001>, scale = 1.2 : f32} : memref<?x4x8xf32>, memref<?xi32> into memref<?x4x8xf32>
  ember.mla_absorb %qn, %kvb into %ql : memref<?x4x16xf32>, memref<128x32xbf16> into memref<?x4x32xf32>
  ember.mla_attention %ql, %qr, %cache[%slots, %pos] into %ol {scale = 0.25 : f32} : memref<?x4x32xf32>, memref<?x4x8xf32>, memref<?xi32>, memref<2x64x40xf32> into memref<?x4x32xf32>
  ember.mla_up_v %ol, %kvb into %o : memref<?x4x32xf32>, memref<128x32xbf16> into memref<?x4x16xf32>
  return
}
