// RUN: ember-opt %s --ember-nvptx-pipeline=compile-to=gpu | FileCheck %s --check-prefix=GPU
// RUN: ember-opt %s --ember-nvptx-pipeline=compile-to=nvvm | FileCheck %s --check-prefix=NVVM
// RUN: ember-opt %s --ember-nvptx-pipeline="chip=sm_90 features=+ptx80" | FileCheck %s --check-prefixes=PTX,SM90
// RUN: ember-opt %s --ember-nvptx-pipeline="chip=sm_80 features=+ptx80" | FileCheck %s --check-prefixes=PTX,SM80

// Loops become one outlined kernel named after the op; the grid covers
// tokens (x) times blocks of the hidden dimension (y), which is on thread x.
// GPU: gpu.launch_func @combine__ngram_combine_0::@combine__ngram_combine_0 blocks in ({{.*}}) threads in ({{.*}})
// GPU: gpu.module @combine__ngram_combine_0 attributes {ember.gpu_kernel = #ember.gpu_kernel<op = "ngram_combine", index = 0, strategy = "thread_per_element", block = [128, 1, 1], grid_dims = [0, 1, -1], thread_dims = [1, -1, -1]>}
// GPU: gpu.func @combine__ngram_combine_0
// GPU-DAG: gpu.block_id x
// GPU-DAG: gpu.block_id y
// GPU-DAG: gpu.thread_id x

// NVVM: gpu.module @combine__ngram_combine_0 [#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80"{{(, link = \[.*libdevice.*\])?}}>]
// NVVM: llvm.func @combine__ngram_combine_0
// NVVM-SAME: nvvm.kernel
// NVVM-DAG: nvvm.read.ptx.sreg.ctaid.x
// NVVM-DAG: nvvm.read.ptx.sreg.tid.x

// The gpu.binary holds PTX text (format isa) with the kernel's entry point.
// PTX: gpu.binary @combine__ngram_combine_0
// SM90-SAME: chip = "sm_90"
// SM80-SAME: chip = "sm_80"
// PTX-SAME: .version 8.0
// SM90-SAME: .target sm_90
// SM80-SAME: .target sm_80
// PTX-SAME: .visible .entry combine__ngram_combine_0(
func.func @combine(%word: memref<?x96xf32>, %rows: memref<?x12x8xf32>, %proj: memref<12x96x8xbf16>, %out: memref<?x96xf32>) attributes {llvm.emit_c_interface} {
  ember.ngram_combine %word, %rows, %proj into %out : memref<?x96xf32>, memref<?x12x8xf32>, memref<12x96x8xbf16> into memref<?x96xf32>
  return
}
