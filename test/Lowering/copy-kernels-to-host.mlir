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

// One thread at a time cannot meet at a barrier.
module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @k() kernel {
      // expected-error @below {{ember-copy-kernels-to-host: kernel @k uses gpu.barrier, which its host copy (one thread at a time) cannot run}}
      gpu.barrier
      gpu.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @k {
    // expected-error @below {{ember-copy-kernels-to-host: kernel @k has workgroup or private memory attributions, which its host copy (one thread at a time) cannot share}}
    gpu.func @k() workgroup(%tile: memref<32xf32, #gpu.address_space<workgroup>>) kernel {
      gpu.return
    }
  }
}
