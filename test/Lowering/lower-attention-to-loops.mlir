// RUN: ember-opt %s --ember-lower-to-loops --canonicalize --cse --split-input-file | FileCheck %s

// One thread per (token, head); pairs unrolled with constant frequencies; the
// angle is positions[t] * inv_freq in f32, cos/sin scaled by `scale`.
// CHECK-LABEL: func @rope
// CHECK-SAME: (%[[X:.*]]: memref<?x2x4xf32>, %[[P:.*]]: memref<?xi32>, %[[Y:.*]]: memref<?x2x4xf32>)
func.func @rope(%x: memref<?x2x4xf32>, %p: memref<?xi32>, %y: memref<?x2x4xf32>) {
  // CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
  // CHECK-DAG: %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
  // CHECK-DAG: %[[SCALE:.*]] = arith.constant 1.500000e+00 : f32
  // CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
  // CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
  // CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
  // CHECK: scf.parallel (%[[T:.*]], %[[H:.*]]) = (%[[C0]], %[[C0]]) to (%{{.*}}, %[[C2]])
  // CHECK:   %[[POS32:.*]] = memref.load %[[P]][%[[T]]]
  // CHECK:   %[[POS:.*]] = arith.index_castui %[[POS32]] : i32 to index
  // CHECK:   %[[POSI:.*]] = arith.index_castui %[[POS]] : index to i64
  // CHECK:   %[[ANGLE0:.*]] = arith.uitofp %[[POSI]] : i64 to f32
  // CHECK:   %[[COS0:.*]] = math.cos %[[ANGLE0]]
  // CHECK:   %[[SIN0:.*]] = math.sin %[[ANGLE0]]
  // CHECK:   %[[C:.*]] = arith.mulf %[[COS0]], %[[SCALE]]
  // CHECK:   %[[S:.*]] = arith.mulf %[[SIN0]], %[[SCALE]]
  // CHECK:   %[[X0:.*]] = memref.load %[[X]][%[[T]], %[[H]], %[[C0]]]
  // CHECK:   %[[X1:.*]] = memref.load %[[X]][%[[T]], %[[H]], %[[C1]]]
  // CHECK:   %[[X1S:.*]] = arith.mulf %[[X1]], %[[S]]
  // CHECK:   %[[X0C:.*]] = arith.mulf %[[X0]], %[[C]]
  // CHECK:   %[[Y0:.*]] = arith.subf %[[X0C]], %[[X1S]]
  // CHECK:   %[[X0S:.*]] = arith.mulf %[[X0]], %[[S]]
  // CHECK:   %[[X1C:.*]] = arith.mulf %[[X1]], %[[C]]
  // CHECK:   %[[Y1:.*]] = arith.addf %[[X1C]], %[[X0S]]
  // CHECK:   memref.store %[[Y0]], %[[Y]][%[[T]], %[[H]], %[[C0]]]
  // CHECK:   memref.store %[[Y1]], %[[Y]][%[[T]], %[[H]], %[[C1]]]
  // CHECK:   %[[ANGLE1:.*]] = arith.mulf %[[ANGLE0]], %[[HALF]]
  // CHECK:   math.cos %[[ANGLE1]]
  // CHECK:   memref.load %[[X]][%[[T]], %[[H]], %[[C2]]]
  // CHECK:   memref.load %[[X]][%[[T]], %[[H]], %[[C3]]]
  ember.rope %x, %p into %y {inv_freq = array<f32: 1.0, 0.5>, scale = 1.5 : f32} : memref<?x2x4xf32>, memref<?xi32> into memref<?x2x4xf32>
  return
}

// -----

// kv_b [H (Dn + Dv), C] = [2 (3 + 4), 8]: head h's key rows start at 7 h.
// CHECK-LABEL: func @absorb
// CHECK-SAME: (%[[Q:.*]]: memref<?x2x3xf32>, %[[KVB:.*]]: memref<14x8xbf16>, %[[OUT:.*]]: memref<?x2x8xf32>)
func.func @absorb(%q: memref<?x2x3xf32>, %kvb: memref<14x8xbf16>, %out: memref<?x2x8xf32>) {
  // CHECK-DAG: %[[C7:.*]] = arith.constant 7 : index
  // CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
  // CHECK: scf.parallel (%[[T:.*]], %[[H:.*]], %[[C:.*]]) =
  // CHECK:   %[[BASE:.*]] = arith.muli %[[H]], %[[C7]]
  // CHECK:   %[[SUM:.*]] = scf.for %[[N:[^ ]+]] = %{{.*}} to %[[C3]]
  // CHECK:     %[[ROW:.*]] = arith.addi %[[BASE]], %[[N]]
  // CHECK:     memref.load %[[KVB]][%[[ROW]], %[[C]]]
  // CHECK:     memref.load %[[Q]][%[[T]], %[[H]], %[[N]]]
  // CHECK:   memref.store %[[SUM]], %[[OUT]][%[[T]], %[[H]], %[[C]]]
  ember.mla_absorb %q, %kvb into %out : memref<?x2x3xf32>, memref<14x8xbf16> into memref<?x2x8xf32>
  return
}

// -----

