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
func.func @ngram_embed_rank(%table: memref<?xi32>, %s: index, %p: index, %embed: memref<5x8xf32>, %tables: memref<24x4xf32>, %proj: memref<2x8x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{token table must have rank 2, got rank 1}}
  ember.ngram_embed %table[%s, %p], %embed, %tables, %proj into %out {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<?xi32>, memref<5x8xf32>, memref<24x4xf32>, memref<2x8x4xf32> into memref<?x8xf32>
  return
}

// -----
func.func @ngram_embed_proj_rank(%table: memref<?x?xi32>, %s: index, %p: index, %embed: memref<5x8xf32>, %tables: memref<24x4xf32>, %proj: memref<8x8xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{projections must have rank 3, got rank 2}}
  ember.ngram_embed %table[%s, %p], %embed, %tables, %proj into %out {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<?x?xi32>, memref<5x8xf32>, memref<24x4xf32>, memref<8x8xf32> into memref<?x8xf32>
  return
}

// -----
func.func @ngram_embed_word(%table: memref<?x?xi32>, %s: index, %p: index, %embed: memref<5x6xf32>, %tables: memref<24x4xf32>, %proj: memref<2x8x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{out dim 1 (8) must equal embed dim 1 (6)}}
  ember.ngram_embed %table[%s, %p], %embed, %tables, %proj into %out {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<?x?xi32>, memref<5x6xf32>, memref<24x4xf32>, memref<2x8x4xf32> into memref<?x8xf32>
  return
}

// -----
func.func @ngram_embed_hidden(%table: memref<?x?xi32>, %s: index, %p: index, %embed: memref<5x8xf32>, %tables: memref<24x4xf32>, %proj: memref<2x6x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{out dim 1 (8) must equal projections dim 1 (6)}}
  ember.ngram_embed %table[%s, %p], %embed, %tables, %proj into %out {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<?x?xi32>, memref<5x8xf32>, memref<24x4xf32>, memref<2x6x4xf32> into memref<?x8xf32>
  return
}

// -----
func.func @ngram_embed_width(%table: memref<?x?xi32>, %s: index, %p: index, %embed: memref<5x8xf32>, %tables: memref<24x3xf32>, %proj: memref<2x8x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{tables dim 1 (3) must equal projections dim 2 (4)}}
  ember.ngram_embed %table[%s, %p], %embed, %tables, %proj into %out {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<?x?xi32>, memref<5x8xf32>, memref<24x3xf32>, memref<2x8x4xf32> into memref<?x8xf32>
  return
}

// -----
func.func @ngram_embed_tables(%table: memref<?x?xi32>, %s: index, %p: index, %embed: memref<5x8xf32>, %tables: memref<24x4xf32>, %proj: memref<3x8x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{projections dim 0 (3) must equal E = K*(N-1) = 2}}
  ember.ngram_embed %table[%s, %p], %embed, %tables, %proj into %out {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<?x?xi32>, memref<5x8xf32>, memref<24x4xf32>, memref<3x8x4xf32> into memref<?x8xf32>
  return
}

// -----
func.func @ngram_embed_rows(%table: memref<?x?xi32>, %s: index, %p: index, %embed: memref<5x8xf32>, %tables: memref<23x4xf32>, %proj: memref<2x8x4xf32>, %out: memref<?x8xf32>) {
  // expected-error @+1 {{tables have 23 rows but the n-gram tables need sum M_i = 24}}
  ember.ngram_embed %table[%s, %p], %embed, %tables, %proj into %out {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<?x?xi32>, memref<5x8xf32>, memref<23x4xf32>, memref<2x8x4xf32> into memref<?x8xf32>
  return
}
