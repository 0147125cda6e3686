// RUN: ember-opt %s --split-input-file --verify-diagnostics --ember-copy-kernels-to-host | FileCheck %s

// Each kernel gets a host copy running one thread: the ids become its last
// twelve arguments (block id, thread id, grid size, block size; x y z each).
// CHECK-LABEL: gpu.module @k
// CHECK: gpu.func @k(
// CHECK: func.func @__ember_host_body_k(%[[OUT:[^:]*]]: memref<?xf32>, %[[N:[^:]*]]: index,
// CHECK-SAME: %[[BX:[^:]*]]: index, %{{[a-z0-9]+}}: index, %{{[a-z0-9]+}}: index, %[[TX:[^:]*]]: index, %{{[a-z0-9]+}}: index, %{{[a-z0-9]+}}: index,
// CHECK-SAME: %{{[a-z0-9]+}}: index, %{{[a-z0-9]+}}: index, %{{[a-z0-9]+}}: index, %[[BDX:[^:]*]]: index, %{{[a-z0-9]+}}: index, %{{[a-z0-9]+}}: index)
// CHECK-NOT: gpu.
// CHECK: %[[BASE:.*]] = arith.muli %[[BX]], %[[BDX]]
// CHECK: %[[I:.*]] = arith.addi %[[BASE]], %[[TX]]
// CHECK: scf.if
// CHECK: memref.store %{{.*}}, %[[OUT]][%[[I]]]
// CHECK: return
module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @k(%out: memref<?xf32>, %n: index) kernel {
      %bx = gpu.block_id x
      %tx = gpu.thread_id x
      %bdx = gpu.block_dim x
      %base = arith.muli %bx, %bdx : index
      %i = arith.addi %base, %tx : index
      %in = arith.cmpi ult, %i, %n : index
      scf.if %in {
        %one = arith.constant 1.0 : f32
        memref.store %one, %out[%i] : memref<?xf32>
      }
      gpu.return
    }
  }
}

// -----

// A cooperative kernel's host copy calls the stand-in's hooks: a barrier,
// a shuffle of its value as i32 (mode 0: xor); its workgroup memory is a
// global of the artifact, and the copy is marked ember.cooperative.
// CHECK-DAG: func.func private @__ember_host_barrier()
// CHECK-DAG: func.func private @__ember_host_shuffle(i32, i32, i32, i32) -> i32
// CHECK-DAG: memref.global "private" @__ember_host_body_k_workgroup_0 : memref<32xf32> {alignment = 16 : i64}
// CHECK: func.func @__ember_host_body_k(%[[X:[^:]*]]: f32, {{.*}} attributes {ember.cooperative}
// CHECK: %[[TILE:.*]] = memref.get_global @__ember_host_body_k_workgroup_0 : memref<32xf32>
// CHECK: memref.store %[[X]], %[[TILE]]
// CHECK: call @__ember_host_barrier() : () -> ()
// CHECK: %[[MODE:.*]] = arith.constant 0 : i32
// CHECK: %[[BITS:.*]] = arith.bitcast %[[X]] : f32 to i32
// CHECK: %[[OUT:.*]] = call @__ember_host_shuffle(%[[BITS]], %{{.*}}, %{{.*}}, %[[MODE]])
// CHECK: arith.bitcast %[[OUT]] : i32 to f32
module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @k(%x: f32, %out: memref<1xf32>) workgroup(%tile: memref<32xf32, #gpu.address_space<workgroup>>) kernel {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : i32
      %c32 = arith.constant 32 : i32
      memref.store %x, %tile[%c0] : memref<32xf32, #gpu.address_space<workgroup>>
      gpu.barrier
      %y, %valid = gpu.shuffle xor %x, %c1, %c32 : f32
      memref.store %y, %out[%c0] : memref<1xf32>
      gpu.return
    }
  }
}

// -----

// The shuffle's valid flag has no host copy yet.
module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @k(%x: f32, %out: memref<1xi1>) kernel {
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : i32
      %c32 = arith.constant 32 : i32
      // expected-error @below {{ember-copy-kernels-to-host: kernel @k uses gpu.shuffle, which its host copy cannot run}}
      %y, %valid = gpu.shuffle xor %x, %c1, %c32 : f32
      memref.store %valid, %out[%c0] : memref<1xi1>
      gpu.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @k {
    // expected-error @below {{ember-copy-kernels-to-host: kernel @k has private memory attributions, which its host copy does not support}}
    gpu.func @k() private(%scratch: memref<4xf32, #gpu.address_space<private>>) kernel {
      gpu.return
    }
  }
}
