// RUN: ember-opt %s --split-input-file --ember-map-to-gpu=block-size=128 --canonicalize | FileCheck %s

// The GPU mapping stage: the innermost (contiguous) dimension on thread x,
// the first dynamic one (the tokens) on grid x, the rest on grid y, z inner
// first; the kernel is named after the op in the loop's location and its
// gpu.module records the decision.
// CHECK-LABEL: func @rows
// CHECK-SAME: (%{{.*}}: memref<?x96xf32>, %[[N:.*]]: index)
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C128:.*]] = arith.constant 128 : index
// CHECK: gpu.launch blocks(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[N]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) threads(%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}} = %[[C128]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) module(@rows__linear_4) function(@rows__linear_4)
// CHECK: memref.store
// CHECK: gpu.module @rows__linear_4 attributes {ember.gpu_kernel = #ember.gpu_kernel<op = "linear", index = 4, strategy = "thread_per_element", block = [128, 1, 1], grid_dims = [0, 1, -1], thread_dims = [1, -1, -1]>}
func.func @rows(%out: memref<?x96xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c96 = arith.constant 96 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%t, %d) = (%c0, %c0) to (%n, %c96) step (%c1, %c1) {
    memref.store %zero, %out[%t, %d] : memref<?x96xf32>
  } loc("linear#4"("x.mlir":1:1))
  return
}

// -----

// A narrow innermost dimension leaves room for the next static one on
// thread y: blocks of 16 x 4; the token dimension on grid x, the innermost
// tiles on y, the heads on z. A second nest of the same op gets a suffix,
// a nest without an ember op in its location is a "loop".
// CHECK-LABEL: func @heads
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : index
// CHECK: gpu.launch {{.*}} threads({{.*}}) in (%{{.*}} = %[[C16]], %{{.*}} = %[[C4]], %{{.*}} = %[[C1]]) module(@heads__mla_up_v_2) function(@heads__mla_up_v_2)
// CHECK: gpu.launch {{.*}} module(@heads__mla_up_v_2_1) function(@heads__mla_up_v_2_1)
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %[[C1]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) threads({{.*}}) in (%{{.*}} = %[[C16]], %{{.*}} = %[[C1]], %{{.*}} = %[[C1]]) module(@heads__loop_0) function(@heads__loop_0)
// CHECK: gpu.module @heads__mla_up_v_2 attributes {ember.gpu_kernel = #ember.gpu_kernel<op = "mla_up_v", index = 2, strategy = "thread_per_element", block = [16, 4, 1], grid_dims = [0, 2, 1], thread_dims = [2, 1, -1]>}
// CHECK: gpu.module @heads__mla_up_v_2_1
// CHECK: gpu.module @heads__loop_0 attributes {ember.gpu_kernel = #ember.gpu_kernel<op = "loop", index = 0, strategy = "thread_per_element", block = [16, 1, 1], grid_dims = [0, -1, -1], thread_dims = [0, -1, -1]>}
func.func @heads(%out: memref<?x4x16xf32>, %counts: memref<9xi32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c9 = arith.constant 9 : index
  %c16 = arith.constant 16 : index
  %zero = arith.constant 0.0 : f32
  %z = arith.constant 0 : i32
  scf.parallel (%t, %h, %d) = (%c0, %c0, %c0) to (%n, %c4, %c16) step (%c1, %c1, %c1) {
    memref.store %zero, %out[%t, %h, %d] : memref<?x4x16xf32>
  } loc("mla_up_v#2"("x.mlir":2:1))
  scf.parallel (%t, %h, %d) = (%c0, %c0, %c0) to (%n, %c4, %c16) step (%c1, %c1, %c1) {
    memref.store %zero, %out[%t, %h, %d] : memref<?x4x16xf32>
  } loc("mla_up_v#2"("x.mlir":3:1))
  scf.parallel (%e) = (%c0) to (%c9) step (%c1) {
    memref.store %z, %counts[%e] : memref<9xi32>
  }
  return
}

// -----

// RUN: not ember-opt %s --ember-map-to-gpu=block-size=96 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: ember-map-to-gpu: block-size must be a power of two in [1, 1024], got 96
func.func @none() {
  return
}
