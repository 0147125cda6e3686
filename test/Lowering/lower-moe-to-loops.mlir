// RUN: ember-opt %s --ember-lower-to-loops --canonicalize --cse --split-input-file | FileCheck %s

// R+Z = 12 experts, k = 3. One iteration per token: the softmax max and sum
// are sequential loops, then k rounds of an argmax restricted to the experts
// strictly after the previous choice (no scratch memory).
// CHECK-LABEL: func @router_topk
// CHECK-SAME: (%[[L:.*]]: memref<?x12xf32>, %[[B:.*]]: memref<12xf32>, %[[E:.*]]: memref<?x3xi32>, %[[W:.*]]: memref<?x3xf32>)
func.func @router_topk(%logits: memref<?x12xf32>, %bias: memref<12xf32>, %experts: memref<?x3xi32>, %weights: memref<?x3xf32>) {
  // CHECK-DAG: %[[SCALE:.*]] = arith.constant 6.000000e+00 : f32
  // CHECK-DAG: %[[NOIDX:.*]] = arith.constant -1 : index
  // CHECK-DAG: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
  // CHECK-DAG: %[[POSINF:.*]] = arith.constant 0x7F800000 : f32
  // CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
  // CHECK-DAG: %[[C12:.*]] = arith.constant 12 : index
  // CHECK: %[[T:.*]] = memref.dim %[[L]]
  // CHECK: scf.parallel (%[[I:.*]]) = (%{{.*}}) to (%[[T]])
  // CHECK:   %[[MAX:.*]] = scf.for %[[E0:[^ ]*]] = %{{.*}} to %[[C12]] {{.*}} iter_args(%[[M:.*]] = %[[NEGINF]])
  // CHECK:     %[[LE:.*]] = memref.load %[[L]][%[[I]], %[[E0]]]
  // CHECK:     arith.maximumf %[[M]], %[[LE]] : f32
  // CHECK:   %[[SUM:.*]] = scf.for %[[E1:[^ ]*]] = %{{.*}} to %[[C12]]
  // CHECK:     %[[SH:.*]] = arith.subf %{{.*}}, %[[MAX]] : f32
  // CHECK:     math.exp %[[SH]] : f32
  // CHECK:     arith.addf
  // CHECK:   scf.for %[[J:[^ ]*]] = %{{.*}} to %[[C3]] {{.*}} iter_args(%[[PS:.*]] = %[[POSINF]], %[[PI:.*]] = %[[NOIDX]]) -> (f32, index)
  // CHECK:     %[[BEST:.*]]:3 = scf.for %[[EI:[^ ]*]] = %{{.*}} to %[[C12]] {{.*}} iter_args(%[[BS:.*]] = %[[NEGINF]], %[[BI:.*]] = %[[NOIDX]], %[[BP:.*]] = %{{.*}}) -> (f32, index, f32)
  // CHECK:       %[[X:.*]] = math.exp
  // CHECK:       %[[P:.*]] = arith.divf %[[X]], %[[SUM]] : f32
  // CHECK:       %[[BIAS:.*]] = memref.load %[[B]][%[[EI]]]
  // CHECK:       %[[S:.*]] = arith.addf %[[P]], %[[BIAS]] : f32
  // CHECK-DAG:   %[[LOWER:.*]] = arith.cmpf olt, %[[S]], %[[PS]] : f32
  // CHECK-DAG:   %[[AFTER:.*]] = arith.cmpi sgt, %[[EI]], %[[PI]] : index
  // CHECK-DAG:   %[[SAME:.*]] = arith.cmpf oeq, %[[S]], %[[PS]] : f32
  // CHECK-DAG:   %[[FIRST:.*]] = arith.cmpi slt, %[[BI]], %{{.*}} : index
  // CHECK-DAG:   %[[GREATER:.*]] = arith.cmpf ogt, %[[S]], %[[BS]] : f32
  // CHECK:       %[[TAKE:.*]] = arith.andi
  // CHECK-DAG:   %[[NS:.*]] = arith.select %[[TAKE]], %[[S]], %[[BS]] : f32
  // CHECK-DAG:   %[[NI:.*]] = arith.select %[[TAKE]], %[[EI]], %[[BI]] : index
  // CHECK-DAG:   %[[NP:.*]] = arith.select %[[TAKE]], %[[P]], %[[BP]] : f32
  // CHECK:       scf.yield %[[NS]], %[[NI]], %[[NP]]
  // CHECK:     %[[ID:.*]] = arith.index_cast %[[BEST]]#1 : index to i32
  // CHECK:     memref.store %[[ID]], %[[E]][%[[I]], %[[J]]]
  // CHECK:     %[[WT:.*]] = arith.mulf %[[BEST]]#2, %[[SCALE]] : f32
  // CHECK:     memref.store %[[WT]], %[[W]][%[[I]], %[[J]]]
  // CHECK:     scf.yield %[[BEST]]#0, %[[BEST]]#1
  // CHECK-NOT: ember.
  ember.router_topk %logits, %bias into %experts, %weights {n_routed = 8 : i64, scaling = 6.0 : f32} : memref<?x12xf32>, memref<12xf32> into memref<?x3xi32>, memref<?x3xf32>
  return
}

