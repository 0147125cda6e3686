// RUN: ember-opt %s -split-input-file -verify-diagnostics

func.func @swiglu_rank(%x: memref<96xf32>, %g: memref<192x96xf32>, %u: memref<192x96xf32>, %h: memref<?x192xf32>) {
  // expected-error @+1 {{x must have rank 2, got rank 1}}
  ember.swiglu %x, %g, %u into %h : memref<96xf32>, memref<192x96xf32>, memref<192x96xf32> into memref<?x192xf32>
  return
}

// -----
func.func @swiglu_weights(%x: memref<?x96xf32>, %g: memref<192x96xf32>, %u: memref<128x96xf32>, %h: memref<?x192xf32>) {
  // expected-error @+1 {{up_weight dim 0 (128) must equal gate_weight dim 0 (192)}}
  ember.swiglu %x, %g, %u into %h : memref<?x96xf32>, memref<192x96xf32>, memref<128x96xf32> into memref<?x192xf32>
  return
}

// -----
func.func @swiglu_inner(%x: memref<?x64xf32>, %g: memref<192x96xf32>, %u: memref<192x96xf32>, %h: memref<?x192xf32>) {
  // expected-error @+1 {{x dim 1 (64) must equal gate_weight dim 1 (96)}}
  ember.swiglu %x, %g, %u into %h : memref<?x64xf32>, memref<192x96xf32>, memref<192x96xf32> into memref<?x192xf32>
  return
}

// -----
func.func @swiglu_tokens(%x: memref<3x96xf32>, %g: memref<192x96xf32>, %u: memref<192x96xf32>, %h: memref<4x192xf32>) {
  // expected-error @+1 {{out dim 0 (4) must equal x dim 0 (3)}}
  ember.swiglu %x, %g, %u into %h : memref<3x96xf32>, memref<192x96xf32>, memref<192x96xf32> into memref<4x192xf32>
  return
}

// -----
func.func @swiglu_hidden(%x: memref<?x96xf32>, %g: memref<192x96xf32>, %u: memref<192x96xf32>, %h: memref<?x100xf32>) {
  // expected-error @+1 {{out dim 1 (100) must equal gate_weight dim 0 (192)}}
  ember.swiglu %x, %g, %u into %h : memref<?x96xf32>, memref<192x96xf32>, memref<192x96xf32> into memref<?x100xf32>
  return
}

// -----
func.func @ngram_embed_rank(%table: memref<?xi32>, %s: memref<?xi32>, %p: memref<?xi32>, %embed: memref<5x8xf32>, %tables: memref<24x4xf32>, %proj: memref<2x8x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{token table must have rank 2, got rank 1}}
  ember.ngram_embed %p, %table[%s, %p], %embed, %tables, %proj into %out {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<?xi32>, memref<?xi32>, memref<?xi32>, memref<5x8xf32>, memref<24x4xf32>, memref<2x8x4xf32> into memref<?x8xf32>
  return
}

