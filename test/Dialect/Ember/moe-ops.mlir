// RUN: ember-opt %s | FileCheck %s
// RUN: ember-opt %s | ember-opt | FileCheck %s
// RUN: ember-opt --mlir-print-op-generic %s | ember-opt | FileCheck %s
// RUN: ember-opt %s --canonicalize | FileCheck %s --check-prefix=FOLD

// The MoE block of the tiny preset: R = 8 real experts, Z = 4 zero experts,
// k = 3, D = 96, expert_ffn F = 32, T dynamic.

// CHECK-LABEL: func @router_topk
// CHECK-SAME: (%[[L:.*]]: memref<?x12xf32>, %[[B:.*]]: memref<12xf32>, %[[E:.*]]: memref<?x3xi32>, %[[W:.*]]: memref<?x3xf32>)
func.func @router_topk(%logits: memref<?x12xf32>, %bias: memref<12xf32>, %experts: memref<?x3xi32>, %weights: memref<?x3xf32>) {
  // CHECK: ember.router_topk %[[L]], %[[B]] into %[[E]], %[[W]] {n_routed = 8 : i64, scaling = 6.000000e+00 : f32} : memref<?x12xf32>, memref<12xf32> into memref<?x3xi32>, memref<?x3xf32>
  ember.router_topk %logits, %bias into %experts, %weights {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<?x12xf32>, memref<12xf32> into memref<?x3xi32>, memref<?x3xf32>
  return
}

// CHECK-LABEL: func @moe_dispatch
// CHECK-SAME: (%[[E:.*]]: memref<?x3xi32>, %[[O:.*]]: memref<?xi32>)
func.func @moe_dispatch(%experts: memref<?x3xi32>, %order: memref<?xi32>) {
  // CHECK: ember.moe_dispatch %[[E]] into %[[O]] {n_routed = 8 : i64} : memref<?x3xi32> into memref<?xi32>
  ember.moe_dispatch %experts into %order {n_routed = 8 : i64} : memref<?x3xi32> into memref<?xi32>
  return
}

// CHECK-LABEL: func @expert_gate_up
// CHECK-SAME: (%[[X:.*]]: memref<?x96xf32>, %[[G:.*]]: memref<8x32x96xbf16>, %[[U:.*]]: memref<8x32x96xbf16>, %[[E:.*]]: memref<?x3xi32>, %[[O:.*]]: memref<?xi32>, %[[H:.*]]: memref<?x32xf32>)
func.func @expert_gate_up(%x: memref<?x96xf32>, %gate: memref<8x32x96xbf16>, %up: memref<8x32x96xbf16>, %experts: memref<?x3xi32>, %order: memref<?xi32>, %h: memref<?x32xf32>) {
  // CHECK: ember.expert_gate_up %[[X]], %[[G]], %[[U]], %[[E]], %[[O]] into %[[H]] : memref<?x96xf32>, memref<8x32x96xbf16>, memref<8x32x96xbf16>, memref<?x3xi32>, memref<?xi32> into memref<?x32xf32>
  ember.expert_gate_up %x, %gate, %up, %experts, %order into %h : memref<?x96xf32>, memref<8x32x96xbf16>, memref<8x32x96xbf16>, memref<?x3xi32>, memref<?xi32> into memref<?x32xf32>
  return
}

// Tiles of 4 rows over moe_group's padded groups.
// CHECK-LABEL: func @expert_gate_up_tiled
func.func @expert_gate_up_tiled(%x: memref<?x96xf32>, %gate: memref<8x32x96xbf16>, %up: memref<8x32x96xbf16>, %experts: memref<?x3xi32>, %order: memref<?xi32>, %h: memref<?x32xf32>) {
  // CHECK: ember.expert_gate_up {{.*}} {rows_per_tile = 4 : i64} :
  ember.expert_gate_up %x, %gate, %up, %experts, %order into %h {rows_per_tile = 4 : i64} : memref<?x96xf32>, memref<8x32x96xbf16>, memref<8x32x96xbf16>, memref<?x3xi32>, memref<?xi32> into memref<?x32xf32>
  return
}

// Static shapes, f16 and f32 storage mixed: T = 2, T*k = 6.
// CHECK-LABEL: func @expert_gate_up_static
func.func @expert_gate_up_static(%x: memref<2x96xf32>, %gate: memref<8x32x96xf16>, %up: memref<8x32x96xf32>, %experts: memref<2x3xi32>, %order: memref<6xi32>, %h: memref<6x32xf32>) {
  // CHECK: ember.expert_gate_up {{.*}} : memref<2x96xf32>, memref<8x32x96xf16>, memref<8x32x96xf32>, memref<2x3xi32>, memref<6xi32> into memref<6x32xf32>
  ember.expert_gate_up %x, %gate, %up, %experts, %order into %h : memref<2x96xf32>, memref<8x32x96xf16>, memref<8x32x96xf32>, memref<2x3xi32>, memref<6xi32> into memref<6x32xf32>
  return
}

// CHECK-LABEL: func @fp8_experts
func.func @fp8_experts(%x: memref<?x96xf32>, %gate: memref<8x32x96xf8E4M3FN>, %up: memref<8x32x96xf8E4M3FN>, %down: memref<8x96x32xf8E4M3FN>, %s: memref<8x1x1xf32>, %experts: memref<?x3xi32>, %order: memref<?xi32>, %h: memref<?x32xf32>, %y: memref<?x96xf32>) {
  // CHECK: ember.expert_gate_up %{{.*}}, %{{.*}}, %{{.*}} scaled %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} into %{{.*}} {weight_block = array<i64: 128, 128>} : memref<?x96xf32>, memref<8x32x96xf8E4M3FN>, memref<8x32x96xf8E4M3FN> scaled memref<8x1x1xf32>, memref<8x1x1xf32>, memref<?x3xi32>, memref<?xi32> into memref<?x32xf32>
  ember.expert_gate_up %x, %gate, %up scaled %s, %s, %experts, %order into %h {weight_block = array<i64: 128, 128>} : memref<?x96xf32>, memref<8x32x96xf8E4M3FN>, memref<8x32x96xf8E4M3FN> scaled memref<8x1x1xf32>, memref<8x1x1xf32>, memref<?x3xi32>, memref<?xi32> into memref<?x32xf32>
  // CHECK: ember.expert_down %{{.*}}, %{{.*}} scaled %{{.*}}, %{{.*}}, %{{.*}} into %{{.*}} {weight_block = array<i64: 128, 128>} : memref<?x32xf32>, memref<8x96x32xf8E4M3FN> scaled memref<8x1x1xf32>, memref<?x3xi32>, memref<?xi32> into memref<?x96xf32>
  ember.expert_down %h, %down scaled %s, %experts, %order into %y {weight_block = array<i64: 128, 128>} : memref<?x32xf32>, memref<8x96x32xf8E4M3FN> scaled memref<8x1x1xf32>, memref<?x3xi32>, memref<?xi32> into memref<?x96xf32>
  return
}

// CHECK-LABEL: func @expert_down
// CHECK-SAME: (%[[H:.*]]: memref<?x32xf32>, %[[D:.*]]: memref<8x96x32xf16>, %[[E:.*]]: memref<?x3xi32>, %[[O:.*]]: memref<?xi32>, %[[Y:.*]]: memref<?x96xf32>)
func.func @expert_down(%h: memref<?x32xf32>, %down: memref<8x96x32xf16>, %experts: memref<?x3xi32>, %order: memref<?xi32>, %y: memref<?x96xf32>) {
  // CHECK: ember.expert_down %[[H]], %[[D]], %[[E]], %[[O]] into %[[Y]] : memref<?x32xf32>, memref<8x96x32xf16>, memref<?x3xi32>, memref<?xi32> into memref<?x96xf32>
  ember.expert_down %h, %down, %experts, %order into %y : memref<?x32xf32>, memref<8x96x32xf16>, memref<?x3xi32>, memref<?xi32> into memref<?x96xf32>
  return
}

// CHECK-LABEL: func @moe_combine
// CHECK-SAME: (%[[X:.*]]: memref<?x96xf32>, %[[Y:.*]]: memref<?x96xf32>, %[[E:.*]]: memref<?x3xi32>, %[[W:.*]]: memref<?x3xf32>, %[[R:.*]]: memref<?x96xf32>)
func.func @moe_combine(%x: memref<?x96xf32>, %y: memref<?x96xf32>, %experts: memref<?x3xi32>, %weights: memref<?x3xf32>, %residual: memref<?x96xf32>) {
  // CHECK: ember.moe_combine %[[X]], %[[Y]], %[[E]], %[[W]] into %[[R]] {n_routed = 8 : i64} : memref<?x96xf32>, memref<?x96xf32>, memref<?x3xi32>, memref<?x3xf32> into memref<?x96xf32>
  ember.moe_combine %x, %y, %experts, %weights into %residual {n_routed = 8 : i64} : memref<?x96xf32>, memref<?x96xf32>, memref<?x3xi32>, memref<?x3xf32> into memref<?x96xf32>
  return
}

// A cast to a less static type folds into the op that uses it.
// FOLD-LABEL: func @fold_casts
// FOLD-SAME: %[[E:[^:]*]]: memref<2x3xi32>
func.func @fold_casts(%logits: memref<2x12xf32>, %bias: memref<12xf32>, %experts: memref<2x3xi32>, %weights: memref<?x3xf32>, %order: memref<?xi32>) {
  // FOLD-NOT: memref.cast
  // FOLD: ember.router_topk %{{.*}}, %{{.*}} into %[[E]], %{{.*}} {{.*}} : memref<2x12xf32>, memref<12xf32> into memref<2x3xi32>, memref<?x3xf32>
  // FOLD: ember.moe_dispatch %[[E]] into %{{.*}} {n_routed = 8 : i64} : memref<2x3xi32> into memref<?xi32>
  %l = memref.cast %logits : memref<2x12xf32> to memref<?x12xf32>
  %e = memref.cast %experts : memref<2x3xi32> to memref<?x3xi32>
  ember.router_topk %l, %bias into %e, %weights {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<?x12xf32>, memref<12xf32> into memref<?x3xi32>, memref<?x3xf32>
  ember.moe_dispatch %e into %order {n_routed = 8 : i64} : memref<?x3xi32> into memref<?xi32>
  return
}
