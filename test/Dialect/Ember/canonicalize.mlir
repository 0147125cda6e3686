// RUN: ember-opt %s --canonicalize --split-input-file | FileCheck %s

// A cast to a less static type folds into the op that uses it.
// CHECK-LABEL: func @fold_cast_into_ids
// CHECK-SAME: %[[IDS:[^:]*]]: memref<5x12xi32>
func.func @fold_cast_into_ids(%table: memref<1x8xi32>, %ids: memref<5x12xi32>, %slots: memref<?xi32>, %positions: memref<?xi32>) {
  // CHECK-NOT: memref.cast
  // CHECK: ember.ngram_ids %{{.*}} into %[[IDS]] {{.*}} : memref<1x8xi32>, memref<?xi32> into memref<5x12xi32>
  %dyn = memref.cast %ids : memref<5x12xi32> to memref<?x12xi32>
  ember.ngram_ids %table[%slots, %positions] into %dyn {config = #ember.ngram<vocab = 512, m = 39936, n = 4, k = 4, eos = 2>} : memref<1x8xi32>, memref<?xi32> into memref<?x12xi32>
  return
}

// -----

// CHECK-LABEL: func @fold_cast_into_combine
func.func @fold_cast_into_combine(%word: memref<3x96xf32>, %rows: memref<?x12x8xf32>, %proj: memref<12x96x8xbf16>, %out: memref<?x96xf32>) {
  // CHECK: ember.ngram_combine {{.*}} : memref<3x96xf32>, memref<?x12x8xf32>
  %w = memref.cast %word : memref<3x96xf32> to memref<?x96xf32>
  ember.ngram_combine %w, %rows, %proj into %out : memref<?x96xf32>, memref<?x12x8xf32>, memref<12x96x8xbf16> into memref<?x96xf32>
  return
}

// -----

// Ops with a static zero extent write nothing and are erased; the same ops
// with work to do stay.
// CHECK-LABEL: func @erase_empty
func.func @erase_empty(%table: memref<1x8xi32>, %slots: memref<?xi32>, %positions: memref<?xi32>,
                       %none: memref<0xi32>, %no_ids: memref<0x12xi32>,
                       %tables: memref<16x8xf32>, %no_rows: memref<0x12x8xf32>,
                       %word: memref<0x96xf32>, %proj: memref<12x96x8xf32>, %no_out: memref<0x96xf32>,
                       %some: memref<2xi32>) {
  // CHECK-NOT: ember.ngram_ids
  // CHECK-NOT: ember.multi_table_gather
  // CHECK-NOT: ember.ngram_combine
  // CHECK: ember.cache_write %{{.*}} : memref<2xi32>, memref<?xi32>
  // CHECK-NOT: ember.cache_write
  // CHECK: return
  ember.cache_write %none into %table[%slots, %positions] : memref<0xi32>, memref<?xi32> into memref<1x8xi32>
  ember.cache_write %some into %table[%slots, %positions] : memref<2xi32>, memref<?xi32> into memref<1x8xi32>
  ember.ngram_ids %table[%slots, %positions] into %no_ids {config = #ember.ngram<vocab = 512, m = 39936, n = 4, k = 4, eos = 2>} : memref<1x8xi32>, memref<?xi32> into memref<0x12xi32>
  ember.multi_table_gather %tables[%no_ids] into %no_rows {row_offsets = array<i64: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11>} : memref<16x8xf32>, memref<0x12xi32> into memref<0x12x8xf32>
  ember.ngram_combine %word, %no_rows, %proj into %no_out : memref<0x96xf32>, memref<0x12x8xf32>, memref<12x96x8xf32> into memref<0x96xf32>
  return
}