// -----

// A counting sort with one thread per key g in 0..R (R = 8: the zero
// experts share key R, so they come last): the assignments with a smaller
// key min(expert, R) give g's offset, then g's own are written in
// ascending order: a stable sort.
// CHECK-LABEL: func @moe_dispatch
// CHECK-SAME: (%[[E:[^:]+]]: memref<?x3xi32>, %[[O:[^:]+]]: memref<?xi32>)
func.func @moe_dispatch(%experts: memref<?x3xi32>, %order: memref<?xi32>) {
  // CHECK-DAG: %[[R:[^ ]+]] = arith.constant 8 : i32
  // CHECK-DAG: %[[C1:[^ ]+]] = arith.constant 1 : index
  // CHECK-DAG: %[[C3:[^ ]+]] = arith.constant 3 : index
  // CHECK-DAG: %[[C9:[^ ]+]] = arith.constant 9 : index
  // T*k from experts.
  // CHECK: %[[T:[^ ]+]] = memref.dim %[[E]]
  // CHECK: %[[N:[^ ]+]] = arith.muli %[[T]], %[[C3]]
  // CHECK: scf.parallel (%[[G:[^ ]+]]) = (%{{.*}}) to (%[[C9]])
  // CHECK:   %[[G32:[^ ]+]] = arith.index_castui %[[G]] : index to i32
  // CHECK:   %[[OFF:[^ ]+]] = scf.for %[[A:[^ ]+]] = %{{.*}} to %[[N]] {{.*}} -> (index)
  // CHECK:     %[[TA:[^ ]+]] = arith.divui %[[A]], %[[C3]] : index
  // CHECK:     %[[JA:[^ ]+]] = arith.remui %[[A]], %[[C3]] : index
  // CHECK:     %[[EA:[^ ]+]] = memref.load %[[E]][%[[TA]], %[[JA]]]
  // CHECK:     %[[KA:[^ ]+]] = arith.minui %[[EA]], %[[R]] : i32
  // CHECK:     arith.cmpi ult, %[[KA]], %[[G32]] : i32
  // CHECK:     arith.select
  // CHECK:     arith.addi
  // CHECK:   scf.for %[[B:[^ ]+]] = %{{[^ ]+}} to %[[N]] step %{{[^ ]+}} iter_args(%[[ROW:[^ ]+]] = %[[OFF]]) -> (index)
  // CHECK:     %[[TB:[^ ]+]] = arith.divui %[[B]], %[[C3]] : index
  // CHECK:     %[[JB:[^ ]+]] = arith.remui %[[B]], %[[C3]] : index
  // CHECK:     %[[EB:[^ ]+]] = memref.load %[[E]][%[[TB]], %[[JB]]]
  // CHECK:     %[[KB:[^ ]+]] = arith.minui %[[EB]], %[[R]] : i32
  // CHECK:     %[[MINE:[^ ]+]] = arith.cmpi eq, %[[KB]], %[[G32]] : i32
  // CHECK:     %[[NEXT:[^ ]+]] = scf.if %[[MINE]] -> (index) {
  // CHECK:       %[[ID:[^ ]+]] = arith.index_castui %[[B]] : index to i32
  // CHECK:       memref.store %[[ID]], %[[O]][%[[ROW]]]
  // CHECK:       %[[INC:[^ ]+]] = arith.addi %[[ROW]], %[[C1]] : index
  // CHECK:       scf.yield %[[INC]] : index
  // CHECK:     } else {
  // CHECK:       scf.yield %[[ROW]] : index
  // CHECK:     scf.yield %[[NEXT]] : index
  ember.moe_dispatch %experts into %order {n_routed = 8 : i64} : memref<?x3xi32> into memref<?xi32>
  return
}

