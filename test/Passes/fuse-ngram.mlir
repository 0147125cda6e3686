// RUN: ember-opt %s --ember-fuse-ngram --split-input-file | FileCheck %s

// ember_embed's chain: ids, both gathers and the combine become one op; the
// ids, rows and word buffers go away. The word gather's ids (the tokens as
// a [T, 1] column) become the fused op's tokens.
// CHECK-LABEL: func @embed
// CHECK-SAME: (%[[TOK:[^:]+]]: memref<?xi32>, %[[TT:[^:]+]]: memref<?x?xi32>, %[[S:[^:]+]]: memref<?xi32>, %[[P:[^:]+]]: memref<?xi32>, %[[EMB:[^:]+]]: memref<5x8xf32>, %[[TAB:[^:]+]]: memref<24x4xbf16>, %[[PROJ:[^:]+]]: memref<2x8x4xbf16>, %[[OUT:[^:]+]]: memref<?x8xf32>, %[[N:[^:]+]]: index)
// CHECK-NOT: memref.alloc
// CHECK: ember.ngram_embed %[[TOK]], %[[TT]][%[[S]], %[[P]]], %[[EMB]], %[[TAB]], %[[PROJ]] into %[[OUT]] {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>}
// CHECK-NEXT: return
func.func @embed(%tokens: memref<?xi32>, %table: memref<?x?xi32>, %slots: memref<?xi32>, %positions: memref<?xi32>,
                 %embed: memref<5x8xf32>, %tables: memref<24x4xbf16>, %proj: memref<2x8x4xbf16>, %out: memref<?x8xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %ids = memref.alloc(%n) : memref<?x2xi32>
  ember.ngram_ids %table[%slots, %positions] into %ids {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<?x?xi32>, memref<?xi32> into memref<?x2xi32>
  %t = memref.dim %ids, %c0 : memref<?x2xi32>
  %rows = memref.alloc(%t) : memref<?x2x4xf32>
  ember.multi_table_gather %tables[%ids] into %rows {ngram = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>, row_offsets = array<i64: 0, 11>} : memref<24x4xbf16>, memref<?x2xi32> into memref<?x2x4xf32>
  %column = memref.expand_shape %tokens [[0, 1]] output_shape [%t, 1] : memref<?xi32> into memref<?x1xi32>
  %word = memref.alloc(%t) : memref<?x1x8xf32>
  ember.multi_table_gather %embed[%column] into %word {row_offsets = array<i64: 0>} : memref<5x8xf32>, memref<?x1xi32> into memref<?x1x8xf32>
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
func.func @ids_returned(%tokens: memref<?xi32>, %table: memref<?x?xi32>, %slots: memref<?xi32>, %positions: memref<?xi32>,
                        %embed: memref<5x8xf32>, %tables: memref<24x4xbf16>, %proj: memref<2x8x4xbf16>,
                        %ids: memref<?x2xi32>, %out: memref<?x8xf32>) {
  %c0 = arith.constant 0 : index
  ember.ngram_ids %table[%slots, %positions] into %ids {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<?x?xi32>, memref<?xi32> into memref<?x2xi32>
  %t = memref.dim %ids, %c0 : memref<?x2xi32>
  %rows = memref.alloc(%t) : memref<?x2x4xf32>
  ember.multi_table_gather %tables[%ids] into %rows {ngram = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>, row_offsets = array<i64: 0, 11>} : memref<24x4xbf16>, memref<?x2xi32> into memref<?x2x4xf32>
  %column = memref.expand_shape %tokens [[0, 1]] output_shape [%t, 1] : memref<?xi32> into memref<?x1xi32>
  %word = memref.alloc(%t) : memref<?x1x8xf32>
  ember.multi_table_gather %embed[%column] into %word {row_offsets = array<i64: 0>} : memref<5x8xf32>, memref<?x1xi32> into memref<?x1x8xf32>
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
func.func @table_written(%tokens: memref<?xi32>, %table: memref<?x?xi32>, %slots: memref<?xi32>, %positions: memref<?xi32>,
                 %embed: memref<5x8xf32>, %tables: memref<24x4xbf16>, %proj: memref<2x8x4xbf16>, %out: memref<?x8xf32>,
                         %n: index, %later: memref<?xi32>) {
  %ids = memref.alloc(%n) : memref<?x2xi32>
  ember.ngram_ids %table[%slots, %positions] into %ids {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<?x?xi32>, memref<?xi32> into memref<?x2xi32>
  %rows = memref.alloc(%n) : memref<?x2x4xf32>
  ember.multi_table_gather %tables[%ids] into %rows {ngram = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>, row_offsets = array<i64: 0, 11>} : memref<24x4xbf16>, memref<?x2xi32> into memref<?x2x4xf32>
  %column = memref.expand_shape %tokens [[0, 1]] output_shape [%n, 1] : memref<?xi32> into memref<?x1xi32>
  %word = memref.alloc(%n) : memref<?x1x8xf32>
  ember.multi_table_gather %embed[%column] into %word {row_offsets = array<i64: 0>} : memref<5x8xf32>, memref<?x1xi32> into memref<?x1x8xf32>
  %word2d = memref.collapse_shape %word [[0, 1], [2]] : memref<?x1x8xf32> into memref<?x8xf32>
  ember.cache_write %later into %table[%slots, %positions] : memref<?xi32>, memref<?xi32> into memref<?x?xi32>
  ember.ngram_combine %word2d, %rows, %proj into %out : memref<?x8xf32>, memref<?x2x4xf32>, memref<2x8x4xbf16> into memref<?x8xf32>
  return
}

// -----

// Not fused: the gathered rows are read by something else (here they are
// an argument, so the caller sees them).
// CHECK-LABEL: func @rows_visible
// CHECK-NOT: ember.ngram_embed
// CHECK: ember.ngram_combine
func.func @rows_visible(%tokens: memref<?xi32>, %table: memref<?x?xi32>, %slots: memref<?xi32>, %positions: memref<?xi32>,
                 %embed: memref<5x8xf32>, %tables: memref<24x4xbf16>, %proj: memref<2x8x4xbf16>, %out: memref<?x8xf32>,
                        %n: index, %rows: memref<?x2x4xf32>) {
  %ids = memref.alloc(%n) : memref<?x2xi32>
  ember.ngram_ids %table[%slots, %positions] into %ids {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<?x?xi32>, memref<?xi32> into memref<?x2xi32>
  ember.multi_table_gather %tables[%ids] into %rows {ngram = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>, row_offsets = array<i64: 0, 11>} : memref<24x4xbf16>, memref<?x2xi32> into memref<?x2x4xf32>
  %column = memref.expand_shape %tokens [[0, 1]] output_shape [%n, 1] : memref<?xi32> into memref<?x1xi32>
  %word = memref.alloc(%n) : memref<?x1x8xf32>
  ember.multi_table_gather %embed[%column] into %word {row_offsets = array<i64: 0>} : memref<5x8xf32>, memref<?x1xi32> into memref<?x1x8xf32>
  %word2d = memref.collapse_shape %word [[0, 1], [2]] : memref<?x1x8xf32> into memref<?x8xf32>
  ember.ngram_combine %word2d, %rows, %proj into %out : memref<?x8xf32>, memref<?x2x4xf32>, memref<2x8x4xbf16> into memref<?x8xf32>
  return
}

// -----

// Not fused: the word gather's ids are not a column of a row of tokens (the
// fused op has nowhere to take its tokens from), or the word buffer is read
// again afterwards.
// CHECK-LABEL: func @word_ids_or_buffer
// CHECK-NOT: ember.ngram_embed
// CHECK: ember.ngram_combine
// CHECK-NOT: ember.ngram_embed
// CHECK: ember.ngram_combine
func.func @word_ids_or_buffer(%tokens: memref<?xi32>, %table: memref<?x?xi32>, %slots: memref<?xi32>, %positions: memref<?xi32>,
                 %embed: memref<5x8xf32>, %tables: memref<24x4xbf16>, %proj: memref<2x8x4xbf16>, %out: memref<?x8xf32>,
                        %n: index, %wordIds: memref<?x1xi32>, %copy: memref<?x1x8xf32>) {
  %ids = memref.alloc(%n) : memref<?x2xi32>
  ember.ngram_ids %table[%slots, %positions] into %ids {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<?x?xi32>, memref<?xi32> into memref<?x2xi32>
  %rows = memref.alloc(%n) : memref<?x2x4xf32>
  ember.multi_table_gather %tables[%ids] into %rows {ngram = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>, row_offsets = array<i64: 0, 11>} : memref<24x4xbf16>, memref<?x2xi32> into memref<?x2x4xf32>
  %word = memref.alloc(%n) : memref<?x1x8xf32>
  ember.multi_table_gather %embed[%wordIds] into %word {row_offsets = array<i64: 0>} : memref<5x8xf32>, memref<?x1xi32> into memref<?x1x8xf32>
  %word2d = memref.collapse_shape %word [[0, 1], [2]] : memref<?x1x8xf32> into memref<?x8xf32>
  ember.ngram_combine %word2d, %rows, %proj into %out : memref<?x8xf32>, memref<?x2x4xf32>, memref<2x8x4xbf16> into memref<?x8xf32>

  %ids2 = memref.alloc(%n) : memref<?x2xi32>
  ember.ngram_ids %table[%slots, %positions] into %ids2 {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<?x?xi32>, memref<?xi32> into memref<?x2xi32>
  %rows2 = memref.alloc(%n) : memref<?x2x4xf32>
  ember.multi_table_gather %tables[%ids2] into %rows2 {ngram = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>, row_offsets = array<i64: 0, 11>} : memref<24x4xbf16>, memref<?x2xi32> into memref<?x2x4xf32>
  %column2 = memref.expand_shape %tokens [[0, 1]] output_shape [%n, 1] : memref<?xi32> into memref<?x1xi32>
  %word2 = memref.alloc(%n) : memref<?x1x8xf32>
  ember.multi_table_gather %embed[%column2] into %word2 {row_offsets = array<i64: 0>} : memref<5x8xf32>, memref<?x1xi32> into memref<?x1x8xf32>
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
