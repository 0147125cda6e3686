// RUN: ember-opt %s --ember-fuse-ngram --split-input-file | FileCheck %s

// ember_embed's chain: ids, both gathers and the combine become one op; the
// ids, rows and word buffers go away.
// CHECK-LABEL: func @embed
// CHECK-SAME: (%[[TT:[^:]+]]: memref<?x?xi32>, %[[S:[^:]+]]: index, %[[P:[^:]+]]: index, %[[EMB:[^:]+]]: memref<5x8xf32>, %[[TAB:[^:]+]]: memref<24x4xbf16>, %[[PROJ:[^:]+]]: memref<2x8x4xbf16>, %[[OUT:[^:]+]]: memref<?x8xf32>, %[[N:[^:]+]]: index)
// CHECK-NOT: memref.alloc
// CHECK: ember.ngram_embed %[[TT]][%[[S]], %[[P]]], %[[EMB]], %[[TAB]], %[[PROJ]] into %[[OUT]] {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>}
// CHECK-NEXT: return
func.func @embed(%table: memref<?x?xi32>, %slot: index, %pos: index, %embed: memref<5x8xf32>,
                 %tables: memref<24x4xbf16>, %proj: memref<2x8x4xbf16>, %out: memref<?x8xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %ids = memref.alloc(%n) : memref<?x2xi32>
  ember.ngram_ids %table[%slot, %pos] into %ids {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<?x?xi32> into memref<?x2xi32>
  %t = memref.dim %ids, %c0 : memref<?x2xi32>
  %rows = memref.alloc(%t) : memref<?x2x4xf32>
  ember.multi_table_gather %tables[%ids] into %rows {ngram = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>, row_offsets = array<i64: 0, 11>} : memref<24x4xbf16>, memref<?x2xi32> into memref<?x2x4xf32>
  %row = memref.subview %table[%slot, %pos] [%c1, %t] [%c1, %c1] : memref<?x?xi32> to memref<?x?xi32, strided<[?, ?], offset: ?>>
  %column = memref.transpose %row (d0, d1) -> (d1, d0) : memref<?x?xi32, strided<[?, ?], offset: ?>> to memref<?x?xi32, strided<[?, ?], offset: ?>>
  %word = memref.alloc(%t) : memref<?x1x8xf32>
  ember.multi_table_gather %embed[%column] into %word {row_offsets = array<i64: 0>} : memref<5x8xf32>, memref<?x?xi32, strided<[?, ?], offset: ?>> into memref<?x1x8xf32>
  %word2d = memref.collapse_shape %word [[0, 1], [2]] : memref<?x1x8xf32> into memref<?x8xf32>
  ember.ngram_combine %word2d, %rows, %proj into %out : memref<?x8xf32>, memref<?x2x4xf32>, memref<2x8x4xbf16> into memref<?x8xf32>
  memref.dealloc %word : memref<?x1x8xf32>
  memref.dealloc %rows : memref<?x2x4xf32>
  memref.dealloc %ids : memref<?x2xi32>
  return
}

// -----

// ember_ngram_embed returns the ids: ngram_ids stays, the rest is fused.
// CHECK-LABEL: func @ids_returned
// CHECK-SAME: %[[IDS:[^:]+]]: memref<?x2xi32>, %[[OUT:[^:]+]]: memref<?x8xf32>)
// CHECK-NOT: memref.alloc
// CHECK: ember.ngram_ids %{{[^ ]+}}[%{{[^ ]+}}, %{{[^ ]+}}] into %[[IDS]]
// CHECK-NOT: ember.multi_table_gather
// CHECK: ember.ngram_embed {{.*}} into %[[OUT]]
// CHECK-NOT: ember.ngram_combine
func.func @ids_returned(%table: memref<?x?xi32>, %slot: index, %pos: index, %embed: memref<5x8xf32>,
                        %tables: memref<24x4xbf16>, %proj: memref<2x8x4xbf16>, %ids: memref<?x2xi32>,
                        %out: memref<?x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  ember.ngram_ids %table[%slot, %pos] into %ids {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<?x?xi32> into memref<?x2xi32>
  %t = memref.dim %ids, %c0 : memref<?x2xi32>
  %rows = memref.alloc(%t) : memref<?x2x4xf32>
  ember.multi_table_gather %tables[%ids] into %rows {ngram = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>, row_offsets = array<i64: 0, 11>} : memref<24x4xbf16>, memref<?x2xi32> into memref<?x2x4xf32>
  %row = memref.subview %table[%slot, %pos] [%c1, %t] [%c1, %c1] : memref<?x?xi32> to memref<?x?xi32, strided<[?, ?], offset: ?>>
  %column = memref.transpose %row (d0, d1) -> (d1, d0) : memref<?x?xi32, strided<[?, ?], offset: ?>> to memref<?x?xi32, strided<[?, ?], offset: ?>>
  %word = memref.alloc(%t) : memref<?x1x8xf32>
  ember.multi_table_gather %embed[%column] into %word {row_offsets = array<i64: 0>} : memref<5x8xf32>, memref<?x?xi32, strided<[?, ?], offset: ?>> into memref<?x1x8xf32>
  %word2d = memref.collapse_shape %word [[0, 1], [2]] : memref<?x1x8xf32> into memref<?x8xf32>
  ember.ngram_combine %word2d, %rows, %proj into %out : memref<?x8xf32>, memref<?x2x4xf32>, memref<2x8x4xbf16> into memref<?x8xf32>
  memref.dealloc %word : memref<?x1x8xf32>
  memref.dealloc %rows : memref<?x2x4xf32>
  return
}

// -----

// Not fused: the token table is written between the ids and the combine
// (the fused op would hash the new tokens).
// CHECK-LABEL: func @table_written
// CHECK-NOT: ember.ngram_embed
// CHECK: ember.ngram_combine
func.func @table_written(%table: memref<?x?xi32>, %slot: index, %pos: index, %embed: memref<5x8xf32>,
                         %tables: memref<24x4xbf16>, %proj: memref<2x8x4xbf16>, %out: memref<?x8xf32>,
                         %n: index, %tokens: memref<?xi32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %ids = memref.alloc(%n) : memref<?x2xi32>
  ember.ngram_ids %table[%slot, %pos] into %ids {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<?x?xi32> into memref<?x2xi32>
  %rows = memref.alloc(%n) : memref<?x2x4xf32>
  ember.multi_table_gather %tables[%ids] into %rows {ngram = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>, row_offsets = array<i64: 0, 11>} : memref<24x4xbf16>, memref<?x2xi32> into memref<?x2x4xf32>
  %row = memref.subview %table[%slot, %pos] [%c1, %n] [%c1, %c1] : memref<?x?xi32> to memref<?x?xi32, strided<[?, ?], offset: ?>>
  %column = memref.transpose %row (d0, d1) -> (d1, d0) : memref<?x?xi32, strided<[?, ?], offset: ?>> to memref<?x?xi32, strided<[?, ?], offset: ?>>
  %word = memref.alloc(%n) : memref<?x1x8xf32>
  ember.multi_table_gather %embed[%column] into %word {row_offsets = array<i64: 0>} : memref<5x8xf32>, memref<?x?xi32, strided<[?, ?], offset: ?>> into memref<?x1x8xf32>
  ember.ngram_cache_write %tokens into %table[%slot, %pos] : memref<?xi32> into memref<?x?xi32>
  %word2d = memref.collapse_shape %word [[0, 1], [2]] : memref<?x1x8xf32> into memref<?x8xf32>
  ember.ngram_combine %word2d, %rows, %proj into %out : memref<?x8xf32>, memref<?x2x4xf32>, memref<2x8x4xbf16> into memref<?x8xf32>
  return
}

// -----

// Not fused: the gathered rows are read by something else (here they are
// an argument, so the caller sees them).
// CHECK-LABEL: func @rows_visible
// CHECK-NOT: ember.ngram_embed
// CHECK: ember.ngram_combine
func.func @rows_visible(%table: memref<?x?xi32>, %slot: index, %pos: index, %embed: memref<5x8xf32>,
                        %tables: memref<24x4xbf16>, %proj: memref<2x8x4xbf16>, %out: memref<?x8xf32>,
                        %n: index, %rows: memref<?x2x4xf32>) {
  %c1 = arith.constant 1 : index
  %ids = memref.alloc(%n) : memref<?x2xi32>
  ember.ngram_ids %table[%slot, %pos] into %ids {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<?x?xi32> into memref<?x2xi32>
  ember.multi_table_gather %tables[%ids] into %rows {ngram = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>, row_offsets = array<i64: 0, 11>} : memref<24x4xbf16>, memref<?x2xi32> into memref<?x2x4xf32>
  %row = memref.subview %table[%slot, %pos] [%c1, %n] [%c1, %c1] : memref<?x?xi32> to memref<?x?xi32, strided<[?, ?], offset: ?>>
  %column = memref.transpose %row (d0, d1) -> (d1, d0) : memref<?x?xi32, strided<[?, ?], offset: ?>> to memref<?x?xi32, strided<[?, ?], offset: ?>>
  %word = memref.alloc(%n) : memref<?x1x8xf32>
  ember.multi_table_gather %embed[%column] into %word {row_offsets = array<i64: 0>} : memref<5x8xf32>, memref<?x?xi32, strided<[?, ?], offset: ?>> into memref<?x1x8xf32>
  %word2d = memref.collapse_shape %word [[0, 1], [2]] : memref<?x1x8xf32> into memref<?x8xf32>
  ember.ngram_combine %word2d, %rows, %proj into %out : memref<?x8xf32>, memref<?x2x4xf32>, memref<2x8x4xbf16> into memref<?x8xf32>
  return
}

// -----

// Not fused: the word embedding is of other tokens than the hashed ones
// (a different position), or the word buffer is read again afterwards.
// CHECK-LABEL: func @other_tokens
// CHECK-NOT: ember.ngram_embed
// CHECK: ember.ngram_combine
// CHECK-NOT: ember.ngram_embed
// CHECK: ember.ngram_combine
func.func @other_tokens(%table: memref<?x?xi32>, %slot: index, %pos: index, %embed: memref<5x8xf32>,
                        %tables: memref<24x4xbf16>, %proj: memref<2x8x4xbf16>, %out: memref<?x8xf32>,
                        %n: index, %other: index, %copy: memref<?x1x8xf32>) {
  %c1 = arith.constant 1 : index
  %ids = memref.alloc(%n) : memref<?x2xi32>
  ember.ngram_ids %table[%slot, %pos] into %ids {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<?x?xi32> into memref<?x2xi32>
  %rows = memref.alloc(%n) : memref<?x2x4xf32>
  ember.multi_table_gather %tables[%ids] into %rows {ngram = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>, row_offsets = array<i64: 0, 11>} : memref<24x4xbf16>, memref<?x2xi32> into memref<?x2x4xf32>
  %row = memref.subview %table[%slot, %other] [%c1, %n] [%c1, %c1] : memref<?x?xi32> to memref<?x?xi32, strided<[?, ?], offset: ?>>
  %column = memref.transpose %row (d0, d1) -> (d1, d0) : memref<?x?xi32, strided<[?, ?], offset: ?>> to memref<?x?xi32, strided<[?, ?], offset: ?>>
  %word = memref.alloc(%n) : memref<?x1x8xf32>
  ember.multi_table_gather %embed[%column] into %word {row_offsets = array<i64: 0>} : memref<5x8xf32>, memref<?x?xi32, strided<[?, ?], offset: ?>> into memref<?x1x8xf32>
  %word2d = memref.collapse_shape %word [[0, 1], [2]] : memref<?x1x8xf32> into memref<?x8xf32>
  ember.ngram_combine %word2d, %rows, %proj into %out : memref<?x8xf32>, memref<?x2x4xf32>, memref<2x8x4xbf16> into memref<?x8xf32>

  %ids2 = memref.alloc(%n) : memref<?x2xi32>
  ember.ngram_ids %table[%slot, %pos] into %ids2 {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<?x?xi32> into memref<?x2xi32>
  %rows2 = memref.alloc(%n) : memref<?x2x4xf32>
  ember.multi_table_gather %tables[%ids2] into %rows2 {ngram = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>, row_offsets = array<i64: 0, 11>} : memref<24x4xbf16>, memref<?x2xi32> into memref<?x2x4xf32>
  %row2 = memref.subview %table[%slot, %pos] [%c1, %n] [%c1, %c1] : memref<?x?xi32> to memref<?x?xi32, strided<[?, ?], offset: ?>>
  %column2 = memref.transpose %row2 (d0, d1) -> (d1, d0) : memref<?x?xi32, strided<[?, ?], offset: ?>> to memref<?x?xi32, strided<[?, ?], offset: ?>>
  %word2 = memref.alloc(%n) : memref<?x1x8xf32>
  ember.multi_table_gather %embed[%column2] into %word2 {row_offsets = array<i64: 0>} : memref<5x8xf32>, memref<?x?xi32, strided<[?, ?], offset: ?>> into memref<?x1x8xf32>
  %word2d2 = memref.collapse_shape %word2 [[0, 1], [2]] : memref<?x1x8xf32> into memref<?x8xf32>
  ember.ngram_combine %word2d2, %rows2, %proj into %out : memref<?x8xf32>, memref<?x2x4xf32>, memref<2x8x4xbf16> into memref<?x8xf32>
  memref.copy %word2, %copy : memref<?x1x8xf32> to memref<?x1x8xf32>
  return
}

// -----

// The pipeline's disable switch: nothing fused.
// RUN: ember-opt %s --split-input-file --ember-fusion-pipeline=disable=ngram | FileCheck %s --check-prefix=OFF
// RUN: ember-opt %s --split-input-file --ember-fusion-pipeline=disable=all | FileCheck %s --check-prefix=OFF
// OFF-NOT: ember.ngram_embed
// RUN: ember-opt %s --split-input-file --ember-fusion-pipeline | FileCheck %s --check-prefix=ON
// ON: ember.ngram_embed