// -----

// One iteration per (sorted row, F unit); only real experts (id < R = gate
// dim 0, compared unsigned) compute, zero-expert rows stay untouched.
// CHECK-LABEL: func @expert_gate_up
// CHECK-SAME: (%[[X:.*]]: memref<?x96xf32>, %[[G:.*]]: memref<8x32x96xbf16>, %[[U:.*]]: memref<8x32x96xf16>, %[[E:.*]]: memref<?x3xi32>, %[[O:.*]]: memref<?xi32>, %[[H:.*]]: memref<?x32xf32>)
func.func @expert_gate_up(%x: memref<?x96xf32>, %gate: memref<8x32x96xbf16>, %up: memref<8x32x96xf16>, %experts: memref<?x3xi32>, %order: memref<?xi32>, %h: memref<?x32xf32>) {
  // CHECK-DAG: %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
  // CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
  // CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
  // CHECK-DAG: %[[C96:.*]] = arith.constant 96 : index
  // CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
  // CHECK: %[[ROWS:.*]] = memref.dim %[[H]]
  // CHECK: %[[TOKENS:.*]] = memref.dim %[[E]]
  // CHECK: %[[TK:.*]] = arith.muli %[[TOKENS]], %[[C3]]
  // CHECK: scf.parallel (%[[P:.*]], %[[F:.*]]) = (%{{.*}}, %{{.*}}) to (%[[ROWS]], %[[C32]])
  // CHECK:   %[[A32:.*]] = memref.load %[[O]][%[[P]]]
  // CHECK:   %[[A:.*]] = arith.index_castui %[[A32]] : i32 to index
  // A row of order that holds no assignment (moe_group's -1 padding) is skipped.
  // CHECK:   %[[ASSIGNED:.*]] = arith.cmpi ult, %[[A]], %[[TK]] : index
  // CHECK:   scf.if %[[ASSIGNED]] {
  // CHECK:   %[[T:.*]] = arith.divui %[[A]], %[[C3]]
  // CHECK:   %[[J:.*]] = arith.remui %[[A]], %[[C3]]
  // CHECK:   %[[E32:.*]] = memref.load %[[E]][%[[T]], %[[J]]]
  // CHECK:   %[[EX:.*]] = arith.index_castui %[[E32]] : i32 to index
  // CHECK:   %[[REAL:.*]] = arith.cmpi ult, %[[EX]], %[[C8]] : index
  // CHECK:   scf.if %[[REAL]] {
  // One pass over D computes both projections.
  // CHECK:     %[[GU:.*]]:2 = scf.for %[[D:[^ ]*]] = %{{.*}} to %[[C96]] {{.*}} -> (f32, f32)
  // CHECK:       %[[GW:.*]] = memref.load %[[G]][%[[EX]], %[[F]], %[[D]]]
  // CHECK:       %[[GF:.*]] = arith.extf %[[GW]] : bf16 to f32
  // CHECK:       %[[UW:.*]] = memref.load %[[U]][%[[EX]], %[[F]], %[[D]]]
  // CHECK:       %[[UF:.*]] = arith.extf %[[UW]] : f16 to f32
  // CHECK:       %[[XV:.*]] = memref.load %[[X]][%[[T]], %[[D]]]
  // CHECK:       arith.mulf %[[GF]], %[[XV]] fastmath<reassoc,contract>
  // CHECK:       arith.addf {{.*}} fastmath<reassoc,contract>
  // CHECK:       arith.mulf %[[UF]], %[[XV]] fastmath<reassoc,contract>
  // CHECK:       arith.addf {{.*}} fastmath<reassoc,contract>
  // silu(g) * u = g / (1 + exp(-g)) * u
  // CHECK:     %[[NEG:.*]] = arith.negf %[[GU]]#0 : f32
  // CHECK:     %[[EXP:.*]] = math.exp %[[NEG]] : f32
  // CHECK:     %[[DEN:.*]] = arith.addf %[[EXP]], %[[ONE]] : f32
  // CHECK:     %[[SILU:.*]] = arith.divf %[[GU]]#0, %[[DEN]] : f32
  // CHECK:     %[[V:.*]] = arith.mulf %[[SILU]], %[[GU]]#1 : f32
  // CHECK:     memref.store %[[V]], %[[H]][%[[P]], %[[F]]]
  // CHECK:   }
  // CHECK:   scf.reduce
  ember.expert_gate_up %x, %gate, %up, %experts, %order into %h : memref<?x96xf32>, memref<8x32x96xbf16>, memref<8x32x96xf16>, memref<?x3xi32>, memref<?xi32> into memref<?x32xf32>
  return
}