// -----
func.func @ngram_embed_tokens(%table: memref<?x?xi32>, %s: memref<?xi32>, %p: memref<?xi32>, %tokens: memref<3xi32>, %embed: memref<5x8xf32>, %tables: memref<24x4xf32>, %proj: memref<2x8x4xf32>, %out: memref<2x8xf32>) {
  // expected-error @+1 {{tokens dim 0 (3) must equal out dim 0 (2)}}
  ember.ngram_embed %tokens, %table[%s, %p], %embed, %tables, %proj into %out {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<3xi32>, memref<?x?xi32>, memref<?xi32>, memref<5x8xf32>, memref<24x4xf32>, memref<2x8x4xf32> into memref<2x8xf32>
  return
}

// -----
func.func @ngram_embed_proj_rank(%table: memref<?x?xi32>, %s: memref<?xi32>, %p: memref<?xi32>, %embed: memref<5x8xf32>, %tables: memref<24x4xf32>, %proj: memref<8x8xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{projections must have rank 3, got rank 2}}
  ember.ngram_embed %p, %table[%s, %p], %embed, %tables, %proj into %out {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<?xi32>, memref<?x?xi32>, memref<?xi32>, memref<5x8xf32>, memref<24x4xf32>, memref<8x8xf32> into memref<?x8xf32>
  return
}

// -----
func.func @ngram_embed_word(%table: memref<?x?xi32>, %s: memref<?xi32>, %p: memref<?xi32>, %embed: memref<5x6xf32>, %tables: memref<24x4xf32>, %proj: memref<2x8x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{out dim 1 (8) must equal embed dim 1 (6)}}
  ember.ngram_embed %p, %table[%s, %p], %embed, %tables, %proj into %out {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<?xi32>, memref<?x?xi32>, memref<?xi32>, memref<5x6xf32>, memref<24x4xf32>, memref<2x8x4xf32> into memref<?x8xf32>
  return
}

// -----
func.func @ngram_embed_hidden(%table: memref<?x?xi32>, %s: memref<?xi32>, %p: memref<?xi32>, %embed: memref<5x8xf32>, %tables: memref<24x4xf32>, %proj: memref<2x6x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{out dim 1 (8) must equal projections dim 1 (6)}}
  ember.ngram_embed %p, %table[%s, %p], %embed, %tables, %proj into %out {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<?xi32>, memref<?x?xi32>, memref<?xi32>, memref<5x8xf32>, memref<24x4xf32>, memref<2x6x4xf32> into memref<?x8xf32>
  return
}

// -----
func.func @ngram_embed_width(%table: memref<?x?xi32>, %s: memref<?xi32>, %p: memref<?xi32>, %embed: memref<5x8xf32>, %tables: memref<24x3xf32>, %proj: memref<2x8x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{tables dim 1 (3) must equal projections dim 2 (4)}}
  ember.ngram_embed %p, %table[%s, %p], %embed, %tables, %proj into %out {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<?xi32>, memref<?x?xi32>, memref<?xi32>, memref<5x8xf32>, memref<24x3xf32>, memref<2x8x4xf32> into memref<?x8xf32>
  return
}

// -----
func.func @ngram_embed_tables(%table: memref<?x?xi32>, %s: memref<?xi32>, %p: memref<?xi32>, %embed: memref<5x8xf32>, %tables: memref<24x4xf32>, %proj: memref<3x8x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{projections dim 0 (3) must equal E = K*(N-1) = 2}}
  ember.ngram_embed %p, %table[%s, %p], %embed, %tables, %proj into %out {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<?xi32>, memref<?x?xi32>, memref<?xi32>, memref<5x8xf32>, memref<24x4xf32>, memref<3x8x4xf32> into memref<?x8xf32>
  return
}

// -----
func.func @ngram_embed_rows(%table: memref<?x?xi32>, %s: memref<?xi32>, %p: memref<?xi32>, %embed: memref<5x8xf32>, %tables: memref<23x4xf32>, %proj: memref<2x8x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{tables have 23 rows but the n-gram tables need sum M_i = 24}}
  ember.ngram_embed %p, %table[%s, %p], %embed, %tables, %proj into %out {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<?xi32>, memref<?x?xi32>, memref<?xi32>, memref<5x8xf32>, memref<23x4xf32>, memref<2x8x4xf32> into memref<?x8xf32>
  return
}

// -----
func.func @fused_router_u_rank(%u: memref<96xf32>, %c: memref<12x96xf32>, %b: memref<12xf32>, %e: memref<?x3xi32>, %w: memref<?x3xf32>) {
  // expected-error @+1 {{u must have rank 2, got rank 1}}
  ember.fused_router %u, %c, %b into %e, %w {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<96xf32>, memref<12x96xf32>, memref<12xf32> into memref<?x3xi32>, memref<?x3xf32>
  return
}

// -----
func.func @fused_router_classifier_rank(%u: memref<?x96xf32>, %c: memref<12x96x1xf32>, %b: memref<12xf32>, %e: memref<?x3xi32>, %w: memref<?x3xf32>) {
  // expected-error @+1 {{classifier must have rank 2, got rank 3}}
  ember.fused_router %u, %c, %b into %e, %w {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<?x96xf32>, memref<12x96x1xf32>, memref<12xf32> into memref<?x3xi32>, memref<?x3xf32>
  return
}

// -----
func.func @fused_router_bias_rank(%u: memref<?x96xf32>, %c: memref<12x96xf32>, %b: memref<1x12xf32>, %e: memref<?x3xi32>, %w: memref<?x3xf32>) {
  // expected-error @+1 {{bias must have rank 1, got rank 2}}
  ember.fused_router %u, %c, %b into %e, %w {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<?x96xf32>, memref<12x96xf32>, memref<1x12xf32> into memref<?x3xi32>, memref<?x3xf32>
  return
}

// -----
func.func @fused_router_experts_rank(%u: memref<?x96xf32>, %c: memref<12x96xf32>, %b: memref<12xf32>, %e: memref<?xi32>, %w: memref<?x3xf32>) {
  // expected-error @+1 {{experts must have rank 2, got rank 1}}
  ember.fused_router %u, %c, %b into %e, %w {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<?x96xf32>, memref<12x96xf32>, memref<12xf32> into memref<?xi32>, memref<?x3xf32>
  return
}

// -----
func.func @fused_router_weights_rank(%u: memref<?x96xf32>, %c: memref<12x96xf32>, %b: memref<12xf32>, %e: memref<?x3xi32>, %w: memref<?x3x1xf32>) {
  // expected-error @+1 {{weights must have rank 2, got rank 3}}
  ember.fused_router %u, %c, %b into %e, %w {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<?x96xf32>, memref<12x96xf32>, memref<12xf32> into memref<?x3xi32>, memref<?x3x1xf32>
  return
}

// -----
func.func @fused_router_experts_type(%u: memref<?x96xf32>, %c: memref<12x96xf32>, %b: memref<12xf32>, %e: memref<?x3xf32>, %w: memref<?x3xf32>) {
  // expected-error @+1 {{operand #3 must be memref of 32-bit signless integer values}}
  ember.fused_router %u, %c, %b into %e, %w {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<?x96xf32>, memref<12x96xf32>, memref<12xf32> into memref<?x3xf32>, memref<?x3xf32>
  return
}

// -----
func.func @fused_router_classifier_type(%u: memref<?x96xf32>, %c: memref<12x96xi8>, %b: memref<12xf32>, %e: memref<?x3xi32>, %w: memref<?x3xf32>) {
  // expected-error @+1 {{operand #1 must be memref of 32-bit float or bfloat16 type or 16-bit float values}}
  ember.fused_router %u, %c, %b into %e, %w {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<?x96xf32>, memref<12x96xi8>, memref<12xf32> into memref<?x3xi32>, memref<?x3xf32>
  return
}

// -----
func.func @fused_router_inner(%u: memref<?x64xf32>, %c: memref<12x96xf32>, %b: memref<12xf32>, %e: memref<?x3xi32>, %w: memref<?x3xf32>) {
  // expected-error @+1 {{u dim 1 (64) must equal classifier dim 1 (96)}}
  ember.fused_router %u, %c, %b into %e, %w {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<?x64xf32>, memref<12x96xf32>, memref<12xf32> into memref<?x3xi32>, memref<?x3xf32>
  return
}

// -----
func.func @fused_router_experts_tokens(%u: memref<4x96xf32>, %c: memref<12x96xf32>, %b: memref<12xf32>, %e: memref<5x3xi32>, %w: memref<4x3xf32>) {
  // expected-error @+1 {{experts dim 0 (5) must equal u dim 0 (4)}}
  ember.fused_router %u, %c, %b into %e, %w {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<4x96xf32>, memref<12x96xf32>, memref<12xf32> into memref<5x3xi32>, memref<4x3xf32>
  return
}

// -----
func.func @fused_router_weights_tokens(%u: memref<4x96xf32>, %c: memref<12x96xf32>, %b: memref<12xf32>, %e: memref<4x3xi32>, %w: memref<5x3xf32>) {
  // expected-error @+1 {{weights dim 0 (5) must equal u dim 0 (4)}}
  ember.fused_router %u, %c, %b into %e, %w {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<4x96xf32>, memref<12x96xf32>, memref<12xf32> into memref<4x3xi32>, memref<5x3xf32>
  return
}

// -----
func.func @fused_router_n_routed(%u: memref<?x96xf32>, %c: memref<12x96xf32>, %b: memref<12xf32>, %e: memref<?x3xi32>, %w: memref<?x3xf32>) {
  // expected-error @+1 {{n_routed must be >= 1, got 0}}
  ember.fused_router %u, %c, %b into %e, %w {n_routed = 0 : i64, scaling = 6.0 : f32} : memref<?x96xf32>, memref<12x96xf32>, memref<12xf32> into memref<?x3xi32>, memref<?x3xf32>
  return
}

// -----
func.func @fused_router_bias_experts(%u: memref<?x96xf32>, %c: memref<12x96xf32>, %b: memref<11xf32>, %e: memref<?x3xi32>, %w: memref<?x3xf32>) {
  // expected-error @+1 {{bias dim 0 (11) must equal classifier dim 0 (12)}}
  ember.fused_router %u, %c, %b into %e, %w {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<?x96xf32>, memref<12x96xf32>, memref<11xf32> into memref<?x3xi32>, memref<?x3xf32>
  return
}

// -----
func.func @fused_router_weights_k(%u: memref<?x96xf32>, %c: memref<12x96xf32>, %b: memref<12xf32>, %e: memref<?x3xi32>, %w: memref<?x2xf32>) {
  // expected-error @+1 {{weights dim 1 (2) must equal experts dim 1 (3)}}
  ember.fused_router %u, %c, %b into %e, %w {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<?x96xf32>, memref<12x96xf32>, memref<12xf32> into memref<?x3xi32>, memref<?x2xf32>
  return
}

// -----
func.func @fused_router_k_zero(%u: memref<?x96xf32>, %c: memref<12x96xf32>, %b: memref<12xf32>, %e: memref<?x0xi32>, %w: memref<?x?xf32>) {
  // expected-error @+1 {{experts dim 1 (k) must be >= 1, got 0}}
  ember.fused_router %u, %c, %b into %e, %w {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<?x96xf32>, memref<12x96xf32>, memref<12xf32> into memref<?x0xi32>, memref<?x?xf32>
  return
}

// -----
func.func @fused_router_n_routed_classifier(%u: memref<?x96xf32>, %c: memref<12x96xf32>, %b: memref<?xf32>, %e: memref<?x3xi32>, %w: memref<?x3xf32>) {
  // expected-error @+1 {{n_routed (13) must be <= the number of experts R+Z (12, classifier dim 0)}}
  ember.fused_router %u, %c, %b into %e, %w {n_routed = 13 : i64, scaling = 6.0 : f32} : memref<?x96xf32>, memref<12x96xf32>, memref<?xf32> into memref<?x3xi32>, memref<?x3xf32>
  return
}

// -----
func.func @fused_router_n_routed_bias(%u: memref<?x96xf32>, %c: memref<?x96xf32>, %b: memref<12xf32>, %e: memref<?x3xi32>, %w: memref<?x3xf32>) {
  // expected-error @+1 {{n_routed (13) must be <= the number of experts R+Z (12, bias dim 0)}}
  ember.fused_router %u, %c, %b into %e, %w {n_routed = 13 : i64, scaling = 6.0 : f32} : memref<?x96xf32>, memref<?x96xf32>, memref<12xf32> into memref<?x3xi32>, memref<?x3xf32>
  return
}

// -----
func.func @fused_router_k_too_large(%u: memref<?x96xf32>, %c: memref<12x96xf32>, %b: memref<12xf32>, %e: memref<?x13xi32>, %w: memref<?x13xf32>) {
  // expected-error @+1 {{experts dim 1 (k = 13) must be <= the number of experts R+Z (12, classifier dim 0)}}
  ember.fused_router %u, %c, %b into %e, %w {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<?x96xf32>, memref<12x96xf32>, memref<12xf32> into memref<?x13xi32>, memref<?x13xf32>
  return
}

// -----
func.func @fused_router_missing_scaling(%u: memref<?x96xf32>, %c: memref<12x96xf32>, %b: memref<12xf32>, %e: memref<?x3xi32>, %w: memref<?x3xf32>) {
  // expected-error @+1 {{requires attribute 'scaling'}}
  ember.fused_router %u, %c, %b into %e, %w {n_routed = 8 : i64} : memref<?x96xf32>, memref<12x96xf32>, memref<12xf32> into memref<?x3xi32>, memref<?x3xf32>
  return
}

// -----
func.func @norm_linear_x_rank(%x: memref<96xf32>, %n: memref<96xf32>, %w: memref<48x96xf32>, %y: memref<?x48xf32>) {
  // expected-error @+1 {{x must have rank 2, got rank 1}}
  ember.norm_linear %x, %n, %w into %y {eps = 1.0e-5 : f32} : memref<96xf32>, memref<96xf32>, memref<48x96xf32> into memref<?x48xf32>
  return
}

// -----
func.func @norm_linear_norm_rank(%x: memref<?x96xf32>, %n: memref<1x96xf32>, %w: memref<48x96xf32>, %y: memref<?x48xf32>) {
  // expected-error @+1 {{norm_weight must have rank 1, got rank 2}}
  ember.norm_linear %x, %n, %w into %y {eps = 1.0e-5 : f32} : memref<?x96xf32>, memref<1x96xf32>, memref<48x96xf32> into memref<?x48xf32>
  return
}

// -----
func.func @norm_linear_norm_width(%x: memref<?x96xf32>, %n: memref<64xf32>, %w: memref<48x96xf32>, %y: memref<?x48xf32>) {
  // expected-error @+1 {{x dim 1 (96) must equal norm_weight dim 0 (64)}}
  ember.norm_linear %x, %n, %w into %y {eps = 1.0e-5 : f32} : memref<?x96xf32>, memref<64xf32>, memref<48x96xf32> into memref<?x48xf32>
  return
}

// -----
func.func @norm_linear_eps(%x: memref<?x96xf32>, %n: memref<96xf32>, %w: memref<48x96xf32>, %y: memref<?x48xf32>) {
  // expected-error @+1 {{eps must be > 0, got 0}}
  ember.norm_linear %x, %n, %w into %y {eps = 0.0 : f32} : memref<?x96xf32>, memref<96xf32>, memref<48x96xf32> into memref<?x48xf32>
  return
}

// -----
func.func @norm_linear_weight_rank(%x: memref<?x96xf32>, %n: memref<96xf32>, %w: memref<96xf32>, %y: memref<?x48xf32>) {
  // expected-error @+1 {{weight must have rank 2, got rank 1}}
  ember.norm_linear %x, %n, %w into %y {eps = 1.0e-5 : f32} : memref<?x96xf32>, memref<96xf32>, memref<96xf32> into memref<?x48xf32>
  return
}

// -----
func.func @norm_linear_inner(%x: memref<?x96xf32>, %n: memref<96xf32>, %w: memref<48x64xf32>, %y: memref<?x48xf32>) {
  // expected-error @+1 {{x dim 1 (96) must equal weight dim 1 (64)}}
  ember.norm_linear %x, %n, %w into %y {eps = 1.0e-5 : f32} : memref<?x96xf32>, memref<96xf32>, memref<48x64xf32> into memref<?x48xf32>
  return
}

// -----
func.func @norm_linear_tokens(%x: memref<3x96xf32>, %n: memref<96xf32>, %w: memref<48x96xf32>, %y: memref<4x48xf32>) {
  // expected-error @+1 {{out dim 0 (4) must equal x dim 0 (3)}}
  ember.norm_linear %x, %n, %w into %y {eps = 1.0e-5 : f32} : memref<3x96xf32>, memref<96xf32>, memref<48x96xf32> into memref<4x48xf32>
  return
}

// -----
func.func @norm_linear_outputs(%x: memref<?x96xf32>, %n: memref<96xf32>, %w: memref<48x96xf32>, %y: memref<?x40xf32>) {
  // expected-error @+1 {{out dim 1 (40) must equal weight dim 0 (48)}}
  ember.norm_linear %x, %n, %w into %y {eps = 1.0e-5 : f32} : memref<?x96xf32>, memref<96xf32>, memref<48x96xf32> into memref<?x40xf32>
  return
}

// -----
func.func @norm_linear_missing_eps(%x: memref<?x96xf32>, %n: memref<96xf32>, %w: memref<48x96xf32>, %y: memref<?x48xf32>) {
  // expected-error @+1 {{requires attribute 'eps'}}
  ember.norm_linear %x, %n, %w into %y : memref<?x96xf32>, memref<96xf32>, memref<48x96xf32> into memref<?x48xf32>
  return
}

// -----
func.func @norm_swiglu_norm_width(%x: memref<?x96xf32>, %n: memref<64xf32>, %g: memref<192x96xf32>, %u: memref<192x96xf32>, %h: memref<?x192xf32>) {
  // expected-error @+1 {{x dim 1 (96) must equal norm_weight dim 0 (64)}}
  ember.norm_swiglu %x, %n, %g, %u into %h {eps = 1.0e-5 : f32} : memref<?x96xf32>, memref<64xf32>, memref<192x96xf32>, memref<192x96xf32> into memref<?x192xf32>
  return
}

// -----
func.func @norm_swiglu_eps(%x: memref<?x96xf32>, %n: memref<96xf32>, %g: memref<192x96xf32>, %u: memref<192x96xf32>, %h: memref<?x192xf32>) {
  // expected-error @+1 {{eps must be > 0, got -1}}
  ember.norm_swiglu %x, %n, %g, %u into %h {eps = -1.0 : f32} : memref<?x96xf32>, memref<96xf32>, memref<192x96xf32>, memref<192x96xf32> into memref<?x192xf32>
  return
}

// -----
func.func @norm_swiglu_weights(%x: memref<?x96xf32>, %n: memref<96xf32>, %g: memref<192x96xf32>, %u: memref<128x96xf32>, %h: memref<?x192xf32>) {
  // expected-error @+1 {{up_weight dim 0 (128) must equal gate_weight dim 0 (192)}}
  ember.norm_swiglu %x, %n, %g, %u into %h {eps = 1.0e-5 : f32} : memref<?x96xf32>, memref<96xf32>, memref<192x96xf32>, memref<128x96xf32> into memref<?x192xf32>
  return
}

// -----
func.func @norm_swiglu_out_rank(%x: memref<?x96xf32>, %n: memref<96xf32>, %g: memref<192x96xf32>, %u: memref<192x96xf32>, %h: memref<?x2x96xf32>) {
  // expected-error @+1 {{out must have rank 2, got rank 3}}
  ember.norm_swiglu %x, %n, %g, %u into %h {eps = 1.0e-5 : f32} : memref<?x96xf32>, memref<96xf32>, memref<192x96xf32>, memref<192x96xf32> into memref<?x2x96xf32>
  return
}

// -----
func.func @norm_swiglu_hidden(%x: memref<?x96xf32>, %n: memref<96xf32>, %g: memref<192x96xf32>, %u: memref<192x96xf32>, %h: memref<?x100xf32>) {
  // expected-error @+1 {{out dim 1 (100) must equal gate_weight dim 0 (192)}}
  ember.norm_swiglu %x, %n, %g, %u into %h {eps = 1.0e-5 : f32} : memref<?x96xf32>, memref<96xf32>, memref<192x96xf32>, memref<192x96xf32> into memref<?x100xf32>
  return
}

// -----
func.func @moe_group_rank(%e: memref<6xi32>, %o: memref<?xi32>, %r: memref<?xi32>, %c: memref<9xi32>) {
  // expected-error @+1 {{experts must have rank 2, got rank 1}}
  ember.moe_group %e into %o, %r, %c {n_routed = 8 : i64} : memref<6xi32> into memref<?xi32>, memref<?xi32>, memref<9xi32>
  return
}

// -----
func.func @moe_group_rows_rank(%e: memref<?x3xi32>, %o: memref<?xi32>, %r: memref<6x1xi32>, %c: memref<9xi32>) {
  // expected-error @+1 {{rows must have rank 1, got rank 2}}
  ember.moe_group %e into %o, %r, %c {n_routed = 8 : i64} : memref<?x3xi32> into memref<?xi32>, memref<6x1xi32>, memref<9xi32>
  return
}

// -----
func.func @moe_group_counts_rank(%e: memref<?x3xi32>, %o: memref<?xi32>, %r: memref<?xi32>, %c: memref<9x1xi32>) {
  // expected-error @+1 {{counts must have rank 1, got rank 2}}
  ember.moe_group %e into %o, %r, %c {n_routed = 8 : i64} : memref<?x3xi32> into memref<?xi32>, memref<?xi32>, memref<9x1xi32>
  return
}

// -----
func.func @moe_group_n_routed(%e: memref<?x3xi32>, %o: memref<?xi32>, %r: memref<?xi32>, %c: memref<1xi32>) {
  // expected-error @+1 {{n_routed must be >= 1, got 0}}
  ember.moe_group %e into %o, %r, %c {n_routed = 0 : i64} : memref<?x3xi32> into memref<?xi32>, memref<?xi32>, memref<1xi32>
  return
}

// -----
func.func @moe_group_k(%e: memref<?x0xi32>, %o: memref<?xi32>, %r: memref<?xi32>, %c: memref<9xi32>) {
  // expected-error @+1 {{experts dim 1 (k) must be >= 1, got 0}}
  ember.moe_group %e into %o, %r, %c {n_routed = 8 : i64} : memref<?x0xi32> into memref<?xi32>, memref<?xi32>, memref<9xi32>
  return
}

// -----
func.func @moe_group_rows_per_tile(%e: memref<?x3xi32>, %o: memref<?xi32>, %r: memref<?xi32>, %c: memref<9xi32>) {
  // expected-error @+1 {{rows_per_tile must be >= 1, got 0}}
  ember.moe_group %e into %o, %r, %c {n_routed = 8 : i64, rows_per_tile = 0 : i64} : memref<?x3xi32> into memref<?xi32>, memref<?xi32>, memref<9xi32>
  return
}

// -----
func.func @moe_group_counts(%e: memref<?x3xi32>, %o: memref<?xi32>, %r: memref<?xi32>, %c: memref<8xi32>) {
  // expected-error @+1 {{counts dim 0 (8) must equal n_routed + 1 (9)}}
  ember.moe_group %e into %o, %r, %c {n_routed = 8 : i64} : memref<?x3xi32> into memref<?xi32>, memref<?xi32>, memref<8xi32>
  return
}

// -----
func.func @moe_group_counts_dynamic(%e: memref<?x3xi32>, %o: memref<?xi32>, %r: memref<?xi32>, %c: memref<?xi32>) {
  // expected-error @+1 {{counts dim 0 (?) must equal n_routed + 1 (9)}}
  ember.moe_group %e into %o, %r, %c {n_routed = 8 : i64} : memref<?x3xi32> into memref<?xi32>, memref<?xi32>, memref<?xi32>
  return
}

// -----
func.func @moe_group_order(%e: memref<2x3xi32>, %o: memref<5xi32>, %r: memref<?xi32>, %c: memref<9xi32>) {
  // expected-error @+1 {{order dim 0 (5) must be at least T*k = 6}}
  ember.moe_group %e into %o, %r, %c {n_routed = 8 : i64} : memref<2x3xi32> into memref<5xi32>, memref<?xi32>, memref<9xi32>
  return
}

// -----
func.func @moe_group_padded_order(%e: memref<2x3xi32>, %o: memref<23xi32>, %r: memref<?xi32>, %c: memref<9xi32>) {
  // expected-error @+1 {{order dim 0 (23) must be at least T*k + min(T*k, n_routed) * (rows_per_tile - 1) = 6 + min(6, 8) * 3 = 24}}
  ember.moe_group %e into %o, %r, %c {n_routed = 8 : i64, rows_per_tile = 4 : i64} : memref<2x3xi32> into memref<23xi32>, memref<?xi32>, memref<9xi32>
  return
}

// -----
func.func @moe_group_rows(%e: memref<?x3xi32>, %o: memref<?xi32>, %r: memref<7xi32>, %c: memref<9xi32>) {
  // expected-error @+1 {{rows dim 0 (7) must be a multiple of k = experts dim 1 (3)}}
  ember.moe_group %e into %o, %r, %c {n_routed = 8 : i64} : memref<?x3xi32> into memref<?xi32>, memref<7xi32>, memref<9xi32>
  return
}

// -----
func.func @down_combine_rank(%x: memref<?x96xf32>, %h: memref<?x32xf32>, %d: memref<8x96x32xbf16>, %e: memref<?x3xi32>, %w: memref<?x3xf32>, %rows: memref<?x1xi32>, %out: memref<?x96xf32>) {
  // expected-error @+1 {{rows must have rank 1, got rank 2}}
  ember.expert_down_combine %x, %h, %d, %e, %w, %rows into %out {n_routed = 8 : i64} : memref<?x96xf32>, memref<?x32xf32>, memref<8x96x32xbf16>, memref<?x3xi32>, memref<?x3xf32>, memref<?x1xi32> into memref<?x96xf32>
  return
}

// -----
func.func @down_combine_n_routed(%x: memref<?x96xf32>, %h: memref<?x32xf32>, %d: memref<8x96x32xbf16>, %e: memref<?x3xi32>, %w: memref<?x3xf32>, %rows: memref<?xi32>, %out: memref<?x96xf32>) {
  // expected-error @+1 {{n_routed must be >= 1, got 0}}
  ember.expert_down_combine %x, %h, %d, %e, %w, %rows into %out {n_routed = 0 : i64} : memref<?x96xf32>, memref<?x32xf32>, memref<8x96x32xbf16>, memref<?x3xi32>, memref<?x3xf32>, memref<?xi32> into memref<?x96xf32>
  return
}

// -----
func.func @down_combine_k(%x: memref<?x96xf32>, %h: memref<?x32xf32>, %d: memref<8x96x32xbf16>, %e: memref<?x0xi32>, %w: memref<?x0xf32>, %rows: memref<?xi32>, %out: memref<?x96xf32>) {
  // expected-error @+1 {{experts dim 1 (k) must be >= 1, got 0}}
  ember.expert_down_combine %x, %h, %d, %e, %w, %rows into %out {n_routed = 8 : i64} : memref<?x96xf32>, memref<?x32xf32>, memref<8x96x32xbf16>, memref<?x0xi32>, memref<?x0xf32>, memref<?xi32> into memref<?x96xf32>
  return
}

// -----
func.func @down_combine_routed(%x: memref<?x96xf32>, %h: memref<?x32xf32>, %d: memref<8x96x32xbf16>, %e: memref<?x3xi32>, %w: memref<?x3xf32>, %rows: memref<?xi32>, %out: memref<?x96xf32>) {
  // expected-error @+1 {{down dim 0 (8) must equal n_routed (6)}}
  ember.expert_down_combine %x, %h, %d, %e, %w, %rows into %out {n_routed = 6 : i64} : memref<?x96xf32>, memref<?x32xf32>, memref<8x96x32xbf16>, memref<?x3xi32>, memref<?x3xf32>, memref<?xi32> into memref<?x96xf32>
  return
}

// -----
func.func @down_combine_out_tokens(%x: memref<2x96xf32>, %h: memref<?x32xf32>, %d: memref<8x96x32xbf16>, %e: memref<2x3xi32>, %w: memref<2x3xf32>, %rows: memref<?xi32>, %out: memref<3x96xf32>) {
  // expected-error @+1 {{out dim 0 (3) must equal x dim 0 (2)}}
  ember.expert_down_combine %x, %h, %d, %e, %w, %rows into %out {n_routed = 8 : i64} : memref<2x96xf32>, memref<?x32xf32>, memref<8x96x32xbf16>, memref<2x3xi32>, memref<2x3xf32>, memref<?xi32> into memref<3x96xf32>
  return
}

// -----
func.func @down_combine_out_width(%x: memref<?x96xf32>, %h: memref<?x32xf32>, %d: memref<8x96x32xbf16>, %e: memref<?x3xi32>, %w: memref<?x3xf32>, %rows: memref<?xi32>, %out: memref<?x64xf32>) {
  // expected-error @+1 {{out dim 1 (64) must equal x dim 1 (96)}}
  ember.expert_down_combine %x, %h, %d, %e, %w, %rows into %out {n_routed = 8 : i64} : memref<?x96xf32>, memref<?x32xf32>, memref<8x96x32xbf16>, memref<?x3xi32>, memref<?x3xf32>, memref<?xi32> into memref<?x64xf32>
  return
}

// -----
func.func @down_combine_down_width(%x: memref<?x96xf32>, %h: memref<?x32xf32>, %d: memref<8x64x32xbf16>, %e: memref<?x3xi32>, %w: memref<?x3xf32>, %rows: memref<?xi32>, %out: memref<?x96xf32>) {
  // expected-error @+1 {{down dim 1 (64) must equal x dim 1 (96)}}
  ember.expert_down_combine %x, %h, %d, %e, %w, %rows into %out {n_routed = 8 : i64} : memref<?x96xf32>, memref<?x32xf32>, memref<8x64x32xbf16>, memref<?x3xi32>, memref<?x3xf32>, memref<?xi32> into memref<?x96xf32>
  return
}

// -----
func.func @down_combine_hidden(%x: memref<?x96xf32>, %h: memref<?x16xf32>, %d: memref<8x96x32xbf16>, %e: memref<?x3xi32>, %w: memref<?x3xf32>, %rows: memref<?xi32>, %out: memref<?x96xf32>) {
  // expected-error @+1 {{down dim 2 (32) must equal h dim 1 (16)}}
  ember.expert_down_combine %x, %h, %d, %e, %w, %rows into %out {n_routed = 8 : i64} : memref<?x96xf32>, memref<?x16xf32>, memref<8x96x32xbf16>, memref<?x3xi32>, memref<?x3xf32>, memref<?xi32> into memref<?x96xf32>
  return
}

// -----
func.func @down_combine_experts(%x: memref<2x96xf32>, %h: memref<?x32xf32>, %d: memref<8x96x32xbf16>, %e: memref<3x3xi32>, %w: memref<3x3xf32>, %rows: memref<?xi32>, %out: memref<2x96xf32>) {
  // expected-error @+1 {{experts dim 0 (3) must equal x dim 0 (2)}}
  ember.expert_down_combine %x, %h, %d, %e, %w, %rows into %out {n_routed = 8 : i64} : memref<2x96xf32>, memref<?x32xf32>, memref<8x96x32xbf16>, memref<3x3xi32>, memref<3x3xf32>, memref<?xi32> into memref<2x96xf32>
  return
}

// -----
func.func @down_combine_weights_tokens(%x: memref<?x96xf32>, %h: memref<?x32xf32>, %d: memref<8x96x32xbf16>, %e: memref<2x3xi32>, %w: memref<4x3xf32>, %rows: memref<?xi32>, %out: memref<?x96xf32>) {
  // expected-error @+1 {{weights dim 0 (4) must equal experts dim 0 (2)}}
  ember.expert_down_combine %x, %h, %d, %e, %w, %rows into %out {n_routed = 8 : i64} : memref<?x96xf32>, memref<?x32xf32>, memref<8x96x32xbf16>, memref<2x3xi32>, memref<4x3xf32>, memref<?xi32> into memref<?x96xf32>
  return
}

// -----
func.func @down_combine_weights_k(%x: memref<?x96xf32>, %h: memref<?x32xf32>, %d: memref<8x96x32xbf16>, %e: memref<?x3xi32>, %w: memref<?x2xf32>, %rows: memref<?xi32>, %out: memref<?x96xf32>) {
  // expected-error @+1 {{weights dim 1 (2) must equal experts dim 1 (3)}}
  ember.expert_down_combine %x, %h, %d, %e, %w, %rows into %out {n_routed = 8 : i64} : memref<?x96xf32>, memref<?x32xf32>, memref<8x96x32xbf16>, memref<?x3xi32>, memref<?x2xf32>, memref<?xi32> into memref<?x96xf32>
  return
}

// -----
func.func @down_combine_rows(%x: memref<2x96xf32>, %h: memref<?x32xf32>, %d: memref<8x96x32xbf16>, %e: memref<2x3xi32>, %w: memref<2x3xf32>, %rows: memref<7xi32>, %out: memref<2x96xf32>) {
  // expected-error @+1 {{rows dim 0 (7) must equal T*k = experts dim 0 * dim 1 (2 * 3 = 6)}}
  ember.expert_down_combine %x, %h, %d, %e, %w, %rows into %out {n_routed = 8 : i64} : memref<2x96xf32>, memref<?x32xf32>, memref<8x96x32xbf16>, memref<2x3xi32>, memref<2x3xf32>, memref<7xi32> into memref<2x96xf32>
  return
}

// -----
func.func @down_combine_h(%x: memref<2x96xf32>, %h: memref<5x32xf32>, %d: memref<8x96x32xbf16>, %e: memref<2x3xi32>, %w: memref<2x3xf32>, %rows: memref<?xi32>, %out: memref<2x96xf32>) {
  // expected-error @+1 {{h dim 0 (5) must be at least T*k = 6}}
  ember.expert_down_combine %x, %h, %d, %e, %w, %rows into %out {n_routed = 8 : i64} : memref<2x96xf32>, memref<5x32xf32>, memref<8x96x32xbf16>, memref<2x3xi32>, memref<2x3xf32>, memref<?xi32> into memref<2x96xf32>
  return
}

// -----
func.func @norm_linear_fp8_scale_shape(%x: memref<?x96xf32>, %n: memref<96xf32>, %w: memref<48x96xf8E4M3FN>, %s: memref<1x2xf32>, %y: memref<?x48xf32>) {
  // expected-error @+1 {{weight_scale dim 1 (2) must be ceil(weight dim 1 (96) / 128) = 1}}
  ember.norm_linear %x, %n, %w scaled %s into %y {eps = 1.0e-5 : f32, weight_block = array<i64: 128, 128>} : memref<?x96xf32>, memref<96xf32>, memref<48x96xf8E4M3FN> scaled memref<1x2xf32> into memref<?x48xf32>
  return
}

// -----
func.func @swiglu_mixed_weights(%x: memref<?x96xf32>, %g: memref<192x96xf8E4M3FN>, %u: memref<192x96xbf16>, %sg: memref<2x1xf32>, %su: memref<2x1xf32>, %h: memref<?x192xf32>) {
  // expected-error @+1 {{weight_scale and weight_block apply to an f8E4M3FN up_weight only, got 'bf16'}}
  ember.swiglu %x, %g, %u scaled %sg, %su into %h {weight_block = array<i64: 128, 128>} : memref<?x96xf32>, memref<192x96xf8E4M3FN>, memref<192x96xbf16> scaled memref<2x1xf32>, memref<2x1xf32> into memref<?x192xf32>
  return
}

// -----
func.func @norm_swiglu_fp8_scale_shape(%x: memref<?x96xf32>, %n: memref<96xf32>, %g: memref<192x96xf8E4M3FN>, %u: memref<192x96xf8E4M3FN>, %sg: memref<2x1xf32>, %su: memref<1x1xf32>, %h: memref<?x192xf32>) {
  // expected-error @+1 {{weight_scale dim 0 (1) must be ceil(up_weight dim 0 (192) / 128) = 2}}
  ember.norm_swiglu %x, %n, %g, %u scaled %sg, %su into %h {eps = 1.0e-5 : f32, weight_block = array<i64: 128, 128>} : memref<?x96xf32>, memref<96xf32>, memref<192x96xf8E4M3FN>, memref<192x96xf8E4M3FN> scaled memref<2x1xf32>, memref<1x1xf32> into memref<?x192xf32>
  return
}
