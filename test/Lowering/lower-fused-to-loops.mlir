// RUN: ember-opt %s --ember-lower-to-loops --canonicalize --cse --split-input-file | FileCheck %s

// One thread per h[t, f]: both dot products over the same x row, then
// silu(gate) * up; no [T, F] projection is stored.
// CHECK-LABEL: func @swiglu
// CHECK-SAME: (%[[X:[^:]+]]: memref<?x8xf32>, %[[G:[^:]+]]: memref<16x8xbf16>, %[[U:[^:]+]]: memref<16x8xbf16>, %[[H:[^:]+]]: memref<?x16xf32>)
func.func @swiglu(%x: memref<?x8xf32>, %g: memref<16x8xbf16>, %u: memref<16x8xbf16>, %h: memref<?x16xf32>) {
  // CHECK: scf.parallel (%[[T:[^ ]+]], %[[F:[^ ]+]]) =
  // CHECK:   %[[GATE:.*]] = scf.for %[[I:[^ ]+]] =
  // CHECK-DAG:     memref.load %[[X]][%[[T]], %[[I]]]
  // CHECK-DAG:     memref.load %[[G]][%[[F]], %[[I]]]
  // CHECK:   %[[UP:.*]] = scf.for %[[J:[^ ]+]] =
  // CHECK-DAG:     memref.load %[[U]][%[[F]], %[[J]]]
  // CHECK-DAG:     memref.load %[[X]][%[[T]], %[[J]]]
  // CHECK:   math.exp
  // CHECK:   %[[S:.*]] = arith.divf %[[GATE]]
  // CHECK:   %[[P:.*]] = arith.mulf %[[S]], %[[UP]]
  // CHECK:   memref.store %[[P]], %[[H]][%[[T]], %[[F]]]
  // CHECK-NOT: memref.store
  ember.swiglu %x, %g, %u into %h : memref<?x8xf32>, memref<16x8xbf16>, memref<16x8xbf16> into memref<?x16xf32>
  return
}

// -----

