// RUN: ember-opt %s --ember-nvptx-pipeline=compile-to=gpu | FileCheck %s --check-prefix=GPU
// RUN: ember-opt %s --ember-nvptx-pipeline=compile-to=nvvm | FileCheck %s --check-prefix=NVVM
// RUN: ember-opt %s --ember-nvptx-pipeline="chip=sm_90 features=+ptx80" | FileCheck %s --check-prefixes=PTX,SM90
// RUN: ember-opt %s --ember-nvptx-pipeline="chip=sm_80 features=+ptx80" | FileCheck %s --check-prefixes=PTX,SM80

// Loops become one outlined kernel; the grid covers tokens x hidden blocks.
// GPU: gpu.launch_func @combine_kernel::@combine_kernel blocks in ({{.*}}) threads in ({{.*}})
// GPU: gpu.module @combine_kernel
// GPU: gpu.func @combine_kernel
// GPU-DAG: gpu.block_id x
// GPU-DAG: gpu.thread_id y

// NVVM: gpu.module @combine_kernel [#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80"{{(, link = \[.*libdevice.*\])?}}>]
// NVVM: llvm.func @combine_kernel
// NVVM-SAME: nvvm.kernel
// NVVM-DAG: nvvm.read.ptx.sreg.ctaid.x
// NVVM-DAG: nvvm.read.ptx.sreg.tid.y

// The gpu.binary holds PTX text (format isa) with the kernel's entry point.
// PTX: gpu.binary @combine_kernel
// SM90-SAME: chip = "sm_90"
// SM80-SAME: chip = "sm_80"
// PTX-SAME: .version 8.0
// SM90-SAME: .target sm_90
// SM80-SAME: .target sm_80
// PTX-SAME: .visible .entry combine_kernel(
func.func @combine(%word: memref<?x96xf32>, %rows: memref<?x12x8xf32>, %proj: memref<12x96x8xbf16>, %out: memref<?x96xf32>) attributes {llvm.emit_c_interface} {
  ember.ngram_combine %word, %rows, %proj into %out : memref<?x96xf32>, memref<?x12x8xf32>, memref<12x96x8xbf16> into memref<?x96xf32>
  return
}
