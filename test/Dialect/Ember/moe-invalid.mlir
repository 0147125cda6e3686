// RUN: ember-opt %s --split-input-file --verify-diagnostics

// One case per verifier error of the MoE ops (plus one element-type and
// one weight-type constraint). Defaults: R+Z = 12, k = 3, D = 96, F = 32.

func.func @topk_logits_rank(%logits: memref<12xf32>, %bias: memref<12xf32>, %experts: memref<?x3xi32>, %weights: memref<?x3xf32>) {
  // expected-error @+1 {{logits must have rank 2, got rank 1}}
  ember.router_topk %logits, %bias into %experts, %weights {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<12xf32>, memref<12xf32> into memref<?x3xi32>, memref<?x3xf32>
  return
}
// -----
func.func @topk_bias_rank(%logits: memref<?x12xf32>, %bias: memref<1x12xf32>, %experts: memref<?x3xi32>, %weights: memref<?x3xf32>) {
  // expected-error @+1 {{bias must have rank 1, got rank 2}}
  ember.router_topk %logits, %bias into %experts, %weights {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<?x12xf32>, memref<1x12xf32> into memref<?x3xi32>, memref<?x3xf32>
  return
}
// -----
func.func @topk_experts_rank(%logits: memref<?x12xf32>, %bias: memref<12xf32>, %experts: memref<?xi32>, %weights: memref<?x3xf32>) {
  // expected-error @+1 {{experts must have rank 2, got rank 1}}
  ember.router_topk %logits, %bias into %experts, %weights {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<?x12xf32>, memref<12xf32> into memref<?xi32>, memref<?x3xf32>
  return
}
// -----
func.func @topk_weights_rank(%logits: memref<?x12xf32>, %bias: memref<12xf32>, %experts: memref<?x3xi32>, %weights: memref<?x3x1xf32>) {
  // expected-error @+1 {{weights must have rank 2, got rank 3}}
  ember.router_topk %logits, %bias into %experts, %weights {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<?x12xf32>, memref<12xf32> into memref<?x3xi32>, memref<?x3x1xf32>
  return
}
// -----
func.func @topk_weights_type(%logits: memref<?x12xf32>, %bias: memref<12xf32>, %experts: memref<?x3xi32>, %weights: memref<?x3xf16>) {
  // expected-error @+1 {{operand #3 must be memref of 32-bit float values}}
  ember.router_topk %logits, %bias into %experts, %weights {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<?x12xf32>, memref<12xf32> into memref<?x3xi32>, memref<?x3xf16>
  return
}
// -----
func.func @topk_n_routed(%logits: memref<?x12xf32>, %bias: memref<12xf32>, %experts: memref<?x3xi32>, %weights: memref<?x3xf32>) {
  // expected-error @+1 {{n_routed must be >= 1, got 0}}
  ember.router_topk %logits, %bias into %experts, %weights {n_routed = 0 : i64, scaling = 6.0 : f32} : memref<?x12xf32>, memref<12xf32> into memref<?x3xi32>, memref<?x3xf32>
  return
}
// -----
func.func @topk_bias_experts(%logits: memref<?x12xf32>, %bias: memref<11xf32>, %experts: memref<?x3xi32>, %weights: memref<?x3xf32>) {
  // expected-error @+1 {{bias dim 0 (11) must equal logits dim 1 (12)}}
  ember.router_topk %logits, %bias into %experts, %weights {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<?x12xf32>, memref<11xf32> into memref<?x3xi32>, memref<?x3xf32>
  return
}
// -----
func.func @topk_experts_tokens(%logits: memref<4x12xf32>, %bias: memref<12xf32>, %experts: memref<5x3xi32>, %weights: memref<?x3xf32>) {
  // expected-error @+1 {{experts dim 0 (5) must equal logits dim 0 (4)}}
  ember.router_topk %logits, %bias into %experts, %weights {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<4x12xf32>, memref<12xf32> into memref<5x3xi32>, memref<?x3xf32>
  return
}
// -----
func.func @topk_weights_tokens(%logits: memref<4x12xf32>, %bias: memref<12xf32>, %experts: memref<?x3xi32>, %weights: memref<5x3xf32>) {
  // expected-error @+1 {{weights dim 0 (5) must equal logits dim 0 (4)}}
  ember.router_topk %logits, %bias into %experts, %weights {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<4x12xf32>, memref<12xf32> into memref<?x3xi32>, memref<5x3xf32>
  return
}
// -----
func.func @topk_weights_k(%logits: memref<?x12xf32>, %bias: memref<12xf32>, %experts: memref<?x3xi32>, %weights: memref<?x2xf32>) {
  // expected-error @+1 {{weights dim 1 (2) must equal experts dim 1 (3)}}
  ember.router_topk %logits, %bias into %experts, %weights {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<?x12xf32>, memref<12xf32> into memref<?x3xi32>, memref<?x2xf32>
  return
}
// -----
func.func @topk_k_zero(%logits: memref<?x12xf32>, %bias: memref<12xf32>, %experts: memref<?x0xi32>, %weights: memref<?x0xf32>) {
  // expected-error @+1 {{experts dim 1 (k) must be >= 1, got 0}}
  ember.router_topk %logits, %bias into %experts, %weights {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<?x12xf32>, memref<12xf32> into memref<?x0xi32>, memref<?x0xf32>
  return
}
// -----
func.func @topk_k_zero_weights(%logits: memref<?x12xf32>, %bias: memref<12xf32>, %experts: memref<?x?xi32>, %weights: memref<?x0xf32>) {
  // expected-error @+1 {{weights dim 1 (k) must be >= 1, got 0}}
  ember.router_topk %logits, %bias into %experts, %weights {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<?x12xf32>, memref<12xf32> into memref<?x?xi32>, memref<?x0xf32>
  return
}
// -----
func.func @topk_n_routed_too_many(%logits: memref<?x12xf32>, %bias: memref<12xf32>, %experts: memref<?x3xi32>, %weights: memref<?x3xf32>) {
  // expected-error @+1 {{n_routed (13) must be <= the number of experts R+Z (12, logits dim 1)}}
  ember.router_topk %logits, %bias into %experts, %weights {n_routed = 13 : i64, scaling = 6.0 : f32} : memref<?x12xf32>, memref<12xf32> into memref<?x3xi32>, memref<?x3xf32>
  return
}
// -----
func.func @topk_n_routed_too_many_bias(%logits: memref<?x?xf32>, %bias: memref<12xf32>, %experts: memref<?x3xi32>, %weights: memref<?x3xf32>) {
  // expected-error @+1 {{n_routed (13) must be <= the number of experts R+Z (12, bias dim 0)}}
  ember.router_topk %logits, %bias into %experts, %weights {n_routed = 13 : i64, scaling = 6.0 : f32} : memref<?x?xf32>, memref<12xf32> into memref<?x3xi32>, memref<?x3xf32>
  return
}
// -----
func.func @topk_k_too_large(%logits: memref<?x12xf32>, %bias: memref<12xf32>, %experts: memref<?x13xi32>, %weights: memref<?x13xf32>) {
  // expected-error @+1 {{experts dim 1 (k = 13) must be <= the number of experts R+Z (12, logits dim 1)}}
  ember.router_topk %logits, %bias into %experts, %weights {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<?x12xf32>, memref<12xf32> into memref<?x13xi32>, memref<?x13xf32>
  return
}
// -----
func.func @dispatch_experts_rank(%experts: memref<?xi32>, %order: memref<?xi32>) {
  // expected-error @+1 {{experts must have rank 2, got rank 1}}
  ember.moe_dispatch %experts into %order {n_routed = 8 : i64} : memref<?xi32> into memref<?xi32>
  return
}
// -----
func.func @dispatch_order_rank(%experts: memref<?x3xi32>, %order: memref<?x3xi32>) {
  // expected-error @+1 {{order must have rank 1, got rank 2}}
  ember.moe_dispatch %experts into %order {n_routed = 8 : i64} : memref<?x3xi32> into memref<?x3xi32>
  return
}
// -----
func.func @dispatch_n_routed(%experts: memref<?x3xi32>, %order: memref<?xi32>) {
  // expected-error @+1 {{n_routed must be >= 1, got -1}}
  ember.moe_dispatch %experts into %order {n_routed = -1 : i64} : memref<?x3xi32> into memref<?xi32>
  return
}
// -----
func.func @dispatch_k_zero(%experts: memref<?x0xi32>, %order: memref<?xi32>) {
  // expected-error @+1 {{experts dim 1 (k) must be >= 1, got 0}}
  ember.moe_dispatch %experts into %order {n_routed = 8 : i64} : memref<?x0xi32> into memref<?xi32>
  return
}
// -----
func.func @dispatch_count(%experts: memref<2x3xi32>, %order: memref<5xi32>) {
  // expected-error @+1 {{order dim 0 (5) must equal T*k = experts dim 0 * dim 1 (2 * 3 = 6)}}
  ember.moe_dispatch %experts into %order {n_routed = 8 : i64} : memref<2x3xi32> into memref<5xi32>
  return
}
// -----
func.func @dispatch_multiple(%experts: memref<?x3xi32>, %order: memref<7xi32>) {
  // expected-error @+1 {{order dim 0 (7) must be a multiple of k = experts dim 1 (3)}}
  ember.moe_dispatch %experts into %order {n_routed = 8 : i64} : memref<?x3xi32> into memref<7xi32>
  return
}
// -----
func.func @gate_up_x_rank(%x: memref<?xf32>, %gate: memref<8x32x96xbf16>, %up: memref<8x32x96xbf16>, %experts: memref<?x3xi32>, %order: memref<?xi32>, %h: memref<?x32xf32>) {
  // expected-error @+1 {{x must have rank 2, got rank 1}}
  ember.expert_gate_up %x, %gate, %up, %experts, %order into %h : memref<?xf32>, memref<8x32x96xbf16>, memref<8x32x96xbf16>, memref<?x3xi32>, memref<?xi32> into memref<?x32xf32>
  return
}
// -----
func.func @gate_up_gate_rank(%x: memref<?x96xf32>, %gate: memref<32x96xbf16>, %up: memref<8x32x96xbf16>, %experts: memref<?x3xi32>, %order: memref<?xi32>, %h: memref<?x32xf32>) {
  // expected-error @+1 {{gate must have rank 3, got rank 2}}
  ember.expert_gate_up %x, %gate, %up, %experts, %order into %h : memref<?x96xf32>, memref<32x96xbf16>, memref<8x32x96xbf16>, memref<?x3xi32>, memref<?xi32> into memref<?x32xf32>
  return
}
// -----
func.func @gate_up_up_rank(%x: memref<?x96xf32>, %gate: memref<8x32x96xbf16>, %up: memref<32x96xbf16>, %experts: memref<?x3xi32>, %order: memref<?xi32>, %h: memref<?x32xf32>) {
  // expected-error @+1 {{up must have rank 3, got rank 2}}
  ember.expert_gate_up %x, %gate, %up, %experts, %order into %h : memref<?x96xf32>, memref<8x32x96xbf16>, memref<32x96xbf16>, memref<?x3xi32>, memref<?xi32> into memref<?x32xf32>
  return
}
// -----
func.func @gate_up_experts_rank(%x: memref<?x96xf32>, %gate: memref<8x32x96xbf16>, %up: memref<8x32x96xbf16>, %experts: memref<?xi32>, %order: memref<?xi32>, %h: memref<?x32xf32>) {
  // expected-error @+1 {{experts must have rank 2, got rank 1}}
  ember.expert_gate_up %x, %gate, %up, %experts, %order into %h : memref<?x96xf32>, memref<8x32x96xbf16>, memref<8x32x96xbf16>, memref<?xi32>, memref<?xi32> into memref<?x32xf32>
  return
}
// -----
func.func @gate_up_order_rank(%x: memref<?x96xf32>, %gate: memref<8x32x96xbf16>, %up: memref<8x32x96xbf16>, %experts: memref<?x3xi32>, %order: memref<?x1xi32>, %h: memref<?x32xf32>) {
  // expected-error @+1 {{order must have rank 1, got rank 2}}
  ember.expert_gate_up %x, %gate, %up, %experts, %order into %h : memref<?x96xf32>, memref<8x32x96xbf16>, memref<8x32x96xbf16>, memref<?x3xi32>, memref<?x1xi32> into memref<?x32xf32>
  return
}
// -----
func.func @gate_up_h_rank(%x: memref<?x96xf32>, %gate: memref<8x32x96xbf16>, %up: memref<8x32x96xbf16>, %experts: memref<?x3xi32>, %order: memref<?xi32>, %h: memref<?xf32>) {
  // expected-error @+1 {{h must have rank 2, got rank 1}}
  ember.expert_gate_up %x, %gate, %up, %experts, %order into %h : memref<?x96xf32>, memref<8x32x96xbf16>, memref<8x32x96xbf16>, memref<?x3xi32>, memref<?xi32> into memref<?xf32>
  return
}
// -----
func.func @gate_up_weight_type(%x: memref<?x96xf32>, %gate: memref<8x32x96xf64>, %up: memref<8x32x96xbf16>, %experts: memref<?x3xi32>, %order: memref<?xi32>, %h: memref<?x32xf32>) {
  // expected-error @+1 {{operand #1 must be memref of 32-bit float or bfloat16 type or 16-bit float or f8E4M3FN type values}}
  ember.expert_gate_up %x, %gate, %up, %experts, %order into %h : memref<?x96xf32>, memref<8x32x96xf64>, memref<8x32x96xbf16>, memref<?x3xi32>, memref<?xi32> into memref<?x32xf32>
  return
}
// -----
func.func @gate_up_k_zero(%x: memref<?x96xf32>, %gate: memref<8x32x96xbf16>, %up: memref<8x32x96xbf16>, %experts: memref<?x0xi32>, %order: memref<?xi32>, %h: memref<?x32xf32>) {
  // expected-error @+1 {{experts dim 1 (k) must be >= 1, got 0}}
  ember.expert_gate_up %x, %gate, %up, %experts, %order into %h : memref<?x96xf32>, memref<8x32x96xbf16>, memref<8x32x96xbf16>, memref<?x0xi32>, memref<?xi32> into memref<?x32xf32>
  return
}
// -----
func.func @gate_up_experts_count(%x: memref<?x96xf32>, %gate: memref<8x32x96xbf16>, %up: memref<7x32x96xbf16>, %experts: memref<?x3xi32>, %order: memref<?xi32>, %h: memref<?x32xf32>) {
  // expected-error @+1 {{up dim 0 (7) must equal gate dim 0 (8)}}
  ember.expert_gate_up %x, %gate, %up, %experts, %order into %h : memref<?x96xf32>, memref<8x32x96xbf16>, memref<7x32x96xbf16>, memref<?x3xi32>, memref<?xi32> into memref<?x32xf32>
  return
}
// -----
func.func @gate_up_ffn(%x: memref<?x96xf32>, %gate: memref<8x32x96xbf16>, %up: memref<8x16x96xbf16>, %experts: memref<?x3xi32>, %order: memref<?xi32>, %h: memref<?x32xf32>) {
  // expected-error @+1 {{up dim 1 (16) must equal gate dim 1 (32)}}
  ember.expert_gate_up %x, %gate, %up, %experts, %order into %h : memref<?x96xf32>, memref<8x32x96xbf16>, memref<8x16x96xbf16>, memref<?x3xi32>, memref<?xi32> into memref<?x32xf32>
  return
}
// -----
func.func @gate_up_up_hidden(%x: memref<?x96xf32>, %gate: memref<8x32x96xbf16>, %up: memref<8x32x64xbf16>, %experts: memref<?x3xi32>, %order: memref<?xi32>, %h: memref<?x32xf32>) {
  // expected-error @+1 {{up dim 2 (64) must equal gate dim 2 (96)}}
  ember.expert_gate_up %x, %gate, %up, %experts, %order into %h : memref<?x96xf32>, memref<8x32x96xbf16>, memref<8x32x64xbf16>, memref<?x3xi32>, memref<?xi32> into memref<?x32xf32>
  return
}
// -----
func.func @gate_up_hidden(%x: memref<?x64xf32>, %gate: memref<8x32x96xbf16>, %up: memref<8x32x96xbf16>, %experts: memref<?x3xi32>, %order: memref<?xi32>, %h: memref<?x32xf32>) {
  // expected-error @+1 {{gate dim 2 (96) must equal x dim 1 (64)}}
  ember.expert_gate_up %x, %gate, %up, %experts, %order into %h : memref<?x64xf32>, memref<8x32x96xbf16>, memref<8x32x96xbf16>, memref<?x3xi32>, memref<?xi32> into memref<?x32xf32>
  return
}
// -----
func.func @gate_up_h_ffn(%x: memref<?x96xf32>, %gate: memref<8x32x96xbf16>, %up: memref<8x32x96xbf16>, %experts: memref<?x3xi32>, %order: memref<?xi32>, %h: memref<?x16xf32>) {
  // expected-error @+1 {{h dim 1 (16) must equal gate dim 1 (32)}}
  ember.expert_gate_up %x, %gate, %up, %experts, %order into %h : memref<?x96xf32>, memref<8x32x96xbf16>, memref<8x32x96xbf16>, memref<?x3xi32>, memref<?xi32> into memref<?x16xf32>
  return
}
// -----
func.func @gate_up_tokens(%x: memref<2x96xf32>, %gate: memref<8x32x96xbf16>, %up: memref<8x32x96xbf16>, %experts: memref<3x3xi32>, %order: memref<?xi32>, %h: memref<?x32xf32>) {
  // expected-error @+1 {{experts dim 0 (3) must equal x dim 0 (2)}}
  ember.expert_gate_up %x, %gate, %up, %experts, %order into %h : memref<2x96xf32>, memref<8x32x96xbf16>, memref<8x32x96xbf16>, memref<3x3xi32>, memref<?xi32> into memref<?x32xf32>
  return
}
// -----
func.func @gate_up_rows(%x: memref<?x96xf32>, %gate: memref<8x32x96xbf16>, %up: memref<8x32x96xbf16>, %experts: memref<?x3xi32>, %order: memref<6xi32>, %h: memref<9x32xf32>) {
  // expected-error @+1 {{h dim 0 (9) must equal order dim 0 (6)}}
  ember.expert_gate_up %x, %gate, %up, %experts, %order into %h : memref<?x96xf32>, memref<8x32x96xbf16>, memref<8x32x96xbf16>, memref<?x3xi32>, memref<6xi32> into memref<9x32xf32>
  return
}
// -----
func.func @gate_up_order_count(%x: memref<?x96xf32>, %gate: memref<8x32x96xbf16>, %up: memref<8x32x96xbf16>, %experts: memref<2x3xi32>, %order: memref<5xi32>, %h: memref<?x32xf32>) {
  // expected-error @+1 {{order dim 0 (5) must be at least T*k = 6}}
  ember.expert_gate_up %x, %gate, %up, %experts, %order into %h : memref<?x96xf32>, memref<8x32x96xbf16>, memref<8x32x96xbf16>, memref<2x3xi32>, memref<5xi32> into memref<?x32xf32>
  return
}
// -----
func.func @gate_up_rows_per_tile(%x: memref<?x96xf32>, %gate: memref<8x32x96xbf16>, %up: memref<8x32x96xbf16>, %experts: memref<?x3xi32>, %order: memref<?xi32>, %h: memref<?x32xf32>) {
  // expected-error @+1 {{rows_per_tile must be >= 1, got -2}}
  ember.expert_gate_up %x, %gate, %up, %experts, %order into %h {rows_per_tile = -2 : i64} : memref<?x96xf32>, memref<8x32x96xbf16>, memref<8x32x96xbf16>, memref<?x3xi32>, memref<?xi32> into memref<?x32xf32>
  return
}
// -----
func.func @down_h_rank(%h: memref<?xf32>, %down: memref<8x96x32xbf16>, %experts: memref<?x3xi32>, %order: memref<?xi32>, %y: memref<?x96xf32>) {
  // expected-error @+1 {{h must have rank 2, got rank 1}}
  ember.expert_down %h, %down, %experts, %order into %y : memref<?xf32>, memref<8x96x32xbf16>, memref<?x3xi32>, memref<?xi32> into memref<?x96xf32>
  return
}
// -----
func.func @down_down_rank(%h: memref<?x32xf32>, %down: memref<96x32xbf16>, %experts: memref<?x3xi32>, %order: memref<?xi32>, %y: memref<?x96xf32>) {
  // expected-error @+1 {{down must have rank 3, got rank 2}}
  ember.expert_down %h, %down, %experts, %order into %y : memref<?x32xf32>, memref<96x32xbf16>, memref<?x3xi32>, memref<?xi32> into memref<?x96xf32>
  return
}
// -----
func.func @down_experts_rank(%h: memref<?x32xf32>, %down: memref<8x96x32xbf16>, %experts: memref<?x3x1xi32>, %order: memref<?xi32>, %y: memref<?x96xf32>) {
  // expected-error @+1 {{experts must have rank 2, got rank 3}}
  ember.expert_down %h, %down, %experts, %order into %y : memref<?x32xf32>, memref<8x96x32xbf16>, memref<?x3x1xi32>, memref<?xi32> into memref<?x96xf32>
  return
}
// -----
func.func @down_order_rank(%h: memref<?x32xf32>, %down: memref<8x96x32xbf16>, %experts: memref<?x3xi32>, %order: memref<?x3xi32>, %y: memref<?x96xf32>) {
  // expected-error @+1 {{order must have rank 1, got rank 2}}
  ember.expert_down %h, %down, %experts, %order into %y : memref<?x32xf32>, memref<8x96x32xbf16>, memref<?x3xi32>, memref<?x3xi32> into memref<?x96xf32>
  return
}
// -----
func.func @down_y_rank(%h: memref<?x32xf32>, %down: memref<8x96x32xbf16>, %experts: memref<?x3xi32>, %order: memref<?xi32>, %y: memref<?xf32>) {
  // expected-error @+1 {{y must have rank 2, got rank 1}}
  ember.expert_down %h, %down, %experts, %order into %y : memref<?x32xf32>, memref<8x96x32xbf16>, memref<?x3xi32>, memref<?xi32> into memref<?xf32>
  return
}
// -----
func.func @down_k_zero(%h: memref<?x32xf32>, %down: memref<8x96x32xbf16>, %experts: memref<?x0xi32>, %order: memref<?xi32>, %y: memref<?x96xf32>) {
  // expected-error @+1 {{experts dim 1 (k) must be >= 1, got 0}}
  ember.expert_down %h, %down, %experts, %order into %y : memref<?x32xf32>, memref<8x96x32xbf16>, memref<?x0xi32>, memref<?xi32> into memref<?x96xf32>
  return
}
// -----
func.func @down_ffn(%h: memref<?x16xf32>, %down: memref<8x96x32xbf16>, %experts: memref<?x3xi32>, %order: memref<?xi32>, %y: memref<?x96xf32>) {
  // expected-error @+1 {{down dim 2 (32) must equal h dim 1 (16)}}
  ember.expert_down %h, %down, %experts, %order into %y : memref<?x16xf32>, memref<8x96x32xbf16>, memref<?x3xi32>, memref<?xi32> into memref<?x96xf32>
  return
}
// -----
func.func @down_hidden(%h: memref<?x32xf32>, %down: memref<8x96x32xbf16>, %experts: memref<?x3xi32>, %order: memref<?xi32>, %y: memref<?x64xf32>) {
  // expected-error @+1 {{y dim 1 (64) must equal down dim 1 (96)}}
  ember.expert_down %h, %down, %experts, %order into %y : memref<?x32xf32>, memref<8x96x32xbf16>, memref<?x3xi32>, memref<?xi32> into memref<?x64xf32>
  return
}
// -----
func.func @down_h_rows(%h: memref<6x32xf32>, %down: memref<8x96x32xbf16>, %experts: memref<?x3xi32>, %order: memref<9xi32>, %y: memref<?x96xf32>) {
  // expected-error @+1 {{h dim 0 (6) must equal order dim 0 (9)}}
  ember.expert_down %h, %down, %experts, %order into %y : memref<6x32xf32>, memref<8x96x32xbf16>, memref<?x3xi32>, memref<9xi32> into memref<?x96xf32>
  return
}
// -----
func.func @down_y_rows(%h: memref<?x32xf32>, %down: memref<8x96x32xbf16>, %experts: memref<?x3xi32>, %order: memref<9xi32>, %y: memref<6x96xf32>) {
  // expected-error @+1 {{y dim 0 (6) must equal order dim 0 (9)}}
  ember.expert_down %h, %down, %experts, %order into %y : memref<?x32xf32>, memref<8x96x32xbf16>, memref<?x3xi32>, memref<9xi32> into memref<6x96xf32>
  return
}
// -----
func.func @down_order_count(%h: memref<?x32xf32>, %down: memref<8x96x32xbf16>, %experts: memref<2x3xi32>, %order: memref<9xi32>, %y: memref<?x96xf32>) {
  // expected-error @+1 {{order dim 0 (9) must equal T*k = experts dim 0 * dim 1 (2 * 3 = 6)}}
  ember.expert_down %h, %down, %experts, %order into %y : memref<?x32xf32>, memref<8x96x32xbf16>, memref<2x3xi32>, memref<9xi32> into memref<?x96xf32>
  return
}
// -----
func.func @down_h_count(%h: memref<4x32xf32>, %down: memref<8x96x32xbf16>, %experts: memref<?x3xi32>, %order: memref<?xi32>, %y: memref<?x96xf32>) {
  // expected-error @+1 {{h dim 0 (4) must be a multiple of k = experts dim 1 (3)}}
  ember.expert_down %h, %down, %experts, %order into %y : memref<4x32xf32>, memref<8x96x32xbf16>, memref<?x3xi32>, memref<?xi32> into memref<?x96xf32>
  return
}
// -----
func.func @down_y_count(%h: memref<?x32xf32>, %down: memref<8x96x32xbf16>, %experts: memref<2x3xi32>, %order: memref<?xi32>, %y: memref<3x96xf32>) {
  // expected-error @+1 {{y dim 0 (3) must equal T*k = experts dim 0 * dim 1 (2 * 3 = 6)}}
  ember.expert_down %h, %down, %experts, %order into %y : memref<?x32xf32>, memref<8x96x32xbf16>, memref<2x3xi32>, memref<?xi32> into memref<3x96xf32>
  return
}
// -----
func.func @combine_x_rank(%x: memref<96xf32>, %y: memref<?x96xf32>, %experts: memref<?x3xi32>, %weights: memref<?x3xf32>, %out: memref<?x96xf32>) {
  // expected-error @+1 {{x must have rank 2, got rank 1}}
  ember.moe_combine %x, %y, %experts, %weights into %out {n_routed = 8 : i64} : memref<96xf32>, memref<?x96xf32>, memref<?x3xi32>, memref<?x3xf32> into memref<?x96xf32>
  return
}
// -----
func.func @combine_y_rank(%x: memref<?x96xf32>, %y: memref<96xf32>, %experts: memref<?x3xi32>, %weights: memref<?x3xf32>, %out: memref<?x96xf32>) {
  // expected-error @+1 {{y must have rank 2, got rank 1}}
  ember.moe_combine %x, %y, %experts, %weights into %out {n_routed = 8 : i64} : memref<?x96xf32>, memref<96xf32>, memref<?x3xi32>, memref<?x3xf32> into memref<?x96xf32>
  return
}
// -----
func.func @combine_experts_rank(%x: memref<?x96xf32>, %y: memref<?x96xf32>, %experts: memref<?xi32>, %weights: memref<?x3xf32>, %out: memref<?x96xf32>) {
  // expected-error @+1 {{experts must have rank 2, got rank 1}}
  ember.moe_combine %x, %y, %experts, %weights into %out {n_routed = 8 : i64} : memref<?x96xf32>, memref<?x96xf32>, memref<?xi32>, memref<?x3xf32> into memref<?x96xf32>
  return
}
// -----
func.func @combine_weights_rank(%x: memref<?x96xf32>, %y: memref<?x96xf32>, %experts: memref<?x3xi32>, %weights: memref<?xf32>, %out: memref<?x96xf32>) {
  // expected-error @+1 {{weights must have rank 2, got rank 1}}
  ember.moe_combine %x, %y, %experts, %weights into %out {n_routed = 8 : i64} : memref<?x96xf32>, memref<?x96xf32>, memref<?x3xi32>, memref<?xf32> into memref<?x96xf32>
  return
}
// -----
func.func @combine_out_rank(%x: memref<?x96xf32>, %y: memref<?x96xf32>, %experts: memref<?x3xi32>, %weights: memref<?x3xf32>, %out: memref<?x1x96xf32>) {
  // expected-error @+1 {{out must have rank 2, got rank 3}}
  ember.moe_combine %x, %y, %experts, %weights into %out {n_routed = 8 : i64} : memref<?x96xf32>, memref<?x96xf32>, memref<?x3xi32>, memref<?x3xf32> into memref<?x1x96xf32>
  return
}
// -----
func.func @combine_n_routed(%x: memref<?x96xf32>, %y: memref<?x96xf32>, %experts: memref<?x3xi32>, %weights: memref<?x3xf32>, %out: memref<?x96xf32>) {
  // expected-error @+1 {{n_routed must be >= 1, got 0}}
  ember.moe_combine %x, %y, %experts, %weights into %out {n_routed = 0 : i64} : memref<?x96xf32>, memref<?x96xf32>, memref<?x3xi32>, memref<?x3xf32> into memref<?x96xf32>
  return
}
// -----
func.func @combine_k_zero(%x: memref<?x96xf32>, %y: memref<?x96xf32>, %experts: memref<?x0xi32>, %weights: memref<?x0xf32>, %out: memref<?x96xf32>) {
  // expected-error @+1 {{experts dim 1 (k) must be >= 1, got 0}}
  ember.moe_combine %x, %y, %experts, %weights into %out {n_routed = 8 : i64} : memref<?x96xf32>, memref<?x96xf32>, memref<?x0xi32>, memref<?x0xf32> into memref<?x96xf32>
  return
}
// -----
func.func @combine_tokens(%x: memref<2x96xf32>, %y: memref<?x96xf32>, %experts: memref<?x3xi32>, %weights: memref<?x3xf32>, %out: memref<3x96xf32>) {
  // expected-error @+1 {{out dim 0 (3) must equal x dim 0 (2)}}
  ember.moe_combine %x, %y, %experts, %weights into %out {n_routed = 8 : i64} : memref<2x96xf32>, memref<?x96xf32>, memref<?x3xi32>, memref<?x3xf32> into memref<3x96xf32>
  return
}
// -----
func.func @combine_hidden(%x: memref<?x96xf32>, %y: memref<?x96xf32>, %experts: memref<?x3xi32>, %weights: memref<?x3xf32>, %out: memref<?x64xf32>) {
  // expected-error @+1 {{out dim 1 (64) must equal x dim 1 (96)}}
  ember.moe_combine %x, %y, %experts, %weights into %out {n_routed = 8 : i64} : memref<?x96xf32>, memref<?x96xf32>, memref<?x3xi32>, memref<?x3xf32> into memref<?x64xf32>
  return
}
// -----
func.func @combine_y_hidden(%x: memref<?x96xf32>, %y: memref<?x64xf32>, %experts: memref<?x3xi32>, %weights: memref<?x3xf32>, %out: memref<?x96xf32>) {
  // expected-error @+1 {{y dim 1 (64) must equal x dim 1 (96)}}
  ember.moe_combine %x, %y, %experts, %weights into %out {n_routed = 8 : i64} : memref<?x96xf32>, memref<?x64xf32>, memref<?x3xi32>, memref<?x3xf32> into memref<?x96xf32>
  return
}
// -----
func.func @combine_experts_tokens(%x: memref<2x96xf32>, %y: memref<?x96xf32>, %experts: memref<3x3xi32>, %weights: memref<?x3xf32>, %out: memref<?x96xf32>) {
  // expected-error @+1 {{experts dim 0 (3) must equal x dim 0 (2)}}
  ember.moe_combine %x, %y, %experts, %weights into %out {n_routed = 8 : i64} : memref<2x96xf32>, memref<?x96xf32>, memref<3x3xi32>, memref<?x3xf32> into memref<?x96xf32>
  return
}
// -----
func.func @combine_weights_tokens(%x: memref<?x96xf32>, %y: memref<?x96xf32>, %experts: memref<2x3xi32>, %weights: memref<3x3xf32>, %out: memref<?x96xf32>) {
  // expected-error @+1 {{weights dim 0 (3) must equal experts dim 0 (2)}}
  ember.moe_combine %x, %y, %experts, %weights into %out {n_routed = 8 : i64} : memref<?x96xf32>, memref<?x96xf32>, memref<2x3xi32>, memref<3x3xf32> into memref<?x96xf32>
  return
}
// -----
func.func @combine_weights_k(%x: memref<?x96xf32>, %y: memref<?x96xf32>, %experts: memref<?x3xi32>, %weights: memref<?x2xf32>, %out: memref<?x96xf32>) {
  // expected-error @+1 {{weights dim 1 (2) must equal experts dim 1 (3)}}
  ember.moe_combine %x, %y, %experts, %weights into %out {n_routed = 8 : i64} : memref<?x96xf32>, memref<?x96xf32>, memref<?x3xi32>, memref<?x2xf32> into memref<?x96xf32>
  return
}
// -----
func.func @combine_y_count(%x: memref<?x96xf32>, %y: memref<5x96xf32>, %experts: memref<2x3xi32>, %weights: memref<?x3xf32>, %out: memref<?x96xf32>) {
  // expected-error @+1 {{y dim 0 (5) must equal T*k = experts dim 0 * dim 1 (2 * 3 = 6)}}
  ember.moe_combine %x, %y, %experts, %weights into %out {n_routed = 8 : i64} : memref<?x96xf32>, memref<5x96xf32>, memref<2x3xi32>, memref<?x3xf32> into memref<?x96xf32>
  return
}

// -----
func.func @expert_fp8_scale_shape(%x: memref<?x96xf32>, %gate: memref<8x32x96xf8E4M3FN>, %up: memref<8x32x96xf8E4M3FN>, %sg: memref<8x1x1xf32>, %su: memref<4x1x1xf32>, %experts: memref<?x3xi32>, %order: memref<?xi32>, %h: memref<?x32xf32>) {
  // expected-error @+1 {{weight_scale dim 0 (4) must be ceil(up dim 0 (8) / 1) = 8}}
  ember.expert_gate_up %x, %gate, %up scaled %sg, %su, %experts, %order into %h {weight_block = array<i64: 128, 128>} : memref<?x96xf32>, memref<8x32x96xf8E4M3FN>, memref<8x32x96xf8E4M3FN> scaled memref<8x1x1xf32>, memref<4x1x1xf32>, memref<?x3xi32>, memref<?xi32> into memref<?x32xf32>
  return
}

// -----
func.func @expert_down_fp8_without_scales(%h: memref<?x32xf32>, %down: memref<8x96x32xf8E4M3FN>, %experts: memref<?x3xi32>, %order: memref<?xi32>, %y: memref<?x96xf32>) {
  // expected-error @+1 {{an f8E4M3FN down needs weight_scale and weight_block}}
  ember.expert_down %h, %down, %experts, %order into %y : memref<?x32xf32>, memref<8x96x32xf8E4M3FN>, memref<?x3xi32>, memref<?xi32> into memref<?x96xf32>
  return
}
