// RUN: ember-opt %s --ember-host-alloc-to-gpu --split-input-file --verify-diagnostics | FileCheck %s

// Host temporaries become device allocations; kernels are left alone.
module attributes {gpu.container_module} {
  // CHECK-LABEL: func.func @step
  // CHECK-SAME: (%[[N:.*]]: index, %[[X:.*]]: memref<?x96xf32>)
  func.func @step(%n: index, %x: memref<?x96xf32>) {
    %c1 = arith.constant 1 : index
    // CHECK: %[[T:.*]] = gpu.alloc (%[[N]]) : memref<?x96xf32>
    // CHECK: %[[S:.*]] = gpu.alloc () : memref<4xi32>
    %t = memref.alloc(%n) : memref<?x96xf32>
    %s = memref.alloc() {alignment = 64 : i64} : memref<4xi32>
    // CHECK: gpu.launch_func @k::@k {{.*}} args(%[[X]] : memref<?x96xf32>, %[[T]] : memref<?x96xf32>, %[[S]] : memref<4xi32>)
    gpu.launch_func @k::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
        args(%x : memref<?x96xf32>, %t : memref<?x96xf32>, %s : memref<4xi32>)
    // CHECK: gpu.dealloc %[[T]] : memref<?x96xf32>
    // CHECK: gpu.dealloc %[[S]] : memref<4xi32>
    // CHECK-NOT: memref.alloc
    memref.dealloc %t : memref<?x96xf32>
    memref.dealloc %s : memref<4xi32>
    return
  }
  // CHECK: gpu.module @k
  gpu.module @k {
    gpu.func @k(%x: memref<?x96xf32>, %t: memref<?x96xf32>, %s: memref<4xi32>) kernel {
      // CHECK: memref.alloca() : memref<8xf32>
      %scratch = memref.alloca() : memref<8xf32>
      gpu.return
    }
  }
}

// -----

func.func @strided(%n: index) {
  // expected-error @+1 {{ember-host-alloc-to-gpu: cannot allocate a memref with a non-identity layout in device memory}}
  %t = memref.alloc(%n) : memref<?x4xf32, strided<[8, 1]>>
  return
}
