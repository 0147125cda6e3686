// RUN: ember-opt %s --ember-lower-to-loops --canonicalize --cse --split-input-file | FileCheck %s --check-prefixes=CHECK,CLAMP
// RUN: ember-opt %s --ember-lower-to-loops=bounds-check=clamp --canonicalize --cse --split-input-file | FileCheck %s --check-prefixes=CHECK,CLAMP
// RUN: ember-opt %s --ember-lower-to-loops=bounds-check=fatal --canonicalize --cse --split-input-file | FileCheck %s --check-prefixes=CHECK,FATAL
// RUN: ember-opt %s --ember-lower-to-loops=bounds-check=none --canonicalize --cse --split-input-file | FileCheck %s --check-prefixes=CHECK,NONE
// RUN: ember-opt %s --ember-lower-to-loops=bounds-check=fatal | ember-opt --ember-nvptx-pipeline=compile-to=nvvm | FileCheck %s --check-prefix=GPU
// RUN: not ember-opt %s --ember-lower-to-loops=bounds-check=wrap 2>&1 | FileCheck %s --check-prefix=BAD

// The gather's row ids are checked against their own table: table 0 has
// rows [0, 11), table 1 (the last) the rest of the dynamic table, R - 11.
// Ids are unsigned, so one unsigned compare (fatal) or min (clamp) also
// catches negative ids. The default is clamp.

// CHECK-LABEL: func @gather
// CHECK-SAME: (%[[TAB:[^:]+]]: memref<?x8xbf16>, %[[IDS:[^:]+]]: memref<?x2xi32>, %[[OUT:[^:]+]]: memref<?x2x8xf32>)
func.func @gather(%table: memref<?x8xbf16>, %ids: memref<?x2xi32>, %rows: memref<?x2x8xf32>) {
  // CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
  // CHECK-DAG: %[[C11:.*]] = arith.constant 11 : index
  // CLAMP-DAG: %[[C10:.*]] = arith.constant 10 : index
  // CLAMP-DAG: %[[C12:.*]] = arith.constant 12 : index
  // FATAL-DAG: %[[R:.*]] = memref.dim %[[TAB]], %[[C0]]
  // FATAL-DAG: %[[ROWS1:.*]] = arith.subi %[[R]], %[[C11]]
  // CLAMP-DAG: %[[R:.*]] = memref.dim %[[TAB]], %[[C0]]
  // CLAMP-DAG: %[[LAST1:.*]] = arith.subi %[[R]], %[[C12]]
  // CHECK: scf.parallel (%[[T:[^,]+]], %[[W:[^)]+]])
  // CHECK:   %[[ID0:.*]] = memref.load %[[IDS]][%[[T]], %[[C0]]]
  // CHECK:   %[[U0:.*]] = arith.index_castui %[[ID0]]
  // CLAMP:   %[[ROW0:.*]] = arith.minui %[[U0]], %[[C10]]
  // CLAMP:   memref.load %[[TAB]][%[[ROW0]], %[[W]]]
  // FATAL:   %[[OK0:.*]] = arith.cmpi ult, %[[U0]], %[[C11]]
  // FATAL:   cf.assert %[[OK0]], "ember gather: row id out of range of table 0"
  // FATAL:   memref.load %[[TAB]][%[[U0]], %[[W]]]
  // NONE-NOT: arith.minui
  // NONE-NOT: cf.assert
  // NONE:    memref.load %[[TAB]][%[[U0]], %[[W]]]
  // CHECK:   %[[ID1:.*]] = memref.load %[[IDS]]
  // CHECK:   %[[U1:.*]] = arith.index_castui %[[ID1]]
  // CLAMP:   %[[C1:.*]] = arith.minui %[[U1]], %[[LAST1]]
  // CLAMP:   %[[ROW1:.*]] = arith.addi %[[C1]], %[[C11]]
  // FATAL:   %[[OK1:.*]] = arith.cmpi ult, %[[U1]], %[[ROWS1]]
  // FATAL:   cf.assert %[[OK1]], "ember gather: row id out of range of table 1"
  // FATAL:   %[[ROW1:.*]] = arith.addi %[[U1]], %[[C11]]
  // NONE:    %[[ROW1:.*]] = arith.addi %[[U1]], %[[C11]]
  // CHECK:   memref.load %[[TAB]][%[[ROW1]], %[[W]]]
  ember.multi_table_gather %table[%ids] into %rows {row_offsets = array<i64: 0, 11>} : memref<?x8xbf16>, memref<?x2xi32> into memref<?x2x8xf32>
  return
}

// In a kernel the failed assertion calls CUDA's __assertfail (it prints the
// message and traps).
// GPU: gpu.module
// GPU: llvm.call @__assertfail

// BAD: for the --bounds-check option: Cannot find option named 'wrap'!

// -----

// The fused n-gram embedding checks only the token id that indexes the word
// embedding [5, 8]; its hashed ids are taken mod M_i right there.
// CHECK-LABEL: func @ngram_embed
// CHECK-SAME: (%[[TOK:[^:]+]]: memref<?xi32>, %{{[^:]+}}: memref<?x?xi32>, %{{[^:]+}}: memref<?xi32>, %{{[^:]+}}: memref<?xi32>, %[[EMB:[^:]+]]: memref<5x8xbf16>
func.func @ngram_embed(%tokens: memref<?xi32>, %table: memref<?x?xi32>, %slots: memref<?xi32>, %positions: memref<?xi32>,
                       %embed: memref<5x8xbf16>, %tables: memref<24x4xbf16>, %proj: memref<2x8x4xbf16>, %out: memref<?x8xf32>) {
  // CLAMP-DAG: %[[LAST:.*]] = arith.constant 4 : index
  // FATAL-DAG: %[[ROWS:.*]] = arith.constant 5 : index
  // CHECK: scf.parallel
  // CHECK:   %[[X:.*]] = memref.load %[[TOK]]
  // CHECK:   %[[XI:.*]] = arith.index_castui %[[X]] : i32 to index
  // CLAMP:   %[[ROW:.*]] = arith.minui %[[XI]], %[[LAST]]
  // FATAL:   %[[OK:.*]] = arith.cmpi ult, %[[XI]], %[[ROWS]]
  // FATAL:   cf.assert %[[OK]], "ember gather: row id out of range of table 0"
  // CLAMP:   memref.load %[[EMB]][%[[ROW]],
  // FATAL:   memref.load %[[EMB]][%[[XI]],
  // NONE:    memref.load %[[EMB]][%[[XI]],
  // CHECK-NOT: arith.minui
  // CHECK-NOT: cf.assert
  // CHECK: return
  ember.ngram_embed %tokens, %table[%slots, %positions], %embed, %tables, %proj into %out {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<?xi32>, memref<?x?xi32>, memref<?xi32>, memref<5x8xbf16>, memref<24x4xbf16>, memref<2x8x4xbf16> into memref<?x8xf32>
  return
}