// -----

// rows_per_tile = 2: one thread per (tile, hidden unit). The tile's expert
// is its first row's; each computed row (the second one when it is an
// assignment of the same expert) runs its own pass over D, the same loop
// whatever shares its tile, so a row's result does not depend on the rows
// batched with it.
// CHECK-LABEL: func @expert_gate_up_tiled
// CHECK-SAME: (%[[X:.*]]: memref<?x96xf32>, %[[G:.*]]: memref<8x32x96xbf16>, %[[U:.*]]: memref<8x32x96xbf16>, %[[E:.*]]: memref<?x3xi32>, %[[O:.*]]: memref<?xi32>, %[[H:.*]]: memref<?x32xf32>)
func.func @expert_gate_up_tiled(%x: memref<?x96xf32>, %gate: memref<8x32x96xbf16>, %up: memref<8x32x96xbf16>, %experts: memref<?x3xi32>, %order: memref<?xi32>, %h: memref<?x32xf32>) {
  // CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
  // CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
  // CHECK: %[[ROWS:.*]] = memref.dim %[[H]]
  // CHECK: %[[TILES:.*]] = arith.ceildivui %[[ROWS]], %[[C2]]
  // CHECK: scf.parallel (%[[I:.*]], %[[F:.*]]) = (%{{.*}}, %{{.*}}) to (%[[TILES]], %{{.*}})
  // CHECK:   %[[BASE:.*]] = arith.muli %[[I]], %[[C2]]
  // CHECK:   memref.load %[[O]][%[[BASE]]]
  // CHECK:   scf.if
  // CHECK:   %[[T0:.*]] = arith.divui
  // CHECK:   %[[E0:.*]] = arith.index_castui
  // CHECK:   scf.if
  // The second row: clamped into order, compared with the first row's expert.
  // CHECK:     %[[P1:.*]] = arith.addi %[[BASE]], %[[C1]]
  // CHECK:     %[[IN:.*]] = arith.cmpi ult, %[[P1]], %[[ROWS]]
  // CHECK:     %[[CLAMPED:.*]] = arith.select %[[IN]], %[[P1]], %[[BASE]]
  // CHECK:     memref.load %[[O]][%[[CLAMPED]]]
  // CHECK:     %[[SAME:.*]] = arith.cmpi eq, %{{.*}}, %[[E0]]
  // CHECK:     %[[SECOND:.*]] = arith.andi %{{.*}}, %[[SAME]]
  // CHECK:     %[[T1:.*]] = arith.select %[[SECOND]], %{{.*}}, %[[T0]]
  // CHECK:     scf.for %[[D:[^ ]*]] = {{.*}} -> (f32, f32)
  // CHECK:       memref.load %[[G]][%[[E0]], %[[F]], %[[D]]]
  // CHECK:       memref.load %[[U]][%[[E0]], %[[F]], %[[D]]]
  // CHECK:       memref.load %[[X]][%[[T0]], %[[D]]]
  // CHECK:     memref.store %{{.*}}, %[[H]][%[[BASE]], %[[F]]]
  // CHECK:     scf.if %[[SECOND]] {
  // CHECK:       scf.for %[[D1:[^ ]*]] = {{.*}} -> (f32, f32)
  // CHECK:         memref.load %[[G]][%[[E0]], %[[F]], %[[D1]]]
  // CHECK:         memref.load %[[U]][%[[E0]], %[[F]], %[[D1]]]
  // CHECK:         memref.load %[[X]][%[[T1]], %[[D1]]]
  // CHECK:       memref.store %{{.*}}, %[[H]][%[[P1]], %[[F]]]
  ember.expert_gate_up %x, %gate, %up, %experts, %order into %h {rows_per_tile = 2 : i64} : memref<?x96xf32>, memref<8x32x96xbf16>, memref<8x32x96xbf16>, memref<?x3xi32>, memref<?xi32> into memref<?x32xf32>
  return
}

