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

// -----

// An m16n8k16 bf16 MMA passes the lane's fragments through buffers on its
// stack (allocated once, at the start) to the MMA hook, which writes D over
// C once the whole warp has called it; the copy is cooperative.
// CHECK-DAG: func.func private @__ember_host_mma_m16n8k16_bf16(i64, i64, i64)
// CHECK-LABEL: func.func @__ember_host_body_mma(
// CHECK-SAME: attributes {ember.cooperative}
// CHECK: %[[A:.*]] = memref.alloca() : memref<4xi32>
// CHECK: %[[B:.*]] = memref.alloca() : memref<2xi32>
// CHECK: %[[CD:.*]] = memref.alloca() : memref<4xf32>
// CHECK: %[[PA:.*]] = memref.extract_aligned_pointer_as_index %[[A]]
// CHECK: %[[AA:.*]] = arith.index_cast %[[PA]] : index to i64
// CHECK: %[[PB:.*]] = memref.extract_aligned_pointer_as_index %[[B]]
// CHECK: %[[AB:.*]] = arith.index_cast %[[PB]] : index to i64
// CHECK: %[[PCD:.*]] = memref.extract_aligned_pointer_as_index %[[CD]]
// CHECK: %[[ACD:.*]] = arith.index_cast %[[PCD]] : index to i64
// CHECK-COUNT-4: memref.store %{{.*}}, %[[A]]
// CHECK-COUNT-2: memref.store %{{.*}}, %[[B]]
// CHECK-COUNT-4: memref.store %{{.*}}, %[[CD]]
// CHECK: call @__ember_host_mma_m16n8k16_bf16(%[[AA]], %[[AB]], %[[ACD]])
// CHECK: memref.load %[[CD]]
// CHECK: llvm.insertvalue
// CHECK-NOT: nvvm.mma.sync
module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @mma(%a: i32, %b: i32, %c: f32, %out: memref<1xf32>) kernel {
      %d = nvvm.mma.sync A[%a, %a, %a, %a] B[%b, %b] C[%c, %c, %c, %c]
          {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>,
           multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>,
           shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
      %d0 = llvm.extractvalue %d[0] : !llvm.struct<(f32, f32, f32, f32)>
      %c0 = arith.constant 0 : index
      memref.store %d0, %out[%c0] : memref<1xf32>
      gpu.return
    }
  }
}

// -----

// Other MMA shapes and types have no host copy.
module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @k(%a: vector<2xf16>, %c: vector<2xf16>) kernel {
      // expected-error @below {{ember-copy-kernels-to-host: kernel @k uses nvvm.mma.sync, which its host copy cannot run}}
      %d = nvvm.mma.sync A[%a, %a] B[%a] C[%c, %c]
          {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>,
           shape = #nvvm.shape<m = 16, n = 8, k = 8>} : (vector<2xf16>, vector<2xf16>, vector<2xf16>) -> !llvm.struct<(vector<2xf16>, vector<2xf16>)>
      gpu.return
    }
  }
}
