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
// Every access checks its bounds; outside, it calls the fault hook instead.
// CHECK: %[[SIZE:.*]] = memref.dim %[[OUT]], %{{.*}} : memref<?xf32>
// CHECK: %[[IN:.*]] = arith.cmpi ult, %[[I]], %[[SIZE]] : index
// CHECK: %[[OK:.*]] = arith.andi %{{.*}}, %[[IN]] : i1
// CHECK: scf.if %[[OK]] {
// CHECK-NEXT: memref.store %{{.*}}, %[[OUT]][%[[I]]]
// CHECK-NEXT: } else {
// CHECK-NEXT: func.call @__ember_host_fault() : () -> ()
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

// -----

// A vector access needs its last index and the lanes after it inside the
// last dimension; a load outside gives zeros.
// CHECK-LABEL: func.func @__ember_host_body_v(
// CHECK-SAME: %[[IN:[^:]*]]: memref<4x?xf32>, %[[ROW:[^:]*]]: index, %[[COL:[^:]*]]: index
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG: %[[ROWS:.*]] = memref.dim %[[IN]], %c0
// CHECK-DAG: %[[ROWOK:.*]] = arith.cmpi ult, %[[ROW]], %[[ROWS]]
// CHECK-DAG: %[[LAST:.*]] = arith.addi %[[COL]], %[[C3]] : index
// CHECK-DAG: %[[COLS:.*]] = memref.dim %[[IN]], %c1
// CHECK-DAG: %[[COLOK:.*]] = arith.cmpi ult, %[[LAST]], %[[COLS]]
// CHECK: %[[V:.*]] = scf.if %{{.*}} -> (vector<4xf32>) {
// CHECK-NEXT: %[[LOADED:.*]] = vector.load %[[IN]][%[[ROW]], %[[COL]]]
// CHECK-NEXT: scf.yield %[[LOADED]]
// CHECK-NEXT: } else {
// CHECK-NEXT: func.call @__ember_host_fault()
// CHECK-NEXT: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<4xf32>
// CHECK-NEXT: scf.yield %[[ZERO]]
// CHECK: vector.store %[[V]]
module attributes {gpu.container_module} {
  gpu.module @v {
    gpu.func @v(%in: memref<4x?xf32>, %row: index, %col: index, %out: memref<4xf32>) kernel {
      %c0 = arith.constant 0 : index
      %v = vector.load %in[%row, %col] : memref<4x?xf32>, vector<4xf32>
      vector.store %v, %out[%c0] : memref<4xf32>, vector<4xf32>
      gpu.return
    }
  }
}
