// RUN: ember-opt %s | ember-opt | FileCheck %s
// Round trip of the ops the fusion passes create.

// CHECK-LABEL: func @swiglu
func.func @swiglu(%x: memref<?x96xf32>, %g: memref<192x96xbf16>, %u: memref<192x96xbf16>, %h: memref<?x192xf32>) {
  // CHECK: ember.swiglu %{{.*}}, %{{.*}}, %{{.*}} into %{{.*}} : memref<?x96xf32>, memref<192x96xbf16>, memref<192x96xbf16> into memref<?x192xf32>
  ember.swiglu %x, %g, %u into %h : memref<?x96xf32>, memref<192x96xbf16>, memref<192x96xbf16> into memref<?x192xf32>
  return
}

// CHECK-LABEL: func @ngram_embed
func.func @ngram_embed(%tokens: memref<?xi32>, %table: memref<?x?xi32>, %slots: memref<?xi32>, %positions: memref<?xi32>,
                       %embed: memref<512x96xbf16>, %tables: memref<479376x8xbf16>, %proj: memref<12x96x8xbf16>,
                       %out: memref<?x96xf32>) {
  // CHECK: ember.ngram_embed %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}], %{{.*}}, %{{.*}}, %{{.*}} into %{{.*}} {config = #ember.ngram<vocab = 512, m = 39936, n = 4, k = 4, eos = 2>} : memref<?xi32>, memref<?x?xi32>, memref<?xi32>, memref<512x96xbf16>, memref<479376x8xbf16>, memref<12x96x8xbf16> into memref<?x96xf32>
  ember.ngram_embed %tokens, %table[%slots, %positions], %embed, %tables, %proj into %out {config = #ember.ngram<vocab = 512, m = 39936, n = 4, k = 4, eos = 2>} : memref<?xi32>, memref<?x?xi32>, memref<?xi32>, memref<512x96xbf16>, memref<479376x8xbf16>, memref<12x96x8xbf16> into memref<?x96xf32>
  return
}

// CHECK-LABEL: func @fused_router
func.func @fused_router(%u: memref<?x96xf32>, %c: memref<12x96xbf16>, %b: memref<12xf32>, %e: memref<?x3xi32>, %w: memref<?x3xf32>) {
  // CHECK: ember.fused_router %{{.*}}, %{{.*}}, %{{.*}} into %{{.*}}, %{{.*}} {n_routed = 8 : i64, scaling = 6.000000e+00 : f32} : memref<?x96xf32>, memref<12x96xbf16>, memref<12xf32> into memref<?x3xi32>, memref<?x3xf32>
  ember.fused_router %u, %c, %b into %e, %w {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<?x96xf32>, memref<12x96xbf16>, memref<12xf32> into memref<?x3xi32>, memref<?x3xf32>
  return
}

// CHECK-LABEL: func @norm_linear
func.func @norm_linear(%x: memref<?x96xf32>, %n: memref<96xbf16>, %w: memref<48x96xbf16>, %y: memref<?x48xf32>) {
  // CHECK: ember.norm_linear %{{.*}}, %{{.*}}, %{{.*}} into %{{.*}} {accumulate, eps = 9.99999974E-6 : f32, scale = 1.500000e+00 : f32} : memref<?x96xf32>, memref<96xbf16>, memref<48x96xbf16> into memref<?x48xf32>
  ember.norm_linear %x, %n, %w into %y {accumulate, eps = 1.0e-5 : f32, scale = 1.5 : f32} : memref<?x96xf32>, memref<96xbf16>, memref<48x96xbf16> into memref<?x48xf32>
  // The default scale is elided.
  // CHECK: ember.norm_linear %{{.*}}, %{{.*}}, %{{.*}} into %{{.*}} {eps = 9.99999974E-6 : f32} :
  ember.norm_linear %x, %n, %w into %y {eps = 1.0e-5 : f32, scale = 1.0 : f32} : memref<?x96xf32>, memref<96xbf16>, memref<48x96xbf16> into memref<?x48xf32>
  return
}

// CHECK-LABEL: func @fp8_norm_linear
func.func @fp8_norm_linear(%x: memref<?x96xf32>, %n: memref<96xbf16>, %w: memref<48x96xf8E4M3FN>, %s: memref<1x1xf32>, %y: memref<?x48xf32>) {
  // CHECK: ember.norm_linear %{{.*}}, %{{.*}}, %{{.*}} scaled %{{.*}} into %{{.*}} {eps = 9.99999974E-6 : f32, weight_block = array<i64: 128, 128>} : memref<?x96xf32>, memref<96xbf16>, memref<48x96xf8E4M3FN> scaled memref<1x1xf32> into memref<?x48xf32>
  ember.norm_linear %x, %n, %w scaled %s into %y {eps = 1.0e-5 : f32, weight_block = array<i64: 128, 128>} : memref<?x96xf32>, memref<96xbf16>, memref<48x96xf8E4M3FN> scaled memref<1x1xf32> into memref<?x48xf32>
  return
}

// CHECK-LABEL: func @fp8_swiglu
func.func @fp8_swiglu(%x: memref<?x96xf32>, %n: memref<96xf32>, %g: memref<192x96xf8E4M3FN>, %u: memref<192x96xf8E4M3FN>,
                      %sg: memref<2x1xf32>, %su: memref<2x1xf32>, %h: memref<?x192xf32>) {
  // CHECK: ember.swiglu %{{.*}}, %{{.*}}, %{{.*}} scaled %{{.*}}, %{{.*}} into %{{.*}} {weight_block = array<i64: 128, 128>} : memref<?x96xf32>, memref<192x96xf8E4M3FN>, memref<192x96xf8E4M3FN> scaled memref<2x1xf32>, memref<2x1xf32> into memref<?x192xf32>
  ember.swiglu %x, %g, %u scaled %sg, %su into %h {weight_block = array<i64: 128, 128>}
      : memref<?x96xf32>, memref<192x96xf8E4M3FN>, memref<192x96xf8E4M3FN> scaled memref<2x1xf32>, memref<2x1xf32> into memref<?x192xf32>
  // CHECK: ember.norm_swiglu %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} scaled %{{.*}}, %{{.*}} into %{{.*}} {eps = 9.99999974E-6 : f32, weight_block = array<i64: 128, 128>} : memref<?x96xf32>, memref<96xf32>, memref<192x96xf8E4M3FN>, memref<192x96xf8E4M3FN> scaled memref<2x1xf32>, memref<2x1xf32> into memref<?x192xf32>
  ember.norm_swiglu %x, %n, %g, %u scaled %sg, %su into %h {eps = 1.0e-5 : f32, weight_block = array<i64: 128, 128>}
      : memref<?x96xf32>, memref<96xf32>, memref<192x96xf8E4M3FN>, memref<192x96xf8E4M3FN> scaled memref<2x1xf32>, memref<2x1xf32> into memref<?x192xf32>
  return
}

// CHECK-LABEL: func @norm_swiglu
func.func @norm_swiglu(%x: memref<?x96xf32>, %n: memref<96xf32>, %g: memref<192x96xbf16>, %u: memref<192x96xbf16>, %h: memref<?x192xf32>) {
  // CHECK: ember.norm_swiglu %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} into %{{.*}} {eps = 9.99999974E-6 : f32} : memref<?x96xf32>, memref<96xf32>, memref<192x96xbf16>, memref<192x96xbf16> into memref<?x192xf32>
  ember.norm_swiglu %x, %n, %g, %u into %h {eps = 1.0e-5 : f32} : memref<?x96xf32>, memref<96xf32>, memref<192x96xbf16>, memref<192x96xbf16> into memref<?x192xf32>
  return
}

// CHECK-LABEL: func @moe_group
func.func @moe_group(%e: memref<?x3xi32>, %order: memref<?xi32>, %rows: memref<?xi32>, %counts: memref<9xi32>) {
  // The default rows_per_tile (1) is elided.
  // CHECK: ember.moe_group %{{.*}} into %{{.*}}, %{{.*}}, %{{.*}} {n_routed = 8 : i64} : memref<?x3xi32> into memref<?xi32>, memref<?xi32>, memref<9xi32>
  ember.moe_group %e into %order, %rows, %counts {n_routed = 8 : i64, rows_per_tile = 1 : i64} : memref<?x3xi32> into memref<?xi32>, memref<?xi32>, memref<9xi32>
  // CHECK: ember.moe_group %{{.*}} into %{{.*}}, %{{.*}}, %{{.*}} {n_routed = 8 : i64, rows_per_tile = 4 : i64} : memref<?x3xi32> into memref<?xi32>, memref<?xi32>, memref<9xi32>
  ember.moe_group %e into %order, %rows, %counts {n_routed = 8 : i64, rows_per_tile = 4 : i64} : memref<?x3xi32> into memref<?xi32>, memref<?xi32>, memref<9xi32>
  return
}

// Padded groups: 2*3 assignments + min(6, 8) * 3 padding rows = 24.
// CHECK-LABEL: func @moe_group_static
func.func @moe_group_static(%e: memref<2x3xi32>, %order: memref<24xi32>, %rows: memref<6xi32>, %counts: memref<9xi32>) {
  // CHECK: ember.moe_group
  ember.moe_group %e into %order, %rows, %counts {n_routed = 8 : i64, rows_per_tile = 4 : i64} : memref<2x3xi32> into memref<24xi32>, memref<6xi32>, memref<9xi32>
  return
}

// CHECK-LABEL: func @expert_down_combine
func.func @expert_down_combine(%x: memref<?x96xf32>, %h: memref<?x32xf32>, %down: memref<8x96x32xbf16>, %e: memref<?x3xi32>,
                               %w: memref<?x3xf32>, %rows: memref<?xi32>, %out: memref<?x96xf32>) {
  // CHECK: ember.expert_down_combine %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} into %{{.*}} {n_routed = 8 : i64} : memref<?x96xf32>, memref<?x32xf32>, memref<8x96x32xbf16>, memref<?x3xi32>, memref<?x3xf32>, memref<?xi32> into memref<?x96xf32>
  ember.expert_down_combine %x, %h, %down, %e, %w, %rows into %out {n_routed = 8 : i64} : memref<?x96xf32>, memref<?x32xf32>, memref<8x96x32xbf16>, memref<?x3xi32>, memref<?x3xf32>, memref<?xi32> into memref<?x96xf32>
  return
}
