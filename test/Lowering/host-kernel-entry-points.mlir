// RUN: ember-opt %s --split-input-file --verify-diagnostics --ember-host-kernel-entry-points | FileCheck %s

// The host copy of kernel @k is exported as cuLaunchKernel would call it:
// each argument loaded through params[i], the twelve ids from ids[0..11];
// the parameter buffer holds two pointers, an i64, an f32 and an i32:
// 8 + 8 + 8 + 4 + 4 = 32 bytes.
// CHECK: llvm.func internal @__ember_host_body_k(
// CHECK: llvm.func @__ember_host_k(%[[PARAMS:.*]]: !llvm.ptr, %[[IDS:.*]]: !llvm.ptr)
// CHECK: %[[SLOT0:.*]] = llvm.getelementptr %[[PARAMS]][0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[ADDRESS0:.*]] = llvm.load %[[SLOT0]] : !llvm.ptr -> !llvm.ptr
// CHECK: llvm.load %[[ADDRESS0]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[SLOT3:.*]] = llvm.getelementptr %[[PARAMS]][3] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[ADDRESS3:.*]] = llvm.load %[[SLOT3]] : !llvm.ptr -> !llvm.ptr
// CHECK: llvm.load %[[ADDRESS3]] : !llvm.ptr -> f32
// CHECK: %[[ID11:.*]] = llvm.getelementptr %[[IDS]][11] : (!llvm.ptr) -> !llvm.ptr, i64
// CHECK: llvm.load %[[ID11]] : !llvm.ptr -> i64
// CHECK: llvm.call @__ember_host_body_k(
// CHECK: llvm.mlir.global external constant @__ember_host_k_param_bytes(32 : i64)
// CHECK: llvm.mlir.global external constant @__ember_host_k_param_count(5 : i64)
// CHECK: llvm.mlir.global external constant @__ember_host_k_param_sizes(dense<[8, 8, 8, 4, 4]> : tensor<5xi64>) {{.*}} : !llvm.array<5 x i64>
llvm.func @__ember_host_body_k(%a: !llvm.ptr, %b: !llvm.ptr, %c: i64, %d: f32, %e: i32,
    %bx: i64, %by: i64, %bz: i64, %tx: i64, %ty: i64, %tz: i64,
    %gx: i64, %gy: i64, %gz: i64, %dx: i64, %dy: i64, %dz: i64) {
  llvm.return
}

// -----

// expected-error @below {{ember-host-kernel-entry-points: @__ember_host_body_short lacks the thread ids}}
llvm.func @__ember_host_body_short(%a: !llvm.ptr) {
  llvm.return
}

// -----

// A cooperative copy is flagged by an exported `_cooperative` constant, and
// the hooks get bodies calling through exported pointers the device
// stand-in sets (null until then).
// CHECK: llvm.mlir.global external @__ember_host_barrier_hook() {{.*}} : !llvm.ptr
// CHECK: llvm.mlir.zero : !llvm.ptr
// CHECK: llvm.func internal @__ember_host_barrier()
// CHECK: %[[SLOT:.*]] = llvm.mlir.addressof @__ember_host_barrier_hook : !llvm.ptr
// CHECK: %[[TARGET:.*]] = llvm.load %[[SLOT]] : !llvm.ptr -> !llvm.ptr
// CHECK: llvm.call %[[TARGET]]() : !llvm.ptr, () -> ()
// CHECK: llvm.mlir.global external @__ember_host_shuffle_hook()
// CHECK: llvm.func internal @__ember_host_shuffle(%[[V:.*]]: i32, %[[O:.*]]: i32, %[[W:.*]]: i32, %[[M:.*]]: i32) -> i32
// CHECK: %[[RESULT:.*]] = llvm.call %{{.*}}(%[[V]], %[[O]], %[[W]], %[[M]]) : !llvm.ptr, (i32, i32, i32, i32) -> i32
// CHECK: llvm.return %[[RESULT]] : i32
// CHECK: llvm.mlir.global external constant @__ember_host_c_cooperative(1 : i64)
llvm.func @__ember_host_barrier() attributes {sym_visibility = "private"}
llvm.func @__ember_host_shuffle(i32, i32, i32, i32) -> i32 attributes {sym_visibility = "private"}
llvm.func @__ember_host_body_c(%bx: i64, %by: i64, %bz: i64, %tx: i64, %ty: i64, %tz: i64,
    %gx: i64, %gy: i64, %gz: i64, %dx: i64, %dy: i64, %dz: i64) attributes {ember.cooperative} {
  llvm.call @__ember_host_barrier() : () -> ()
  llvm.return
}
