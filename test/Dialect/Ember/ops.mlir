// RUN: ember-opt %s | FileCheck %s
// RUN: ember-opt %s | ember-opt | FileCheck %s
// RUN: ember-opt --mlir-print-op-generic %s | ember-opt | FileCheck %s

#tiny = #ember.ngram<vocab = 512, m = 39936, n = 4, k = 4, eos = 2>

// CHECK-LABEL: func @cache_write
// CHECK-SAME: (%[[TOK:.*]]: memref<?xi32>, %[[TAB:.*]]: memref<4x64xi32>, %[[S:.*]]: memref<?xi32>, %[[P:.*]]: memref<?xi32>,
// CHECK-SAME: %[[ROWS:.*]]: memref<?x40xf32>, %[[KV:.*]]: memref<4x64x40xf32, strided<[?, 40, 1], offset: ?>>)
func.func @cache_write(%tokens: memref<?xi32>, %table: memref<4x64xi32>, %slots: memref<?xi32>, %positions: memref<?xi32>,
                       %rows: memref<?x40xf32>, %kv: memref<4x64x40xf32, strided<[?, 40, 1], offset: ?>>) {
  // CHECK: ember.cache_write %[[TOK]] into %[[TAB]][%[[S]], %[[P]]] : memref<?xi32>, memref<?xi32> into memref<4x64xi32>
  ember.cache_write %tokens into %table[%slots, %positions] : memref<?xi32>, memref<?xi32> into memref<4x64xi32>
  // CHECK: ember.cache_write %[[ROWS]] into %[[KV]][%[[S]], %[[P]]] : memref<?x40xf32>, memref<?xi32> into memref<4x64x40xf32, strided<[?, 40, 1], offset: ?>>
  ember.cache_write %rows into %kv[%slots, %positions] : memref<?x40xf32>, memref<?xi32> into memref<4x64x40xf32, strided<[?, 40, 1], offset: ?>>
  return
}

// CHECK-LABEL: func @ids
func.func @ids(%table: memref<?x?xi32>, %slots: memref<?xi32>, %positions: memref<?xi32>, %ids: memref<?x12xi32>) {
  // CHECK: ember.ngram_ids %{{.*}}[%{{.*}}, %{{.*}}] into %{{.*}} {config = #ember.ngram<vocab = 512, m = 39936, n = 4, k = 4, eos = 2>} : memref<?x?xi32>, memref<?xi32> into memref<?x12xi32>
  ember.ngram_ids %table[%slots, %positions] into %ids {config = #tiny} : memref<?x?xi32>, memref<?xi32> into memref<?x12xi32>
  return
}

// CHECK-LABEL: func @gather_ngram_tables
func.func @gather_ngram_tables(%table: memref<79876x24xbf16>, %ids: memref<?x2xi32>, %rows: memref<?x2x24xf32>) {
  // CHECK: ember.multi_table_gather %{{.*}}[%{{.*}}] into %{{.*}} {ngram = #ember.ngram<vocab = 512, m = 39936, n = 2, k = 2, eos = 2>, row_offsets = array<i64: 0, 39937>} : memref<79876x24xbf16>, memref<?x2xi32> into memref<?x2x24xf32>
  ember.multi_table_gather %table[%ids] into %rows {row_offsets = array<i64: 0, 39937>, ngram = #ember.ngram<vocab = 512, m = 39936, n = 2, k = 2, eos = 2>} : memref<79876x24xbf16>, memref<?x2xi32> into memref<?x2x24xf32>
  return
}

// Word-embedding lookup: one table, ids viewed as a strided [T, 1] column.
// CHECK-LABEL: func @gather_word_rows
func.func @gather_word_rows(%table: memref<512x96xf16>, %ids: memref<?x1xi32, strided<[1, ?], offset: ?>>, %rows: memref<?x1x96xf32>) {
  // CHECK: ember.multi_table_gather {{.*}} {row_offsets = array<i64: 0>} : memref<512x96xf16>, memref<?x1xi32, strided<[1, ?], offset: ?>> into memref<?x1x96xf32>
  ember.multi_table_gather %table[%ids] into %rows {row_offsets = array<i64: 0>} : memref<512x96xf16>, memref<?x1xi32, strided<[1, ?], offset: ?>> into memref<?x1x96xf32>
  return
}

// CHECK-LABEL: func @combine
func.func @combine(%word: memref<?x96xf32>, %rows: memref<?x12x8xf32>, %proj: memref<12x96x8xf32>, %out: memref<?x96xf32>) {
  // CHECK: ember.ngram_combine %{{.*}}, %{{.*}}, %{{.*}} into %{{.*}} : memref<?x96xf32>, memref<?x12x8xf32>, memref<12x96x8xf32> into memref<?x96xf32>
  ember.ngram_combine %word, %rows, %proj into %out : memref<?x96xf32>, memref<?x12x8xf32>, memref<12x96x8xf32> into memref<?x96xf32>
  return
}
