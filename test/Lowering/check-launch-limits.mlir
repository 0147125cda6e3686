// RUN: ember-opt %s --split-input-file --verify-diagnostics --ember-check-launch-limits=chip=sm_90 | FileCheck %s

// Launches a GPU accepts pass unchanged; dynamic sizes are the runtime's to check.
// CHECK-LABEL: func @within
module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @k() kernel { gpu.return }
  }
  func.func @within(%n: index) {
    %c1 = arith.constant 1 : index
    %c64 = arith.constant 64 : index
    %c16 = arith.constant 16 : index
    %c65535 = arith.constant 65535 : index
    %smem = arith.constant 232448 : i32
    gpu.launch_func @k::@k blocks in (%n, %c65535, %c65535) threads in (%c16, %c1, %c64) dynamic_shared_memory_size %smem
    gpu.launch_func @k::@k blocks in (%n, %n, %n) threads in (%n, %n, %n)
    return
  }
}

// -----

// The H200 failure: 128 threads along z (check-launch-limits-op-names.mlir:
// the message names the ember op).
module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @k() kernel { gpu.return }
  }
  func.func @too_deep(%n: index) {
    %c1 = arith.constant 1 : index
    %c128 = arith.constant 128 : index
    // expected-error @below {{kernel @k launches 128 threads along z, over CUDA's limit of 64}}
    gpu.launch_func @k::@k blocks in (%n, %c1, %c1) threads in (%c1, %c1, %c128)
    return
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @k() kernel { gpu.return }
  }
  func.func @too_many(%n: index) {
    %c1 = arith.constant 1 : index
    %c64 = arith.constant 64 : index
    // expected-error @below {{kernel @k launches blocks of 4096 threads, over CUDA's limit of 1024}}
    gpu.launch_func @k::@k blocks in (%n, %c1, %c1) threads in (%c64, %c64, %c1)
    return
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @k() kernel { gpu.return }
  }
  func.func @too_wide(%n: index) {
    %c1 = arith.constant 1 : index
    %c2048 = arith.constant 2048 : index
    // expected-error @below {{kernel @k launches 2048 threads along x, over CUDA's limit of 1024}}
    gpu.launch_func @k::@k blocks in (%n, %c1, %c1) threads in (%c2048, %c1, %c1)
    return
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @k() kernel { gpu.return }
  }
  func.func @grid_y(%n: index) {
    %c1 = arith.constant 1 : index
    %c65536 = arith.constant 65536 : index
    // expected-error @below {{kernel @k launches 65536 blocks along grid y, over CUDA's limit of 65535}}
    gpu.launch_func @k::@k blocks in (%n, %c65536, %c1) threads in (%c1, %c1, %c1)
    return
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @k() kernel { gpu.return }
  }
  func.func @shared(%n: index) {
    %c1 = arith.constant 1 : index
    %smem = arith.constant 232449 : i32
    // expected-error @below {{kernel @k uses 232449 bytes of dynamic shared memory, over sm_90's limit of 232448}}
    gpu.launch_func @k::@k blocks in (%n, %c1, %c1) threads in (%c1, %c1, %c1) dynamic_shared_memory_size %smem
    return
  }
}

// -----

// RUN: not ember-opt %s --ember-check-launch-limits=chip=sm_91 2>&1 | FileCheck %s --check-prefix=CHIP
// CHIP: ember-check-launch-limits: unknown chip 'sm_91' (known: sm_80, sm_86, sm_89, sm_90)