// -----

// Dynamic k and R come from memref.dim; y is written at the assignment a.
// CHECK-LABEL: func @expert_down
// CHECK-SAME: (%[[H:.*]]: memref<?x32xf32>, %[[DW:.*]]: memref<?x96x32xbf16>, %[[E:.*]]: memref<?x?xi32>, %[[O:.*]]: memref<?xi32>, %[[Y:.*]]: memref<?x96xf32>)
func.func @expert_down(%h: memref<?x32xf32>, %down: memref<?x96x32xbf16>, %experts: memref<?x?xi32>, %order: memref<?xi32>, %y: memref<?x96xf32>) {
  // CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
  // CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
  // CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
  // CHECK-DAG: %[[C96:.*]] = arith.constant 96 : index
  // CHECK-DAG: %[[ROWS:.*]] = memref.dim %[[H]], %[[C0]]
  // CHECK-DAG: %[[K:.*]] = memref.dim %[[E]], %[[C1]]
  // CHECK-DAG: %[[R:.*]] = memref.dim %[[DW]], %[[C0]]
  // CHECK: scf.parallel (%[[P:.*]], %[[D:.*]]) = (%{{.*}}, %{{.*}}) to (%[[ROWS]], %[[C96]])
  // CHECK:   %[[A32:.*]] = memref.load %[[O]][%[[P]]]
  // CHECK:   %[[A:.*]] = arith.index_castui %[[A32]] : i32 to index
  // CHECK:   %[[T:.*]] = arith.divui %[[A]], %[[K]]
  // CHECK:   %[[J:.*]] = arith.remui %[[A]], %[[K]]
  // CHECK:   %[[E32:.*]] = memref.load %[[E]][%[[T]], %[[J]]]
  // CHECK:   %[[EX:.*]] = arith.index_castui %[[E32]] : i32 to index
  // CHECK:   %[[REAL:.*]] = arith.cmpi ult, %[[EX]], %[[R]] : index
  // CHECK:   scf.if %[[REAL]] {
  // CHECK:     %[[V:.*]] = scf.for %[[F:[^ ]*]] = %{{.*}} to %[[C32]]
  // CHECK:       memref.load %[[H]][%[[P]], %[[F]]]
  // CHECK:       memref.load %[[DW]][%[[EX]], %[[D]], %[[F]]]
  // CHECK:     memref.store %[[V]], %[[Y]][%[[A]], %[[D]]]
  ember.expert_down %h, %down, %experts, %order into %y : memref<?x32xf32>, memref<?x96x32xbf16>, memref<?x?xi32>, memref<?xi32> into memref<?x96xf32>
  return
}

