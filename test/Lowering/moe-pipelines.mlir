// RUN: ember-opt %s --ember-cpu-pipeline | FileCheck %s --check-prefix=CPU
// RUN: ember-opt %s --ember-cpu-pipeline | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVMIR
// RUN: ember-opt %s --ember-nvptx-pipeline=compile-to=gpu | FileCheck %s --check-prefix=GPU
// RUN: ember-opt %s --ember-nvptx-pipeline=compile-to=nvvm | FileCheck %s --check-prefix=NVVM
// RUN: ember-opt %s --ember-nvptx-pipeline="chip=sm_90" | FileCheck %s --check-prefix=PTX

// The whole MoE block (router top-k, dispatch, gate/up, down, combine) of
// the tiny preset goes through both pipelines; math.exp (softmax, SiLU)
// becomes llvm.intr.exp on the CPU and a libdevice call on NVPTX.

// CPU-NOT: ember.
// CPU-NOT: scf.
// CPU-NOT: memref.
// CPU-NOT: math.
// CPU-LABEL: llvm.func @moe(
// CPU: llvm.intr.maximum
// CPU: llvm.intr.exp
// CPU: llvm.intr.umin
// CPU: llvm.fpext %{{.*}} : vector<{{[0-9]+}}xbf16> to vector<{{[0-9]+}}xf32>
// CPU: llvm.intr.exp
// CPU-LABEL: llvm.func @_mlir_ciface_moe(

// LLVMIR: define void @_mlir_ciface_moe(ptr
// LLVMIR: declare float @llvm.exp.f32(float)

// One kernel per op, in program order, named after it; expert_gate_up
// (bf16 weights) has two, warp_per_row below 64 tokens and mma_sync_tile
// from there (`_1`).
// GPU: gpu.launch_func @moe__router_topk_0::@moe__router_topk_0
// GPU: gpu.launch_func @moe__moe_dispatch_1::@moe__moe_dispatch_1
// GPU: gpu.launch_func @moe__expert_gate_up_2::@moe__expert_gate_up_2
// GPU: gpu.launch_func @moe__expert_gate_up_2_1::@moe__expert_gate_up_2_1
// GPU: gpu.launch_func @moe__expert_down_3::@moe__expert_down_3
// GPU: gpu.launch_func @moe__moe_combine_4::@moe__moe_combine_4
// GPU-NOT: gpu.launch_func
// GPU: gpu.module @moe__router_topk_0
// GPU: math.exp
// GPU: gpu.module @moe__moe_dispatch_1
// GPU: arith.minui
// GPU: gpu.module @moe__expert_gate_up_2
// GPU: math.exp
// GPU: gpu.module @moe__expert_down_3
// GPU: gpu.module @moe__moe_combine_4

// NVVM: gpu.module @moe__router_topk_0 [#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80"{{(, link = \[.*libdevice.*\])?}}>]
// NVVM: llvm.func @__nv_expf(f32) -> f32
// NVVM: llvm.func @moe__router_topk_0
// NVVM-SAME: nvvm.kernel
// NVVM: llvm.call @__nv_expf
// NVVM: gpu.module @moe__expert_gate_up_2
// NVVM: llvm.call @__nv_expf

// The host launches the kernels of each straight stretch of host code on
// one stream: the first two, then one of expert_gate_up's two by the
// number of tokens (each branch on its own stream), then the last two.
// Each kernel is a gpu.binary holding PTX text.
// PTX-LABEL: llvm.func @moe(
// PTX: %[[STREAM:.*]] = llvm.call @mgpuStreamCreate()
// PTX-COUNT-2: gpu.launch_func <%[[STREAM]] : !llvm.ptr> @moe__{{[a-z_]+}}_{{[0-1]}}::@moe__
// PTX: llvm.call @mgpuStreamSynchronize(%[[STREAM]])
// PTX: llvm.cond_br
// PTX: gpu.launch_func <%{{.*}} : !llvm.ptr> @moe__expert_gate_up_2::@moe__expert_gate_up_2
// PTX: gpu.launch_func <%{{.*}} : !llvm.ptr> @moe__expert_gate_up_2_1::@moe__expert_gate_up_2_1
// PTX: %[[LAST:.*]] = llvm.call @mgpuStreamCreate()
// PTX-COUNT-2: gpu.launch_func <%[[LAST]] : !llvm.ptr> @moe__{{[a-z_]+}}_{{[3-4]}}::@moe__
// PTX: llvm.call @mgpuStreamSynchronize(%[[LAST]])
// PTX-LABEL: llvm.func @_mlir_ciface_moe(
// PTX-COUNT-6: gpu.binary @moe__{{[a-z_]+}}_{{[0-4]}}{{(_1)?}} {{.*}}chip = "sm_90"{{.*}}.target sm_90{{.*}}.visible .entry moe__
func.func @moe(%logits: memref<?x12xf32>, %bias: memref<12xf32>, %experts: memref<?x3xi32>, %weights: memref<?x3xf32>, %order: memref<?xi32>, %x: memref<?x96xf32>, %gate: memref<8x32x96xbf16>, %up: memref<8x32x96xbf16>, %h: memref<?x32xf32>, %down: memref<8x96x32xbf16>, %y: memref<?x96xf32>, %out: memref<?x96xf32>) attributes {llvm.emit_c_interface} {
  ember.router_topk %logits, %bias into %experts, %weights {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<?x12xf32>, memref<12xf32> into memref<?x3xi32>, memref<?x3xf32>
  ember.moe_dispatch %experts into %order {n_routed = 8 : i64} : memref<?x3xi32> into memref<?xi32>
  ember.expert_gate_up %x, %gate, %up, %experts, %order into %h : memref<?x96xf32>, memref<8x32x96xbf16>, memref<8x32x96xbf16>, memref<?x3xi32>, memref<?xi32> into memref<?x32xf32>
  ember.expert_down %h, %down, %experts, %order into %y : memref<?x32xf32>, memref<8x96x32xbf16>, memref<?x3xi32>, memref<?xi32> into memref<?x96xf32>
  ember.moe_combine %x, %y, %experts, %weights into %out {n_routed = 8 : i64} : memref<?x96xf32>, memref<?x96xf32>, memref<?x3xi32>, memref<?x3xf32> into memref<?x96xf32>
  return
}