// Causal: row t sees its slot's cache rows 0 .. positions[t]; max, then
// exp-weighted latent rows summed into the output row, then the division by
// the total.
// CHECK-LABEL: func @attention
// CHECK-SAME: (%[[QL:.*]]: memref<?x2x8xf32>, %[[QR:.*]]: memref<?x2x4xf32>, %[[CACHE:.*]]: memref<3x16x12xf32>, %[[SLOTS:.*]]: memref<?xi32>, %[[P:.*]]: memref<?xi32>, %[[OUT:.*]]: memref<?x2x8xf32>)
func.func @attention(%ql: memref<?x2x8xf32>, %qr: memref<?x2x4xf32>, %cache: memref<3x16x12xf32>, %slots: memref<?xi32>, %p: memref<?xi32>, %out: memref<?x2x8xf32>) {
  // CHECK-DAG: %[[SCALE:.*]] = arith.constant 5.000000e-01 : f32
  // CHECK-DAG: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
  // CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
  // CHECK: scf.parallel (%[[T:.*]], %[[H:.*]]) =
  // CHECK:   %[[SLOT32:.*]] = memref.load %[[SLOTS]][%[[T]]]
  // CHECK:   %[[SLOT:.*]] = arith.index_castui %[[SLOT32]]
  // CHECK:   %[[POS32:.*]] = memref.load %[[P]][%[[T]]]
  // CHECK:   %[[POS:.*]] = arith.index_castui %[[POS32]]
  // CHECK:   %[[VISIBLE:.*]] = arith.addi %[[POS]], %{{.*}}
  // CHECK:   %[[MAX:.*]] = scf.for %[[S:[^ ]+]] = %{{.*}} to %[[VISIBLE]] {{.*}} iter_args(%[[M:.*]] = %[[NEGINF]])
  // CHECK:     memref.load %[[CACHE]][%[[SLOT]], %[[S]], %{{.*}}]
  // CHECK:     memref.load %[[QL]][%[[T]], %[[H]], %{{.*}}]
  // CHECK:     %[[ROPECOL:.*]] = arith.addi %{{.*}}, %[[C8]]
  // CHECK:     memref.load %[[CACHE]][%[[SLOT]], %[[S]], %[[ROPECOL]]]
  // CHECK:     memref.load %[[QR]][%[[T]], %[[H]], %{{.*}}]
  // CHECK:     %[[SCORE:.*]] = arith.mulf %{{.*}}, %[[SCALE]]
  // CHECK:     arith.maximumf %[[M]], %[[SCORE]]
  // CHECK:   scf.for
  // CHECK:     memref.store %{{.*}}, %[[OUT]][%[[T]], %[[H]], %{{.*}}]
  // CHECK:   %[[TOTAL:.*]] = scf.for %{{.*}} = %{{.*}} to %[[VISIBLE]]
  // CHECK:     %[[SHIFTED:.*]] = arith.subf %{{.*}}, %[[MAX]]
  // CHECK:     %[[WEIGHT:.*]] = math.exp %[[SHIFTED]]
  // CHECK:     scf.for
  // CHECK:       arith.mulf %[[WEIGHT]], %{{.*}}
  // CHECK:       memref.store %{{.*}}, %[[OUT]]
  // CHECK:   scf.for
  // CHECK:     arith.divf %{{.*}}, %[[TOTAL]]
  ember.mla_attention %ql, %qr, %cache[%slots, %p] into %out {scale = 0.5 : f32} : memref<?x2x8xf32>, memref<?x2x4xf32>, memref<?xi32>, memref<3x16x12xf32> into memref<?x2x8xf32>
  return
}

// -----

// The value rows of head h are the last Dv = 4 rows of its block of 7:
// 7 (h + 1) - 4 + v.
// CHECK-LABEL: func @up_v
// CHECK-SAME: (%[[OL:.*]]: memref<?x2x8xf32>, %[[KVB:.*]]: memref<14x8xbf16>, %[[OUT:.*]]: memref<?x2x4xf32>)
func.func @up_v(%ol: memref<?x2x8xf32>, %kvb: memref<14x8xbf16>, %out: memref<?x2x4xf32>) {
  // CHECK-DAG: %[[C7:.*]] = arith.constant 7 : index
  // CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
  // CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
  // CHECK: scf.parallel (%[[T:.*]], %[[H:.*]], %[[V:.*]]) =
  // CHECK:   %[[NEXT:.*]] = arith.addi %[[H]], %[[C1]]
  // CHECK:   %[[END:.*]] = arith.muli %[[NEXT]], %[[C7]]
  // CHECK:   %[[FIRST:.*]] = arith.subi %[[END]], %[[C4]]
  // CHECK:   %[[ROW:.*]] = arith.addi %[[FIRST]], %[[V]]
  // CHECK:   %[[SUM:.*]] = scf.for %[[C:[^ ]+]] =
  // CHECK:     memref.load %[[KVB]][%[[ROW]], %[[C]]]
  // CHECK:     memref.load %[[OL]][%[[T]], %[[H]], %[[C]]]
  // CHECK:   memref.store %[[SUM]], %[[OUT]][%[[T]], %[[H]], %[[V]]]
  ember.mla_up_v %ol, %kvb into %out : memref<?x2x8xf32>, memref<14x8xbf16> into memref<?x2x4xf32>
  return
}