// -----

// Zero experts (id >= R = 8, compared unsigned) read x; real ones read
// y[t*k + j]. The k terms are summed in order, then added to out once.
// CHECK-LABEL: func @moe_combine
// CHECK-SAME: (%[[X:.*]]: memref<?x96xf32>, %[[Y:.*]]: memref<?x96xf32>, %[[E:.*]]: memref<?x3xi32>, %[[W:.*]]: memref<?x3xf32>, %[[OUT:.*]]: memref<?x96xf32>)
func.func @moe_combine(%x: memref<?x96xf32>, %y: memref<?x96xf32>, %experts: memref<?x3xi32>, %weights: memref<?x3xf32>, %out: memref<?x96xf32>) {
  // CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
  // CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
  // CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
  // CHECK-DAG: %[[C96:.*]] = arith.constant 96 : index
  // CHECK: %[[T:.*]] = memref.dim %[[OUT]]
  // CHECK: scf.parallel (%[[I:.*]], %[[D:.*]]) = (%{{.*}}, %{{.*}}) to (%[[T]], %[[C96]])
  // CHECK:   %[[XV:.*]] = memref.load %[[X]][%[[I]], %[[D]]]
  // CHECK:   %[[BASE:.*]] = arith.muli %[[I]], %[[C3]] : index
  // CHECK:   %[[SUM:.*]] = scf.for %[[J:[^ ]*]] = %{{.*}} to %[[C3]] {{.*}} iter_args(%[[ACC:.*]] = %[[ZERO]])
  // CHECK:     %[[E32:.*]] = memref.load %[[E]][%[[I]], %[[J]]]
  // CHECK:     %[[EX:.*]] = arith.index_castui %[[E32]] : i32 to index
  // CHECK:     %[[ISZERO:.*]] = arith.cmpi uge, %[[EX]], %[[C8]] : index
  // CHECK:     %[[V:.*]] = scf.if %[[ISZERO]] -> (f32) {
  // CHECK:       scf.yield %[[XV]] : f32
  // CHECK:     } else {
  // CHECK:       %[[ROW:.*]] = arith.addi %[[BASE]], %[[J]] : index
  // CHECK:       %[[YV:.*]] = memref.load %[[Y]][%[[ROW]], %[[D]]]
  // CHECK:       scf.yield %[[YV]] : f32
  // CHECK:     %[[WV:.*]] = memref.load %[[W]][%[[I]], %[[J]]]
  // CHECK:     %[[TERM:.*]] = arith.mulf %[[WV]], %[[V]] : f32
  // CHECK:     %[[NEXT:.*]] = arith.addf %[[ACC]], %[[TERM]] : f32
  // CHECK:     scf.yield %[[NEXT]] : f32
  // CHECK:   %[[RES:.*]] = memref.load %[[OUT]][%[[I]], %[[D]]]
  // CHECK:   %[[NEW:.*]] = arith.addf %[[RES]], %[[SUM]] : f32
  // CHECK:   memref.store %[[NEW]], %[[OUT]][%[[I]], %[[D]]]
  ember.moe_combine %x, %y, %experts, %weights into %out {n_routed = 8 : i64} : memref<?x96xf32>, memref<?x96xf32>, memref<?x3xi32>, memref<?x3xf32> into memref<?x96xf32>
  return
}
