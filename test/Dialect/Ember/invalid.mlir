// RUN: ember-opt %s --split-input-file --verify-diagnostics

// expected-error @+1 {{n-gram vocab must be >= 1, got 0}}
func.func @bad_vocab() attributes {c = #ember.ngram<vocab = 0, m = 10, n = 2, k = 1, eos = 0>} { return }

// -----
// expected-error @+1 {{n-gram m must be >= 1, got 0}}
func.func @bad_m() attributes {c = #ember.ngram<vocab = 8, m = 0, n = 2, k = 1, eos = 0>} { return }

// -----
// expected-error @+1 {{n-gram n (emb_neighbor_num) must be >= 2, got 1}}
func.func @bad_n() attributes {c = #ember.ngram<vocab = 8, m = 10, n = 1, k = 1, eos = 0>} { return }

// -----
// expected-error @+1 {{n-gram k (emb_split_num) must be >= 1, got 0}}
func.func @bad_k() attributes {c = #ember.ngram<vocab = 8, m = 10, n = 2, k = 0, eos = 0>} { return }

// -----
// expected-error @+1 {{n-gram eos must lie in [0, 8), got 8}}
func.func @bad_eos() attributes {c = #ember.ngram<vocab = 8, m = 10, n = 2, k = 1, eos = 8>} { return }

// -----
// expected-error @+1 {{n-gram table rows must fit in i32, largest table has 2147483648}}
func.func @rows_past_i32() attributes {c = #ember.ngram<vocab = 8, m = 2147483647, n = 2, k = 1, eos = 0>} { return }

// -----
// expected-error @+1 {{n-gram hash of order 3 over vocab 2147483647 into 2147483003 rows can exceed 64 bits}}
func.func @hash_overflow() attributes {c = #ember.ngram<vocab = 2147483647, m = 2147483000, n = 3, k = 1, eos = 2>} { return }

// -----
func.func @write_cache_rank(%tokens: memref<2x2xi32>, %table: memref<4x64xi32>, %i: memref<?xi32>) {
  // expected-error @+1 {{cache must have rank 3 ([slots, max_context] then the values' trailing dims), got rank 2}}
  ember.cache_write %tokens into %table[%i, %i] : memref<2x2xi32>, memref<?xi32> into memref<4x64xi32>
  return
}

// -----
func.func @write_values_rank(%token: memref<i32>, %table: memref<4x64xi32>, %i: memref<?xi32>) {
  // expected-error @+1 {{values must have rank >= 1 ([T, ...]), got rank 0}}
  ember.cache_write %token into %table[%i, %i] : memref<i32>, memref<?xi32> into memref<4x64xi32>
  return
}

// -----
func.func @write_element_type(%tokens: memref<2xi64>, %table: memref<4x64xi32>, %i: memref<?xi32>) {
  // expected-error @+1 {{values hold 'i64' but the cache holds 'i32'}}
  ember.cache_write %tokens into %table[%i, %i] : memref<2xi64>, memref<?xi32> into memref<4x64xi32>
  return
}

// -----
func.func @write_row_width(%rows: memref<?x36xf32>, %cache: memref<4x64x40xf32>, %i: memref<?xi32>) {
  // expected-error @+1 {{values dim 1 (36) must equal cache dim 2 (40)}}
  ember.cache_write %rows into %cache[%i, %i] : memref<?x36xf32>, memref<?xi32> into memref<4x64x40xf32>
  return
}

// -----
func.func @write_row_count(%tokens: memref<3xi32>, %table: memref<4x64xi32>, %i: memref<2xi32>) {
  // expected-error @+1 {{slots dim 0 (2) must equal values dim 0 (3)}}
  ember.cache_write %tokens into %table[%i, %i] : memref<3xi32>, memref<2xi32> into memref<4x64xi32>
  return
}

// -----
func.func @write_coordinate_types(%tokens: memref<2xi32>, %table: memref<4x64xi32>, %s: memref<2xi32>, %p: memref<?xi32>) {
  // expected-error @+1 {{failed to verify that all of {slots, positions} have same type}}
  "ember.cache_write"(%tokens, %table, %s, %p) : (memref<2xi32>, memref<4x64xi32>, memref<2xi32>, memref<?xi32>) -> ()
  return
}

// -----
func.func @ids_table_rank(%table: memref<8xi32>, %ids: memref<?x12xi32>, %i: memref<?xi32>) {
  // expected-error @+1 {{token table must have rank 2, got rank 1}}
  ember.ngram_ids %table[%i, %i] into %ids {config = #ember.ngram<vocab = 512, m = 39936, n = 4, k = 4, eos = 2>} : memref<8xi32>, memref<?xi32> into memref<?x12xi32>
  return
}

// -----
func.func @ids_rank(%table: memref<1x8xi32>, %ids: memref<?xi32>, %i: memref<?xi32>) {
  // expected-error @+1 {{ids must have rank 2, got rank 1}}
  ember.ngram_ids %table[%i, %i] into %ids {config = #ember.ngram<vocab = 512, m = 39936, n = 4, k = 4, eos = 2>} : memref<1x8xi32>, memref<?xi32> into memref<?xi32>
  return
}

// -----
func.func @ids_columns(%table: memref<1x8xi32>, %ids: memref<?x11xi32>, %i: memref<?xi32>) {
  // expected-error @+1 {{ids must have E = K*(N-1) = 12 columns, got 11}}
  ember.ngram_ids %table[%i, %i] into %ids {config = #ember.ngram<vocab = 512, m = 39936, n = 4, k = 4, eos = 2>} : memref<1x8xi32>, memref<?xi32> into memref<?x11xi32>
  return
}

// -----
func.func @ids_dynamic_columns(%table: memref<1x8xi32>, %ids: memref<?x?xi32>, %i: memref<?xi32>) {
  // expected-error @+1 {{ids must have E = K*(N-1) = 4 columns, got ?}}
  ember.ngram_ids %table[%i, %i] into %ids {config = #ember.ngram<vocab = 512, m = 39936, n = 3, k = 2, eos = 2>} : memref<1x8xi32>, memref<?xi32> into memref<?x?xi32>
  return
}

// -----
func.func @gather_table_rank(%table: memref<16xf32>, %ids: memref<?x2xi32>, %rows: memref<?x2x8xf32>) {
  // expected-error @+1 {{table must have rank 2, got rank 1}}
  ember.multi_table_gather %table[%ids] into %rows {row_offsets = array<i64: 0, 8>} : memref<16xf32>, memref<?x2xi32> into memref<?x2x8xf32>
  return
}

// -----
func.func @gather_ids_rank(%table: memref<16x8xf32>, %ids: memref<?xi32>, %rows: memref<?x2x8xf32>) {
  // expected-error @+1 {{ids must have rank 2, got rank 1}}
  ember.multi_table_gather %table[%ids] into %rows {row_offsets = array<i64: 0, 8>} : memref<16x8xf32>, memref<?xi32> into memref<?x2x8xf32>
  return
}

// -----
func.func @gather_rows_rank(%table: memref<16x8xf32>, %ids: memref<?x2xi32>, %rows: memref<?x16xf32>) {
  // expected-error @+1 {{rows must have rank 3, got rank 2}}
  ember.multi_table_gather %table[%ids] into %rows {row_offsets = array<i64: 0, 8>} : memref<16x8xf32>, memref<?x2xi32> into memref<?x16xf32>
  return
}

// -----
func.func @gather_tokens(%table: memref<16x8xf32>, %ids: memref<3x2xi32>, %rows: memref<4x2x8xf32>) {
  // expected-error @+1 {{rows dim 0 (4) must equal ids dim 0 (3)}}
  ember.multi_table_gather %table[%ids] into %rows {row_offsets = array<i64: 0, 8>} : memref<16x8xf32>, memref<3x2xi32> into memref<4x2x8xf32>
  return
}

// -----
func.func @gather_tables(%table: memref<16x8xf32>, %ids: memref<?x2xi32>, %rows: memref<?x3x8xf32>) {
  // expected-error @+1 {{rows dim 1 (3) must equal ids dim 1 (2)}}
  ember.multi_table_gather %table[%ids] into %rows {row_offsets = array<i64: 0, 8>} : memref<16x8xf32>, memref<?x2xi32> into memref<?x3x8xf32>
  return
}

// -----
func.func @gather_width(%table: memref<16x8xf32>, %ids: memref<?x2xi32>, %rows: memref<?x2x4xf32>) {
  // expected-error @+1 {{rows dim 2 (4) must equal table dim 1 (8)}}
  ember.multi_table_gather %table[%ids] into %rows {row_offsets = array<i64: 0, 8>} : memref<16x8xf32>, memref<?x2xi32> into memref<?x2x4xf32>
  return
}

// -----
func.func @gather_storage_type(%table: memref<16x8xf64>, %ids: memref<?x2xi32>, %rows: memref<?x2x8xf32>) {
  // expected-error @+1 {{operand #0 must be memref of 32-bit float or bfloat16 type or 16-bit float values}}
  ember.multi_table_gather %table[%ids] into %rows {row_offsets = array<i64: 0, 8>} : memref<16x8xf64>, memref<?x2xi32> into memref<?x2x8xf32>
  return
}

// -----
func.func @gather_no_offsets(%table: memref<16x8xf32>, %ids: memref<?x?xi32>, %rows: memref<?x?x8xf32>) {
  // expected-error @+1 {{row_offsets must name at least one table}}
  ember.multi_table_gather %table[%ids] into %rows {row_offsets = array<i64>} : memref<16x8xf32>, memref<?x?xi32> into memref<?x?x8xf32>
  return
}

// -----
func.func @gather_offset_count(%table: memref<16x8xf32>, %ids: memref<?x2xi32>, %rows: memref<?x2x8xf32>) {
  // expected-error @+1 {{ids have 2 columns but row_offsets name 3 tables}}
  ember.multi_table_gather %table[%ids] into %rows {row_offsets = array<i64: 0, 4, 8>} : memref<16x8xf32>, memref<?x2xi32> into memref<?x2x8xf32>
  return
}

// -----
func.func @gather_offset_start(%table: memref<16x8xf32>, %ids: memref<?x2xi32>, %rows: memref<?x2x8xf32>) {
  // expected-error @+1 {{row_offsets must start at 0, got 1}}
  ember.multi_table_gather %table[%ids] into %rows {row_offsets = array<i64: 1, 8>} : memref<16x8xf32>, memref<?x2xi32> into memref<?x2x8xf32>
  return
}

// -----
func.func @gather_offset_order(%table: memref<16x8xf32>, %ids: memref<?x2xi32>, %rows: memref<?x2x8xf32>) {
  // expected-error @+1 {{row_offsets must be strictly increasing, but row_offsets[1] = 0 <= 0}}
  ember.multi_table_gather %table[%ids] into %rows {row_offsets = array<i64: 0, 0>} : memref<16x8xf32>, memref<?x2xi32> into memref<?x2x8xf32>
  return
}

// -----
func.func @gather_offset_past_end(%table: memref<16x8xf32>, %ids: memref<?x2xi32>, %rows: memref<?x2x8xf32>) {
  // expected-error @+1 {{row_offsets[1] = 16 is past the table's 16 rows}}
  ember.multi_table_gather %table[%ids] into %rows {row_offsets = array<i64: 0, 16>} : memref<16x8xf32>, memref<?x2xi32> into memref<?x2x8xf32>
  return
}

// -----
func.func @gather_ngram_count(%table: memref<64x8xf32>, %ids: memref<?x2xi32>, %rows: memref<?x2x8xf32>) {
  // expected-error @+1 {{n-gram config has E = 4 tables but row_offsets name 2}}
  ember.multi_table_gather %table[%ids] into %rows {row_offsets = array<i64: 0, 11>, ngram = #ember.ngram<vocab = 5, m = 10, n = 3, k = 2, eos = 2>} : memref<64x8xf32>, memref<?x2xi32> into memref<?x2x8xf32>
  return
}

// -----
func.func @gather_ngram_offsets(%table: memref<24x8xf32>, %ids: memref<?x2xi32>, %rows: memref<?x2x8xf32>) {
  // expected-error @+1 {{row_offsets[1] = 10 but n-gram table 1 starts at row 11 (M_i = m + 2i + 1)}}
  ember.multi_table_gather %table[%ids] into %rows {row_offsets = array<i64: 0, 10>, ngram = #ember.ngram<vocab = 5, m = 10, n = 2, k = 2, eos = 2>} : memref<24x8xf32>, memref<?x2xi32> into memref<?x2x8xf32>
  return
}

// -----
func.func @gather_ngram_rows(%table: memref<25x8xf32>, %ids: memref<?x2xi32>, %rows: memref<?x2x8xf32>) {
  // expected-error @+1 {{table has 25 rows but the n-gram tables need sum M_i = 24}}
  ember.multi_table_gather %table[%ids] into %rows {row_offsets = array<i64: 0, 11>, ngram = #ember.ngram<vocab = 5, m = 10, n = 2, k = 2, eos = 2>} : memref<25x8xf32>, memref<?x2xi32> into memref<?x2x8xf32>
  return
}

// -----
func.func @combine_rank(%word: memref<?x96xf32>, %rows: memref<?x96xf32>, %proj: memref<12x96x8xf32>, %out: memref<?x96xf32>) {
  // expected-error @+1 {{rows must have rank 3, got rank 2}}
  ember.ngram_combine %word, %rows, %proj into %out : memref<?x96xf32>, memref<?x96xf32>, memref<12x96x8xf32> into memref<?x96xf32>
  return
}

// -----
func.func @combine_tokens(%word: memref<2x96xf32>, %rows: memref<?x12x8xf32>, %proj: memref<12x96x8xf32>, %out: memref<3x96xf32>) {
  // expected-error @+1 {{out dim 0 (3) must equal word dim 0 (2)}}
  ember.ngram_combine %word, %rows, %proj into %out : memref<2x96xf32>, memref<?x12x8xf32>, memref<12x96x8xf32> into memref<3x96xf32>
  return
}

// -----
func.func @combine_rows_tokens(%word: memref<?x96xf32>, %rows: memref<2x12x8xf32>, %proj: memref<12x96x8xf32>, %out: memref<3x96xf32>) {
  // expected-error @+1 {{out dim 0 (3) must equal rows dim 0 (2)}}
  ember.ngram_combine %word, %rows, %proj into %out : memref<?x96xf32>, memref<2x12x8xf32>, memref<12x96x8xf32> into memref<3x96xf32>
  return
}

// -----
func.func @combine_hidden(%word: memref<?x64xf32>, %rows: memref<?x12x8xf32>, %proj: memref<12x96x8xf32>, %out: memref<?x96xf32>) {
  // expected-error @+1 {{out dim 1 (96) must equal word dim 1 (64)}}
  ember.ngram_combine %word, %rows, %proj into %out : memref<?x64xf32>, memref<?x12x8xf32>, memref<12x96x8xf32> into memref<?x96xf32>
  return
}

// -----
func.func @combine_proj_hidden(%word: memref<?x96xf32>, %rows: memref<?x12x8xf32>, %proj: memref<12x64x8xf32>, %out: memref<?x96xf32>) {
  // expected-error @+1 {{out dim 1 (96) must equal projections dim 1 (64)}}
  ember.ngram_combine %word, %rows, %proj into %out : memref<?x96xf32>, memref<?x12x8xf32>, memref<12x64x8xf32> into memref<?x96xf32>
  return
}

// -----
func.func @combine_tables(%word: memref<?x96xf32>, %rows: memref<?x12x8xf32>, %proj: memref<11x96x8xf32>, %out: memref<?x96xf32>) {
  // expected-error @+1 {{rows dim 1 (12) must equal projections dim 0 (11)}}
  ember.ngram_combine %word, %rows, %proj into %out : memref<?x96xf32>, memref<?x12x8xf32>, memref<11x96x8xf32> into memref<?x96xf32>
  return
}

// -----
func.func @combine_width(%word: memref<?x96xf32>, %rows: memref<?x12x8xf32>, %proj: memref<12x96x4xf32>, %out: memref<?x96xf32>) {
  // expected-error @+1 {{rows dim 2 (8) must equal projections dim 2 (4)}}
  ember.ngram_combine %word, %rows, %proj into %out : memref<?x96xf32>, memref<?x12x8xf32>, memref<12x96x4xf32> into memref<?x96xf32>
  return
}

// -----
// expected-error @+1 {{gpu_kernel strategy must be thread_per_element, warp_per_row, block_per_row, block_split_k, split_kv or mma_sync_tile, got 'tensor_core'}}
func.func @bad_strategy() attributes {k = #ember.gpu_kernel<op = "linear", index = 0, strategy = "tensor_core", block = [32, 4, 1], grid_dims = [1, 0, -1], thread_dims = [-1, 1, -1]>} { return }

// -----
// expected-error @+1 {{gpu_kernel index must be >= 0, got -1}}
func.func @bad_index() attributes {k = #ember.gpu_kernel<op = "linear", index = -1, strategy = "warp_per_row", block = [32, 4, 1], grid_dims = [1, 0, -1], thread_dims = [-1, 1, -1]>} { return }

// -----
// expected-error @+1 {{gpu_kernel block sizes must be >= 1}}
func.func @bad_block() attributes {k = #ember.gpu_kernel<op = "rms_norm", index = 0, strategy = "block_per_row", block = [0, 1, 1], grid_dims = [0, -1, -1], thread_dims = [1, -1, -1]>} { return }
