// RUN: ember-opt %s --ember-lower-to-loops --canonicalize --cse --split-input-file | FileCheck %s

// V = 5, m = 10, N = 3, K = 1: table 0 (bigrams) has M_0 = 11 rows and
// multipliers [1, 5 mod 11 = 5]; table 1 (trigrams) has M_1 = 13 rows and
// multipliers [1, 5, 25 mod 13 = 12].
// CHECK-LABEL: func @ids
// CHECK-SAME: (%[[TAB:.*]]: memref<1x8xi32>, %[[SLOTS:.*]]: memref<?xi32>, %[[POSITIONS:.*]]: memref<?xi32>, %[[IDS:.*]]: memref<?x2xi32>)
func.func @ids(%table: memref<1x8xi32>, %slots: memref<?xi32>, %positions: memref<?xi32>, %ids: memref<?x2xi32>) {
  // CHECK-DAG: %[[M5:.*]] = arith.constant 5 : i64
  // CHECK-DAG: %[[M11:.*]] = arith.constant 11 : i64
  // CHECK-DAG: %[[M12:.*]] = arith.constant 12 : i64
  // CHECK-DAG: %[[M13:.*]] = arith.constant 13 : i64
  // CHECK: %[[T:.*]] = memref.dim %[[IDS]], %{{.*}}
  // CHECK: scf.parallel (%[[I:.*]]) = (%{{.*}}) to (%[[T]])
  // Each row's slot and position come from memory.
  // CHECK:   %[[SLOT32:.*]] = memref.load %[[SLOTS]][%[[I]]]
  // CHECK:   %[[S:.*]] = arith.index_castui %[[SLOT32]]
  // CHECK:   %[[POS32:.*]] = memref.load %[[POSITIONS]][%[[I]]]
  // CHECK:   %[[POS:.*]] = arith.index_castui %[[POS32]]
  // CHECK:   %[[X0:.*]] = memref.load %[[TAB]][%[[S]], %[[POS]]]
  // CHECK:   arith.extui %[[X0]] : i32 to i64
  // The look-back is clamped to the row start and cut at an earlier EOS (2).
  // CHECK:   %[[BACK1:.*]] = arith.subi %[[POS]]
  // CHECK:   %[[BEFORE1:.*]] = arith.cmpi slt, %[[BACK1]]
  // CHECK:   %[[X1:.*]] = memref.load %[[TAB]][%[[S]], %{{.*}}]
  // CHECK:   arith.cmpi eq, %[[X1]], %{{.*}} : i32
  // CHECK:   arith.select
  // CHECK:   memref.load %[[TAB]]
  // CHECK:   arith.muli %{{.*}}, %[[M5]] : i64
  // CHECK:   arith.remui %{{.*}}, %[[M11]] : i64
  // CHECK:   %[[ID0:.*]] = arith.trunci %{{.*}} : i64 to i32
  // CHECK:   arith.muli %{{.*}}, %[[M12]] : i64
  // CHECK:   arith.remui %{{.*}}, %[[M13]] : i64
  // CHECK:   %[[ID1:.*]] = arith.trunci %{{.*}} : i64 to i32
  // CHECK:   memref.store %[[ID0]], %[[IDS]][%[[I]], %{{.*}}]
  // CHECK:   memref.store %[[ID1]], %[[IDS]][%[[I]], %{{.*}}]
  // CHECK: scf.reduce
  // CHECK-NOT: ember.
  ember.ngram_ids %table[%slots, %positions] into %ids {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<1x8xi32>, memref<?xi32> into memref<?x2xi32>
  return
}

// -----

// A thread per value: row i goes to [slots[i], positions[i]].
// CHECK-LABEL: func @cache_write
// CHECK-SAME: (%[[TOK:.*]]: memref<?xi32>, %[[TAB:.*]]: memref<4x64xi32>, %[[SLOTS:.*]]: memref<?xi32>, %[[POSITIONS:.*]]: memref<?xi32>,
// CHECK-SAME: %[[ROWS:.*]]: memref<?x40xf32>, %[[KV:.*]]: memref<4x64x40xf32>)
func.func @cache_write(%tokens: memref<?xi32>, %table: memref<4x64xi32>, %slots: memref<?xi32>, %positions: memref<?xi32>,
                       %rows: memref<?x40xf32>, %kv: memref<4x64x40xf32>) {
  // CHECK: scf.parallel (%[[I:.*]]) =
  // CHECK:   %[[V:.*]] = memref.load %[[TOK]][%[[I]]]
  // CHECK:   %[[S32:.*]] = memref.load %[[SLOTS]][%[[I]]]
  // CHECK:   %[[S:.*]] = arith.index_castui %[[S32]]
  // CHECK:   %[[P32:.*]] = memref.load %[[POSITIONS]][%[[I]]]
  // CHECK:   %[[P:.*]] = arith.index_castui %[[P32]]
  // CHECK:   memref.store %[[V]], %[[TAB]][%[[S]], %[[P]]]
  ember.cache_write %tokens into %table[%slots, %positions] : memref<?xi32>, memref<?xi32> into memref<4x64xi32>
  // CHECK: scf.parallel (%[[J:.*]], %[[C:.*]]) =
  // CHECK:   %[[R:.*]] = memref.load %[[ROWS]][%[[J]], %[[C]]]
  // CHECK:   memref.store %[[R]], %[[KV]][%{{.*}}, %{{.*}}, %[[C]]]
  ember.cache_write %rows into %kv[%slots, %positions] : memref<?x40xf32>, memref<?xi32> into memref<4x64x40xf32>
  return
}

// -----

// One (token, column) iteration walks both tables: row = min(id, last row
// of its table) + offset (the default bounds check, clamp; see
// gather-bounds-check.mlir for the others).
// CHECK-LABEL: func @gather
// CHECK-SAME: (%[[TAB:.*]]: memref<24x8xbf16>, %[[IDS:.*]]: memref<?x2xi32>, %[[OUT:.*]]: memref<?x2x8xf32>)
func.func @gather(%table: memref<24x8xbf16>, %ids: memref<?x2xi32>, %rows: memref<?x2x8xf32>) {
  // CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
  // CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
  // CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
  // CHECK-DAG: %[[C10:.*]] = arith.constant 10 : index
  // CHECK-DAG: %[[C11:.*]] = arith.constant 11 : index
  // CHECK-DAG: %[[C12:.*]] = arith.constant 12 : index
  // CHECK: scf.parallel (%[[T:.*]], %[[W:.*]]) = (%[[C0]], %[[C0]]) to (%{{.*}}, %[[C8]])
  // CHECK:   %[[ID0:.*]] = memref.load %[[IDS]][%[[T]], %[[C0]]]
  // CHECK:   %[[U0:.*]] = arith.index_castui %[[ID0]]
  // CHECK:   %[[ROW0:.*]] = arith.minui %[[U0]], %[[C10]]
  // CHECK:   %[[E0:.*]] = memref.load %[[TAB]][%[[ROW0]], %[[W]]]
  // CHECK:   %[[F0:.*]] = arith.extf %[[E0]] : bf16 to f32
  // CHECK:   memref.store %[[F0]], %[[OUT]][%[[T]], %[[C0]], %[[W]]]
  // CHECK:   %[[ID1:.*]] = memref.load %[[IDS]][%[[T]], %[[C1]]]
  // CHECK:   %[[U1:.*]] = arith.index_castui %[[ID1]]
  // CHECK:   %[[R1:.*]] = arith.minui %[[U1]], %[[C12]]
  // CHECK:   %[[ROW1:.*]] = arith.addi %[[R1]], %[[C11]]
  // CHECK:   memref.load %[[TAB]][%[[ROW1]], %[[W]]]
  // CHECK:   memref.store %{{.*}}, %[[OUT]][%[[T]], %[[C1]], %[[W]]]
  ember.multi_table_gather %table[%ids] into %rows {row_offsets = array<i64: 0, 11>} : memref<24x8xbf16>, memref<?x2xi32> into memref<?x2x8xf32>
  return
}

// -----

// CHECK-LABEL: func @combine
// CHECK-SAME: (%[[WORD:.*]]: memref<?x96xf32>, %[[ROWS:.*]]: memref<?x12x8xf32>, %[[PROJ:.*]]: memref<12x96x8xf16>, %[[OUT:.*]]: memref<?x96xf32>)
func.func @combine(%word: memref<?x96xf32>, %rows: memref<?x12x8xf32>, %proj: memref<12x96x8xf16>, %out: memref<?x96xf32>) {
  // The mean divides by 1 + E = 13.
  // CHECK: %[[N:.*]] = arith.constant 1.300000e+01 : f32
  // CHECK: scf.parallel (%[[T:.*]], %[[D:.*]]) =
  // CHECK:   %[[INIT:.*]] = memref.load %[[WORD]][%[[T]], %[[D]]]
  // CHECK:   %[[SUM:.*]] = scf.for %[[I:[^ ]*]] = {{.*}} iter_args(%{{.*}} = %[[INIT]])
  // CHECK:     scf.for %[[W:[^ ]*]] =
  // CHECK:       %[[P:.*]] = memref.load %[[PROJ]][%[[I]], %[[D]], %[[W]]]
  // CHECK:       arith.extf %[[P]] : f16 to f32
  // CHECK:       memref.load %[[ROWS]][%[[T]], %[[I]], %[[W]]]
  // CHECK:       arith.mulf {{.*}} fastmath<reassoc,contract>
  // CHECK:       arith.addf {{.*}} fastmath<reassoc,contract>
  // CHECK:   %[[MEAN:.*]] = arith.divf %[[SUM]], %[[N]]
  // CHECK:   memref.store %[[MEAN]], %[[OUT]][%[[T]], %[[D]]]
  ember.ngram_combine %word, %rows, %proj into %out : memref<?x96xf32>, memref<?x12x8xf32>, memref<12x96x8xf16> into memref<?x96xf32>
  return
}
