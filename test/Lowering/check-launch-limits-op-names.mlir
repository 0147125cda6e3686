// RUN: not ember-opt %s --ember-check-launch-limits 2>&1 | FileCheck %s

// A violation names the ember op the kernel came from (the location
// ember-lower-to-loops gives its loops).
// CHECK: x.mlir:1:1: error: ember.mla_absorb #6: kernel @ember_shortcut_layer__mla_absorb_6 launches 128 threads along z, over CUDA's limit of 64
module attributes {gpu.container_module} {
  gpu.module @ember_shortcut_layer__mla_absorb_6 {
    gpu.func @ember_shortcut_layer__mla_absorb_6() kernel { gpu.return }
  }
  func.func @ember_shortcut_layer(%n: index) {
    %c1 = arith.constant 1 : index
    %c128 = arith.constant 128 : index
    gpu.launch_func @ember_shortcut_layer__mla_absorb_6::@ember_shortcut_layer__mla_absorb_6 blocks in (%n, %c1, %c1) threads in (%c1, %c1, %c128) loc("mla_absorb#6"("x.mlir":1:1))
    return
  }
}
