// RUN: ember-opt %s --ember-check-host-memory-access --split-input-file --verify-diagnostics

// Host code may pass memrefs around: views, gpu runtime ops, calls of host
// functions, region ops without memory access.
module attributes {gpu.container_module} {
  func.func @layer(%x: memref<?x96xf32>) {
    return
  }
  func.func @fine(%n: index, %x: memref<?x96xf32>, %flag: i1) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %t = gpu.alloc (%n) : memref<?x96xf32>
    %d = memref.dim %x, %c0 : memref<?x96xf32>
    %v = memref.subview %t[0, 0] [%d, 48] [1, 1] : memref<?x96xf32> to memref<?x48xf32, strided<[96, 1]>>
    scf.if %flag {
      gpu.launch_func @k::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
          args(%v : memref<?x48xf32, strided<[96, 1]>>)
    }
    call @layer(%t) : (memref<?x96xf32>) -> ()
    // ember's runtime hooks copy what they read from the device.
    %u = memref.cast %t : memref<?x96xf32> to memref<*xf32>
    call @ember_check_finite(%u) : (memref<*xf32>) -> ()
    gpu.dealloc %t : memref<?x96xf32>
    return
  }
  func.func private @ember_check_finite(memref<*xf32>) attributes {ember.reads_device_memory}
  gpu.module @k {
    gpu.func @k(%v: memref<?x48xf32, strided<[96, 1]>>) kernel {
      %c0 = arith.constant 0 : index
      %f = memref.load %v[%c0, %c0] : memref<?x48xf32, strided<[96, 1]>>
      memref.store %f, %v[%c0, %c0] : memref<?x48xf32, strided<[96, 1]>>
      gpu.return
    }
  }
}

// -----

func.func @scalar_read(%pos: memref<1xi32>) -> i32 {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{'memref.load' reads or writes memref contents in host function 'scalar_read': on the nvptx target memrefs are device memory, which only gpu kernels may access}}
  %p = memref.load %pos[%c0] : memref<1xi32>
  return %p : i32
}

// -----

// A loop left unmapped to the GPU would run on the host.
func.func @unmapped(%x: memref<8xf32>, %y: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    // expected-error @+1 {{'memref.load' reads or writes memref contents in host function 'unmapped'}}
    %v = memref.load %x[%i] : memref<8xf32>
    memref.store %v, %y[%i] : memref<8xf32>
  }
  return
}

// -----

func.func @copy(%x: memref<8xf32>, %y: memref<8xf32>) {
  // expected-error @+1 {{'memref.copy' reads or writes memref contents in host function 'copy'}}
  memref.copy %x, %y : memref<8xf32> to memref<8xf32>
  return
}

// -----

func.func @host_temporary() {
  // expected-error @+1 {{'memref.alloc' allocates host memory for a memref in host function 'host_temporary'}}
  %t = memref.alloc() : memref<8xf32>
  return
}

// -----

func.func private @external(memref<8xf32>)
func.func @extern_call(%x: memref<8xf32>) {
  // expected-error @+1 {{'func.call' passes memrefs to an external function in host function 'extern_call'}}
  call @external(%x) : (memref<8xf32>) -> ()
  return
}