// One thread per out[t, d]: the thread hashes its token (history t-1, t-2
// under the EOS rule; ids mod M_0 = 11 and M_1 = 13), starts from the word
// row and adds each table's row (at offsets 0 and 11) times its projection;
// ids and rows stay in registers, so the only store is the mean. The token
// id is clamped to the word embedding's last row (the default bounds check,
// gather-bounds-check.mlir); the hashed ids are in range by construction.
// CHECK-LABEL: func @ngram_embed
// CHECK-SAME: (%[[TOK:[^:]+]]: memref<?xi32>, %[[TT:[^:]+]]: memref<?x?xi32>, %[[SLOTS:[^:]+]]: memref<?xi32>, %[[P:[^:]+]]: memref<?xi32>, %[[EMB:[^:]+]]: memref<5x8xbf16>, %[[TAB:[^:]+]]: memref<24x4xbf16>, %[[PROJ:[^:]+]]: memref<2x8x4xbf16>, %[[OUT:[^:]+]]: memref<?x8xf32>)
func.func @ngram_embed(%tokens: memref<?xi32>, %table: memref<?x?xi32>, %slots: memref<?xi32>, %positions: memref<?xi32>,
                       %embed: memref<5x8xbf16>, %tables: memref<24x4xbf16>, %proj: memref<2x8x4xbf16>, %out: memref<?x8xf32>) {
  // CHECK-DAG: %[[MEAN:.*]] = arith.constant 3.000000e+00 : f32
  // CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
  // CHECK-DAG: %[[C11:.*]] = arith.constant 11 : index
  // CHECK-DAG: %[[M0:.*]] = arith.constant 11 : i64
  // CHECK-DAG: %[[M1:.*]] = arith.constant 13 : i64
  // CHECK: scf.parallel (%[[T:[^ ]+]], %[[D:[^ ]+]]) =
  // CHECK:   %[[S32:.*]] = memref.load %[[SLOTS]][%[[T]]]
  // CHECK:   %[[S:.*]] = arith.index_castui %[[S32]]
  // CHECK:   %[[POS32:.*]] = memref.load %[[P]][%[[T]]]
  // CHECK:   %[[POS:.*]] = arith.index_castui %[[POS32]]
  // CHECK:   memref.load %[[TT]][%[[S]], %[[POS]]]
  // CHECK:   arith.cmpi eq
  // CHECK:   %[[H0:.*]] = arith.remui %{{.*}}, %[[M0]] : i64
  // CHECK:   %[[ID0:.*]] = arith.trunci %[[H0]] : i64 to i32
  // CHECK:   %[[H1:.*]] = arith.remui %{{.*}}, %[[M1]] : i64
  // CHECK:   %[[ID1:.*]] = arith.trunci %[[H1]] : i64 to i32
  // CHECK:   %[[X:.*]] = memref.load %[[TOK]][%[[T]]]
  // CHECK:   %[[XI:.*]] = arith.index_castui %[[X]] : i32 to index
  // CHECK:   %[[XC:.*]] = arith.minui %[[XI]], %[[C4]]
  // CHECK:   %[[WORD:.*]] = memref.load %[[EMB]][%[[XC]], %[[D]]]
  // CHECK:   %[[WORD32:.*]] = arith.extf %[[WORD]]
  // CHECK:   %[[S0:.*]] = scf.for %[[W:[^ ]+]] = {{.*}} iter_args(%{{[^ ]+}} = %[[WORD32]])
  // CHECK:     %[[R0:.*]] = arith.index_castui %[[ID0]] : i32 to index
  // CHECK:     memref.load %[[TAB]][%[[R0]], %[[W]]]
  // CHECK:     memref.load %[[PROJ]][%{{.*}}, %[[D]], %[[W]]]
  // CHECK:   %[[S1:.*]] = scf.for %[[W1:[^ ]+]] = {{.*}} iter_args(%{{[^ ]+}} = %[[S0]])
  // CHECK:     %[[I1:.*]] = arith.index_castui %[[ID1]] : i32 to index
  // CHECK:     %[[R1:.*]] = arith.addi %[[I1]], %[[C11]]
  // CHECK:     memref.load %[[TAB]][%[[R1]], %[[W1]]]
  // CHECK:   %[[E:.*]] = arith.divf %[[S1]], %[[MEAN]]
  // CHECK:   memref.store %[[E]], %[[OUT]][%[[T]], %[[D]]]
  // CHECK-NOT: memref.store
  ember.ngram_embed %tokens, %table[%slots, %positions], %embed, %tables, %proj into %out {config = #ember.ngram<vocab = 5, m = 10, n = 3, k = 1, eos = 2>} : memref<?xi32>, memref<?x?xi32>, memref<?xi32>, memref<5x8xbf16>, memref<24x4xbf16>, memref<2x8x4xbf16> into memref<?x8xf32>
  return
}

// -----

// One thread per token: its R+Z logits (dot products over D) into a
// per-thread scratch row (memref.alloca: registers or local memory, no
// [T, R+Z] buffer), then router_topk's loops (max, sum, k rounds of argmax)
// read that row; only the choices are stored.
// CHECK-LABEL: func @fused_router
// CHECK-SAME: (%[[U:[^:]+]]: memref<?x8xf32>, %[[C:[^:]+]]: memref<12x8xbf16>, %[[B:[^:]+]]: memref<12xf32>, %[[E:[^:]+]]: memref<?x3xi32>, %[[W:[^:]+]]: memref<?x3xf32>)
func.func @fused_router(%u: memref<?x8xf32>, %c: memref<12x8xbf16>, %b: memref<12xf32>, %e: memref<?x3xi32>, %w: memref<?x3xf32>) {
  // CHECK-DAG: %[[SCALE:[^ ]+]] = arith.constant 6.000000e+00 : f32
  // CHECK-DAG: %[[C3:[^ ]+]] = arith.constant 3 : index
  // CHECK-DAG: %[[C8:[^ ]+]] = arith.constant 8 : index
  // CHECK-DAG: %[[C12:[^ ]+]] = arith.constant 12 : index
  // CHECK-NOT: memref.alloc(
  // CHECK: scf.parallel (%[[T:[^ ]+]]) =
  // CHECK:   %[[LOGITS:[^ ]+]] = memref.alloca() : memref<12xf32>
  // CHECK:   scf.for %[[E0:[^ ]+]] = %{{[^ ]+}} to %[[C12]]
  // CHECK:     %[[L0:[^ ]+]] = scf.for %[[I0:[^ ]+]] = %{{[^ ]+}} to %[[C8]]
  // CHECK-DAG:   memref.load %[[C]][%[[E0]], %[[I0]]]
  // CHECK-DAG:   memref.load %[[U]][%[[T]], %[[I0]]]
  // CHECK:     memref.store %[[L0]], %[[LOGITS]][%[[E0]]]
  // CHECK:   %[[MAX:[^ ]+]] = scf.for %[[E1:[^ ]+]] = %{{[^ ]+}} to %[[C12]]
  // CHECK:     memref.load %[[LOGITS]][%[[E1]]]
  // CHECK:   %[[SUM:[^ ]+]] = scf.for
  // CHECK:   scf.for %[[J:[^ ]+]] = %{{[^ ]+}} to %[[C3]]
  // CHECK:     %[[BEST:[^ ]+]]:3 = scf.for %[[EI:[^ ]+]] = %{{[^ ]+}} to %[[C12]]
  // CHECK:       %[[L2:[^ ]+]] = memref.load %[[LOGITS]][%[[EI]]]
  // CHECK:       %[[SH:[^ ]+]] = arith.subf %[[L2]], %[[MAX]] : f32
  // CHECK:       %[[X:[^ ]+]] = math.exp %[[SH]]
  // CHECK:       %[[P:[^ ]+]] = arith.divf %[[X]], %[[SUM]] : f32
  // CHECK:       %[[BIAS:[^ ]+]] = memref.load %[[B]][%[[EI]]]
  // CHECK:       arith.addf %[[P]], %[[BIAS]] : f32
  // CHECK:     %[[ID:[^ ]+]] = arith.index_cast %[[BEST]]#1 : index to i32
  // CHECK:     memref.store %[[ID]], %[[E]][%[[T]], %[[J]]]
  // CHECK:     %[[WT:[^ ]+]] = arith.mulf %[[BEST]]#2, %[[SCALE]] : f32
  // CHECK:     memref.store %[[WT]], %[[W]][%[[T]], %[[J]]]
  // CHECK-NOT: memref.store %{{.*}}, %[[E]]
  ember.fused_router %u, %c, %b into %e, %w {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<?x8xf32>, memref<12x8xbf16>, memref<12xf32> into memref<?x3xi32>, memref<?x3xf32>
  return
}

// -----

// Per thread (the default, as on the GPU): one iteration per y[t, o] that
// computes its row's inverse RMS, then the dot product of the normalized x
// (x * inverse * weight * scale, as rms_norm stores it) with w[o], added to
// y[t, o]. The normalized row is never stored.
// CHECK-LABEL: func @norm_linear
// CHECK-SAME: (%[[X:[^:]+]]: memref<?x8xf32>, %[[N:[^:]+]]: memref<8xbf16>, %[[W:[^:]+]]: memref<4x8xbf16>, %[[Y:[^:]+]]: memref<?x4xf32>)
func.func @norm_linear(%x: memref<?x8xf32>, %n: memref<8xbf16>, %w: memref<4x8xbf16>, %y: memref<?x4xf32>) {
  // CHECK-DAG: %[[WIDTH:[^ ]+]] = arith.constant 8.000000e+00 : f32
  // CHECK-DAG: %[[SCALE:[^ ]+]] = arith.constant 2.000000e+00 : f32
  // CHECK-DAG: %[[EPS:[^ ]+]] = arith.constant 9.99999974E-6 : f32
  // CHECK: scf.parallel (%[[T:[^ ]+]], %[[O:[^ ]+]]) =
  // CHECK:   %[[SS:[^ ]+]] = scf.for %[[I:[^ ]+]] =
  // CHECK:     %[[XI:[^ ]+]] = memref.load %[[X]][%[[T]], %[[I]]]
  // CHECK:     arith.mulf %[[XI]], %[[XI]]
  // CHECK:   %[[MEAN:[^ ]+]] = arith.divf %[[SS]], %[[WIDTH]]
  // CHECK:   %[[SUM:[^ ]+]] = arith.addf %[[MEAN]], %[[EPS]]
  // CHECK:   %[[ROOT:[^ ]+]] = math.sqrt %[[SUM]]
  // CHECK:   %[[INV:[^ ]+]] = arith.divf %{{.*}}, %[[ROOT]]
  // CHECK:   %[[INIT:[^ ]+]] = memref.load %[[Y]][%[[T]], %[[O]]]
  // CHECK:   %[[DOT:[^ ]+]] = scf.for %[[J:[^ ]+]] = {{.*}} iter_args(%[[ACC:[^ ]+]] = %[[INIT]])
  // CHECK-DAG:   %[[WJ:[^ ]+]] = memref.load %[[W]][%[[O]], %[[J]]]
  // CHECK-DAG:   %[[XJ:[^ ]+]] = memref.load %[[X]][%[[T]], %[[J]]]
  // CHECK:       %[[A:[^ ]+]] = arith.mulf %[[XJ]], %[[INV]]
  // CHECK:       %[[NJ:[^ ]+]] = memref.load %[[N]][%[[J]]]
  // CHECK:       %[[NF:[^ ]+]] = arith.extf %[[NJ]]
  // CHECK:       %[[B:[^ ]+]] = arith.mulf %[[A]], %[[NF]]
  // CHECK:       %[[C:[^ ]+]] = arith.mulf %[[B]], %[[SCALE]]
  // CHECK:       arith.mulf %[[C]], %{{.*}} fastmath<reassoc,contract>
  // CHECK:   memref.store %[[DOT]], %[[Y]][%[[T]], %[[O]]]
  // CHECK-NOT: memref.store
  ember.norm_linear %x, %n, %w into %y {accumulate, eps = 1.0e-5 : f32, scale = 2.0 : f32} : memref<?x8xf32>, memref<8xbf16>, memref<4x8xbf16> into memref<?x4xf32>
  return
}

// -----

// One thread per h[t, f]: the row's inverse RMS, then swiglu's two dot
// products over the normalized x.
// CHECK-LABEL: func @norm_swiglu
// CHECK-SAME: (%[[X:[^:]+]]: memref<?x8xf32>, %[[N:[^:]+]]: memref<8xf32>, %[[G:[^:]+]]: memref<16x8xbf16>, %[[U:[^:]+]]: memref<16x8xbf16>, %[[H:[^:]+]]: memref<?x16xf32>)
func.func @norm_swiglu(%x: memref<?x8xf32>, %n: memref<8xf32>, %g: memref<16x8xbf16>, %u: memref<16x8xbf16>, %h: memref<?x16xf32>) {
  // CHECK: scf.parallel (%[[T:[^ ]+]], %[[F:[^ ]+]]) =
  // CHECK:   math.sqrt
  // CHECK:   %[[INV:[^ ]+]] = arith.divf
  // CHECK:   %[[GATE:[^ ]+]] = scf.for %[[I:[^ ]+]] =
  // CHECK-DAG:   memref.load %[[G]][%[[F]], %[[I]]]
  // CHECK-DAG:   memref.load %[[N]][%[[I]]]
  // CHECK:   %[[UP:[^ ]+]] = scf.for %[[J:[^ ]+]] =
  // CHECK-DAG:   memref.load %[[U]][%[[F]], %[[J]]]
  // CHECK-DAG:   memref.load %[[N]][%[[J]]]
  // CHECK:   math.exp
  // CHECK:   %[[S:[^ ]+]] = arith.divf %[[GATE]]
  // CHECK:   %[[P:[^ ]+]] = arith.mulf %[[S]], %[[UP]]
  // CHECK:   memref.store %[[P]], %[[H]][%[[T]], %[[F]]]
  // CHECK-NOT: memref.store
  ember.norm_swiglu %x, %n, %g, %u into %h {eps = 1.0e-5 : f32} : memref<?x8xf32>, memref<8xf32>, memref<16x8xbf16>, memref<16x8xbf16> into memref<?x16xf32>
  return
}

// -----

// Two kernels over the keys 0..R = 8: the counts, then each group's padded
// offset (the sum of the smaller keys' counts rounded up to rows_per_tile =
// 4), its assignments in ascending order with each one's row, and its
// padding with -1; the zero group (key 8) pads the rest of order.
// CHECK-LABEL: func @moe_group
// CHECK-SAME: (%[[E:[^:]+]]: memref<?x3xi32>, %[[O:[^:]+]]: memref<?xi32>, %[[ROWS:[^:]+]]: memref<?xi32>, %[[COUNTS:[^:]+]]: memref<9xi32>)
func.func @moe_group(%e: memref<?x3xi32>, %order: memref<?xi32>, %rows: memref<?xi32>, %counts: memref<9xi32>) {
  // CHECK-DAG: %[[NONE:[^ ]+]] = arith.constant -1 : i32
  // CHECK-DAG: %[[C8:[^ ]+]] = arith.constant 8 : index
  // CHECK-DAG: %[[C4:[^ ]+]] = arith.constant 4 : index
  // CHECK-DAG: %[[C9:[^ ]+]] = arith.constant 9 : index
  // CHECK: %[[N:[^ ]+]] = arith.muli
  // CHECK: %[[CAP:[^ ]+]] = memref.dim %[[O]]
  // CHECK: scf.parallel (%[[G:[^ ]+]]) = (%{{[^ ]+}}) to (%[[C9]])
  // CHECK:   %[[COUNT:[^ ]+]] = scf.for %{{[^ ]+}} = %{{[^ ]+}} to %[[N]]
  // CHECK:     arith.cmpi eq
  // CHECK:   %[[COUNT32:[^ ]+]] = arith.index_castui %[[COUNT]] : index to i32
  // CHECK:   memref.store %[[COUNT32]], %[[COUNTS]][%[[G]]]
  // CHECK: scf.parallel (%[[G:[^ ]+]]) = (%{{[^ ]+}}) to (%[[C9]])
  // CHECK:   %[[OFF:[^ ]+]] = scf.for %[[PREV:[^ ]+]] = %{{[^ ]+}} to %[[G]]
  // CHECK:     memref.load %[[COUNTS]][%[[PREV]]]
  // CHECK:     arith.ceildivui %{{[^ ]+}}, %[[C4]]
  // CHECK:   %[[END:[^ ]+]] = scf.for %[[A:[^ ]+]] = %{{[^ ]+}} to %[[N]] step %{{[^ ]+}} iter_args(%[[ROW:[^ ]+]] = %[[OFF]]) -> (index)
  // CHECK:     arith.cmpi eq
  // CHECK:     scf.if %{{[^ ]+}} -> (index) {
  // CHECK:       %[[FITS:[^ ]+]] = arith.cmpi ult, %[[ROW]], %[[CAP]]
  // CHECK:       scf.if %[[FITS]] {
  // CHECK:         %[[A32:[^ ]+]] = arith.index_castui %[[A]] : index to i32
  // CHECK:         memref.store %[[A32]], %[[O]][%[[ROW]]]
  // CHECK:       }
  // CHECK:       %[[ROW32:[^ ]+]] = arith.index_castui %[[ROW]] : index to i32
  // CHECK:       memref.store %[[ROW32]], %[[ROWS]][%[[A]]]
  // CHECK:   %[[ZERO:[^ ]+]] = arith.cmpi eq, %[[G]], %[[C8]]
  // CHECK:   %[[PADDED:[^ ]+]] = arith.addi %[[OFF]]
  // CHECK:   %[[STOP:[^ ]+]] = arith.select %[[ZERO]], %[[CAP]], %[[PADDED]]
  // CHECK:   %[[STOPC:[^ ]+]] = arith.minui %[[STOP]], %[[CAP]]
  // CHECK:   %[[FROM:[^ ]+]] = arith.minui %[[END]], %[[STOPC]]
  // CHECK:   scf.for %[[PAD:[^ ]+]] = %[[FROM]] to %[[STOPC]]
  // CHECK:     memref.store %[[NONE]], %[[O]][%[[PAD]]]
  ember.moe_group %e into %order, %rows, %counts {n_routed = 8 : i64, rows_per_tile = 4 : i64} : memref<?x3xi32> into memref<?xi32>, memref<?xi32>, memref<9xi32>
  return
}

// -----

// rows_per_tile = 1 (no padding): moe_dispatch's one kernel, each thread
// also storing its group's count (the rows it placed) and the zero group's
// thread filling the rows of order after the last group with -1.
// CHECK-LABEL: func @moe_group_untiled
// CHECK-SAME: (%[[E:[^:]+]]: memref<?x3xi32>, %[[O:[^:]+]]: memref<?xi32>, %[[ROWS:[^:]+]]: memref<?xi32>, %[[COUNTS:[^:]+]]: memref<9xi32>)
func.func @moe_group_untiled(%e: memref<?x3xi32>, %order: memref<?xi32>, %rows: memref<?xi32>, %counts: memref<9xi32>) {
  // CHECK: scf.parallel (%[[G:[^ ]+]]) =
  // CHECK:   %[[OFF:[^ ]+]] = scf.for
  // CHECK:     arith.cmpi ult
  // CHECK:   %[[END:[^ ]+]] = scf.for {{.*}} iter_args(%{{[^ ]+}} = %[[OFF]]) -> (index)
  // CHECK:   %[[COUNT:[^ ]+]] = arith.subi %[[END]], %[[OFF]]
  // CHECK:   %[[COUNT32:[^ ]+]] = arith.index_castui %[[COUNT]] : index to i32
  // CHECK:   memref.store %[[COUNT32]], %[[COUNTS]][%[[G]]]
  // CHECK:   scf.for
  // CHECK:     memref.store %{{[^ ]+}}, %[[O]]
  // CHECK:   scf.reduce
  // CHECK-NOT: scf.parallel
  ember.moe_group %e into %order, %rows, %counts {n_routed = 8 : i64} : memref<?x3xi32> into memref<?xi32>, memref<?xi32>, memref<9xi32>
  return
}

// -----

// One thread per out[t, d]: moe_combine's sum over the k = 3 choices in
// order, a zero expert (id >= 8, unsigned) taking x, a real one the dot
// product of its down row with h at the assignment's sorted row; no
// [T*k, D] buffer.
// CHECK-LABEL: func @expert_down_combine
// CHECK-SAME: (%[[X:[^:]+]]: memref<?x96xf32>, %[[H:[^:]+]]: memref<?x32xf32>, %[[D:[^:]+]]: memref<8x96x32xbf16>, %[[E:[^:]+]]: memref<?x3xi32>, %[[W:[^:]+]]: memref<?x3xf32>, %[[ROWS:[^:]+]]: memref<?xi32>, %[[OUT:[^:]+]]: memref<?x96xf32>)
func.func @expert_down_combine(%x: memref<?x96xf32>, %h: memref<?x32xf32>, %down: memref<8x96x32xbf16>, %e: memref<?x3xi32>,
                               %w: memref<?x3xf32>, %rows: memref<?xi32>, %out: memref<?x96xf32>) {
  // CHECK-DAG: %[[C3:[^ ]+]] = arith.constant 3 : index
  // CHECK-DAG: %[[C8:[^ ]+]] = arith.constant 8 : index
  // CHECK-DAG: %[[C32:[^ ]+]] = arith.constant 32 : index
  // CHECK-DAG: %[[C96:[^ ]+]] = arith.constant 96 : index
  // CHECK-NOT: memref.alloc
  // CHECK: scf.parallel (%[[T:[^ ]+]], %[[DD:[^ ]+]]) = (%{{[^ ]+}}, %{{[^ ]+}}) to (%{{[^ ]+}}, %[[C96]])
  // CHECK:   %[[XV:[^ ]+]] = memref.load %[[X]][%[[T]], %[[DD]]]
  // CHECK:   %[[BASE:[^ ]+]] = arith.muli %[[T]], %[[C3]]
  // CHECK:   %[[SUM:[^ ]+]] = scf.for %[[J:[^ ]+]] = %{{[^ ]+}} to %[[C3]] step %{{[^ ]+}} iter_args(%[[ACC:[^ ]+]] = %{{[^ ]+}}) -> (f32)
  // CHECK:     %[[E32:[^ ]+]] = memref.load %[[E]][%[[T]], %[[J]]]
  // CHECK:     %[[EX:[^ ]+]] = arith.index_castui %[[E32]] : i32 to index
  // CHECK:     %[[ZERO:[^ ]+]] = arith.cmpi uge, %[[EX]], %[[C8]] : index
  // CHECK:     %[[PICK:[^ ]+]] = scf.if %[[ZERO]] -> (f32) {
  // CHECK:       scf.yield %[[XV]] : f32
  // CHECK:     } else {
  // CHECK:       %[[A:[^ ]+]] = arith.addi %[[BASE]], %[[J]]
  // CHECK:       %[[R32:[^ ]+]] = memref.load %[[ROWS]][%[[A]]]
  // CHECK:       %[[ROW:[^ ]+]] = arith.index_castui %[[R32]] : i32 to index
  // CHECK:       %[[DOT:[^ ]+]] = scf.for %[[F:[^ ]+]] = %{{[^ ]+}} to %[[C32]]
  // CHECK-DAG:     memref.load %[[H]][%[[ROW]], %[[F]]]
  // CHECK-DAG:     memref.load %[[D]][%[[EX]], %[[DD]], %[[F]]]
  // CHECK:         arith.mulf {{.*}} fastmath<reassoc,contract>
  // CHECK:         arith.addf {{.*}} fastmath<reassoc,contract>
  // CHECK:       scf.yield %[[DOT]] : f32
  // CHECK:     %[[WT:[^ ]+]] = memref.load %[[W]][%[[T]], %[[J]]]
  // CHECK:     %[[TERM:[^ ]+]] = arith.mulf %[[WT]], %[[PICK]] : f32
  // CHECK:     %[[NEXT:[^ ]+]] = arith.addf %[[ACC]], %[[TERM]] : f32
  // CHECK:     scf.yield %[[NEXT]] : f32
  // CHECK:   %[[RES:[^ ]+]] = memref.load %[[OUT]][%[[T]], %[[DD]]]
  // CHECK:   %[[NEW:[^ ]+]] = arith.addf %[[RES]], %[[SUM]] : f32
  // CHECK:   memref.store %[[NEW]], %[[OUT]][%[[T]], %[[DD]]]
  ember.expert_down_combine %x, %h, %down, %e, %w, %rows into %out {n_routed = 8 : i64} : memref<?x96xf32>, memref<?x32xf32>, memref<8x96x32xbf16>, memref<?x3xi32>, memref<?x3xf32>, memref<?xi32> into memref<?x96xf32>
  return
}
