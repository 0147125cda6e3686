// RUN: ember-opt %s --ember-insert-finite-checks | FileCheck %s

// Every f32 output of every kernel op is checked after it, labelled as the
// kernel is named (op and index in its function); calls of functions with a
// body are bracketed by scope hooks, named by their ember.scope when given.

// CHECK-LABEL: func.func private @ember_check_finite
// CHECK-SAME: (memref<*xf32>, memref<?xi8>) attributes {ember.reads_device_memory, llvm.emit_c_interface}
// CHECK: func.func private @ember_enter_scope(memref<?xi8>) attributes {ember.reads_device_memory, llvm.emit_c_interface}
// CHECK: func.func private @ember_leave_scope(){{$}}

// CHECK-LABEL: func.func @layer
// CHECK: ember.rms_norm %{{.*}} into %[[NORMED:[a-z0-9_]+]]
// CHECK-NEXT: %[[DATA:.*]] = memref.cast %[[NORMED]] : memref<?x8xf32> to memref<*xf32>
// CHECK-NEXT: %[[TEXT:.*]] = memref.get_global @[[NORM_LABEL:__ember_finite_label_[0-9]+]] : memref<27xi8>
// CHECK-NEXT: %[[LABEL:.*]] = memref.cast %[[TEXT]] : memref<27xi8> to memref<?xi8>
// CHECK-NEXT: call @ember_check_finite(%[[DATA]], %[[LABEL]])
// The accumulating linear's output is read and written: checked too.
// CHECK: ember.linear
// CHECK-NEXT: memref.cast %arg2 : memref<?x8xf32> to memref<*xf32>
// CHECK-NEXT: memref.get_global @{{.*}} : memref<25xi8>
// CHECK-NEXT: memref.cast
// CHECK-NEXT: call @ember_check_finite
// A partial writer (rows of routed assignments only) is left to its consumer.
// CHECK: ember.expert_down
// CHECK-NEXT: memref.dealloc
// CHECK-NEXT: return
func.func @layer(%x: memref<?x8xf32>, %g: memref<8xbf16>, %y: memref<?x8xf32>, %w: memref<8x8xbf16>,
                 %h: memref<?x4xf32>, %down: memref<2x8x4xbf16>, %experts: memref<?x1xi32>,
                 %order: memref<?xi32>, %out: memref<?x8xf32>) {
  %c0 = arith.constant 0 : index
  %t = memref.dim %x, %c0 : memref<?x8xf32>
  %normed = memref.alloc(%t) : memref<?x8xf32>
  ember.rms_norm %x, %g into %normed {eps = 1.0e-5 : f32}
      : memref<?x8xf32>, memref<8xbf16> into memref<?x8xf32>
  ember.linear %normed, %w into %y {accumulate}
      : memref<?x8xf32>, memref<8x8xbf16> into memref<?x8xf32>
  ember.expert_down %h, %down, %experts, %order into %out
      : memref<?x4xf32>, memref<2x8x4xbf16>, memref<?x1xi32>, memref<?xi32> into memref<?x8xf32>
  memref.dealloc %normed : memref<?x8xf32>
  return
}

// CHECK-LABEL: func.func @forward
// CHECK: %[[LAYER_TEXT:.*]] = memref.get_global @{{.*}} : memref<14xi8>
// CHECK: call @ember_enter_scope(
// CHECK-NEXT: call @layer(
// CHECK-NEXT: call @ember_leave_scope()
// CHECK: memref.get_global @{{.*}} : memref<6xi8>
// CHECK: call @ember_enter_scope(
// CHECK-NEXT: call @layer(
// CHECK-NEXT: call @ember_leave_scope()
func.func @forward(%x: memref<?x8xf32>, %g: memref<8xbf16>, %y: memref<?x8xf32>, %w: memref<8x8xbf16>,
                   %h: memref<?x4xf32>, %down: memref<2x8x4xbf16>, %experts: memref<?x1xi32>,
                   %order: memref<?xi32>, %out: memref<?x8xf32>) {
  call @layer(%x, %g, %y, %w, %h, %down, %experts, %order, %out) {ember.scope = "model.layers.0"}
      : (memref<?x8xf32>, memref<8xbf16>, memref<?x8xf32>, memref<8x8xbf16>, memref<?x4xf32>,
         memref<2x8x4xbf16>, memref<?x1xi32>, memref<?xi32>, memref<?x8xf32>) -> ()
  call @layer(%x, %g, %y, %w, %h, %down, %experts, %order, %out)
      : (memref<?x8xf32>, memref<8xbf16>, memref<?x8xf32>, memref<8x8xbf16>, memref<?x4xf32>,
         memref<2x8x4xbf16>, memref<?x1xi32>, memref<?xi32>, memref<?x8xf32>) -> ()
  return
}

// The labels' bytes: "ember.rms_norm #0 of @layer" (27), "ember.linear #1 of
// @layer" (25), "model.layers.0" (14), "@layer" (6).
// CHECK-DAG: memref.global "private" constant @[[NORM_LABEL]] : memref<27xi8> = dense<[101, 109, 98, 101, 114, 46, 114, 109, 115, 95, 110, 111, 114, 109, 32, 35, 48, 32, 111, 102, 32, 64, 108, 97, 121, 101, 114]>
