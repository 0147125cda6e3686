// RUN: ember-opt %s --ember-fuse-router --split-input-file | FileCheck %s

// The router of the decoder's MoE: the allocations of the choices sit
// between the two ops; the logits buffer goes away.
// CHECK-LABEL: func @router
// CHECK-SAME: (%[[U:[^:]+]]: memref<?x8xf32>, %[[C:[^:]+]]: memref<12x8xbf16>, %[[B:[^:]+]]: memref<12xf32>)
func.func @router(%u: memref<?x8xf32>, %classifier: memref<12x8xbf16>, %bias: memref<12xf32>) {
  %c0 = arith.constant 0 : index
  %t = memref.dim %u, %c0 : memref<?x8xf32>
  // CHECK: %[[E:[^ ]+]] = memref.alloc({{.*}}) : memref<?x3xi32>
  // CHECK: %[[W:[^ ]+]] = memref.alloc({{.*}}) : memref<?x3xf32>
  // CHECK-NEXT: ember.fused_router %[[U]], %[[C]], %[[B]] into %[[E]], %[[W]] {n_routed = 8 : i64, scaling = 6.000000e+00 : f32}
  // CHECK-NOT: ember.linear
  // CHECK-NOT: ember.router_topk
  // CHECK-NOT: memref<?x12xf32>
  // CHECK: return
  %logits = memref.alloc(%t) : memref<?x12xf32>
  ember.linear %u, %classifier into %logits : memref<?x8xf32>, memref<12x8xbf16> into memref<?x12xf32>
  %experts = memref.alloc(%t) : memref<?x3xi32>
  %weights = memref.alloc(%t) : memref<?x3xf32>
  ember.router_topk %logits, %bias into %experts, %weights {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<?x12xf32>, memref<12xf32> into memref<?x3xi32>, memref<?x3xf32>
  memref.dealloc %logits : memref<?x12xf32>
  memref.dealloc %experts : memref<?x3xi32>
  memref.dealloc %weights : memref<?x3xf32>
  return
}

// -----

// Not fused: the linear accumulates into the logits.
// CHECK-LABEL: func @accumulating
// CHECK-NOT: ember.fused_router
// CHECK: ember.linear
// CHECK: ember.router_topk
func.func @accumulating(%u: memref<2x8xf32>, %c: memref<12x8xf32>, %bias: memref<12xf32>,
                        %experts: memref<2x3xi32>, %weights: memref<2x3xf32>) {
  %logits = memref.alloc() : memref<2x12xf32>
  ember.linear %u, %c into %logits {accumulate} : memref<2x8xf32>, memref<12x8xf32> into memref<2x12xf32>
  ember.router_topk %logits, %bias into %experts, %weights {n_routed = 8 : i64, scaling = 1.0 : f32} : memref<2x12xf32>, memref<12xf32> into memref<2x3xi32>, memref<2x3xf32>
  memref.dealloc %logits : memref<2x12xf32>
  return
}

// -----

// Not fused: the logits are read again after the router.
// CHECK-LABEL: func @logits_used_elsewhere
// CHECK-NOT: ember.fused_router
// CHECK: ember.linear
// CHECK: ember.router_topk
func.func @logits_used_elsewhere(%u: memref<2x8xf32>, %c: memref<12x8xf32>, %bias: memref<12xf32>,
                                 %experts: memref<2x3xi32>, %weights: memref<2x3xf32>,
                                 %copy: memref<2x12xf32>) {
  %logits = memref.alloc() : memref<2x12xf32>
  ember.linear %u, %c into %logits : memref<2x8xf32>, memref<12x8xf32> into memref<2x12xf32>
  ember.router_topk %logits, %bias into %experts, %weights {n_routed = 8 : i64, scaling = 1.0 : f32} : memref<2x12xf32>, memref<12xf32> into memref<2x3xi32>, memref<2x3xf32>
  memref.copy %logits, %copy : memref<2x12xf32> to memref<2x12xf32>
  memref.dealloc %logits : memref<2x12xf32>
  return
}

// -----

// Not fused: the logits are a function argument (visible to the caller).
// CHECK-LABEL: func @logits_argument
// CHECK-NOT: ember.fused_router
// CHECK: ember.linear
// CHECK: ember.router_topk
func.func @logits_argument(%u: memref<2x8xf32>, %c: memref<12x8xf32>, %bias: memref<12xf32>,
                           %experts: memref<2x3xi32>, %weights: memref<2x3xf32>,
                           %logits: memref<2x12xf32>) {
  ember.linear %u, %c into %logits : memref<2x8xf32>, memref<12x8xf32> into memref<2x12xf32>
  ember.router_topk %logits, %bias into %experts, %weights {n_routed = 8 : i64, scaling = 1.0 : f32} : memref<2x12xf32>, memref<12xf32> into memref<2x3xi32>, memref<2x3xf32>
  return
}

// -----

// Not fused: an op that writes memory sits between the two (here it
// overwrites u, which the fused op would read too late).
// CHECK-LABEL: func @not_adjacent
// CHECK-NOT: ember.fused_router
// CHECK: ember.linear
// CHECK: ember.rms_norm
// CHECK: ember.router_topk
func.func @not_adjacent(%u: memref<2x8xf32>, %c: memref<12x8xf32>, %bias: memref<12xf32>,
                        %norm: memref<8xf32>, %experts: memref<2x3xi32>, %weights: memref<2x3xf32>) {
  %logits = memref.alloc() : memref<2x12xf32>
  ember.linear %u, %c into %logits : memref<2x8xf32>, memref<12x8xf32> into memref<2x12xf32>
  ember.rms_norm %u, %norm into %u {eps = 1.0e-05 : f32} : memref<2x8xf32>, memref<8xf32> into memref<2x8xf32>
  ember.router_topk %logits, %bias into %experts, %weights {n_routed = 8 : i64, scaling = 1.0 : f32} : memref<2x12xf32>, memref<12xf32> into memref<2x3xi32>, memref<2x3xf32>
  memref.dealloc %logits : memref<2x12xf32>
  return
}

// -----

// Not fused: the router reads logits another linear wrote, not the one
// just before it.
// CHECK-LABEL: func @other_logits
// CHECK-NOT: ember.fused_router
func.func @other_logits(%u: memref<2x8xf32>, %c: memref<12x8xf32>, %bias: memref<12xf32>,
                        %experts: memref<2x3xi32>, %weights: memref<2x3xf32>) {
  %logits = memref.alloc() : memref<2x12xf32>
  %other = memref.alloc() : memref<2x12xf32>
  ember.linear %u, %c into %logits : memref<2x8xf32>, memref<12x8xf32> into memref<2x12xf32>
  ember.linear %u, %c into %other : memref<2x8xf32>, memref<12x8xf32> into memref<2x12xf32>
  ember.router_topk %logits, %bias into %experts, %weights {n_routed = 8 : i64, scaling = 1.0 : f32} : memref<2x12xf32>, memref<12xf32> into memref<2x3xi32>, memref<2x3xf32>
  memref.dealloc %logits : memref<2x12xf32>
  memref.dealloc %other : memref<2x12xf32>
  return
}

// -----

// Not fused: the weights overwrite u, which later tokens' threads still read.
// CHECK-LABEL: func @output_is_input
// CHECK-NOT: ember.fused_router
func.func @output_is_input(%u: memref<2x3xf32>, %c: memref<12x3xf32>, %bias: memref<12xf32>,
                           %experts: memref<2x3xi32>) {
  %logits = memref.alloc() : memref<2x12xf32>
  ember.linear %u, %c into %logits : memref<2x3xf32>, memref<12x3xf32> into memref<2x12xf32>
  ember.router_topk %logits, %bias into %experts, %u {n_routed = 8 : i64, scaling = 1.0 : f32} : memref<2x12xf32>, memref<12xf32> into memref<2x3xi32>, memref<2x3xf32>
  memref.dealloc %logits : memref<2x12xf32>
  return
}

// -----

// The pipeline's disable switch: nothing fused.
// RUN: ember-opt %s --split-input-file --ember-fusion-pipeline=disable=router | FileCheck %s --check-prefix=OFF
// RUN: ember-opt %s --split-input-file --ember-fusion-pipeline=disable=all | FileCheck %s --check-prefix=OFF
// OFF-NOT: ember.fused_router
// RUN: ember-opt %s --split-input-file --ember-fusion-pipeline | FileCheck %s --check-prefix=ON
// ON: ember.fused_router

// -----

// Not fused: fused_router's classifier takes no FP8 block scales.
// CHECK-LABEL: func @fp8_classifier
// CHECK-NOT: ember.fused_router
// CHECK: ember.linear
// CHECK: ember.router_topk
func.func @fp8_classifier(%u: memref<2x8xf32>, %c: memref<12x8xf8E4M3FN>, %s: memref<1x1xf32>, %bias: memref<12xf32>,
                          %experts: memref<2x3xi32>, %weights: memref<2x3xf32>) {
  %logits = memref.alloc() : memref<2x12xf32>
  ember.linear %u, %c scaled %s into %logits {weight_block = array<i64: 128, 128>} : memref<2x8xf32>, memref<12x8xf8E4M3FN> scaled memref<1x1xf32> into memref<2x12xf32>
  ember.router_topk %logits, %bias into %experts, %weights {n_routed = 8 : i64, scaling = 1.0 : f32} : memref<2x12xf32>, memref<12xf32> into memref<2x3xi32>, memref<2x3xf32>
  memref.dealloc %logits : memref<2x12xf32>
  return
}
