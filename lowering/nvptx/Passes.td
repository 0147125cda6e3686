//===- Passes.td - ember's NVPTX passes --------------------*- tablegen -*-===//
#ifndef EMBER_LOWERING_NVPTX_PASSES_TD
#define EMBER_LOWERING_NVPTX_PASSES_TD

include "mlir/Pass/PassBase.td"

def EmberGpuStrategies : Pass<"ember-gpu-strategies", "ModuleOp"> {
  let summary = "Lower ember ops with a cooperative GPU strategy straight to gpu.launch";
  let description = [{
    The op half of the GPU kernel configuration step, run before
    `ember-lower-to-loops` on the nvptx target. Ops whose kernel needs
    threads to cooperate (warp shuffles, barriers, workgroup memory), which
    loop nests cannot say, become a `gpu.launch` carrying the decision as
    `ember.gpu_kernel` (moved to the kernel's `gpu.module` by
    `ember-map-to-gpu`); docs/gpu.md describes each:

    * `mma_sync_tile` for `linear`, `norm_linear`, `swiglu` and
      `norm_swiglu` with bf16 weights when a step has at least
      `tensor-core-min-tokens` tokens (prefill): tiles of 64 tokens x 64
      output rows on tensor cores (mma.sync m16n8k16, f32 accumulation); the
      launch is chosen at run time, `warp_per_row` below that.
    * `warp_per_row` for `linear`, `norm_linear`, `swiglu`, `norm_swiglu`
      and `mla_up_v` (a static input width that is a multiple of one 16-byte
      load of the weights, identity layouts): a warp per output row and group
      of tokens, lanes streaming the row with 16-byte vector loads,
      warp-shuffle sums; for `expert_gate_up` a warp per (tile of an
      expert's rows, hidden unit), for `expert_down_combine` per (token,
      output); for `ngram_embed` a warp per output row after the block
      gathered its tokens' n-gram rows into workgroup memory.
    * `block_split_k` for `mla_absorb`: lanes along the latent, slices of
      the block's warps splitting the reduction, one barrier; and for the
      `warp_per_row` GEMVs whose rows are too few to give 264 blocks of
      whole warps: fewer rows per block, their warps splitting each row
      (split-K), the slices' sums meeting in workgroup memory.
    * `block_per_row` for `rms_norm` and `router_topk`: a block per token,
      warp shuffles and barriers over workgroup memory.
    * `split_kv` for `mla_attention`: flash-decoding, a partial kernel per
      chunk of cache rows and a combine.

    Ops are named first (`"<op>#<index>"`, as `ember-lower-to-loops` does)
    so that kernels keep their traffic-model names. Other ops are left for
    `ember-lower-to-loops`.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"128",
           "Threads per block (a power of two, at most 1024; cooperative kernels use at least 32)">,
    Option<"boundsCheck", "bounds-check", "::mlir::ember::GatherBoundsCheck",
           /*default=*/"::mlir::ember::GatherBoundsCheck::Clamp",
           "What ngram_embed's word-embedding read does with a token id outside the table "
           "(as ember-lower-to-loops' option)",
           [{::mlir::ember::gatherBoundsCheckValues()}]>,
    Option<"tensorCoreMinTokens", "tensor-core-min-tokens", "int64_t", /*default=*/"64",
           "Tokens per step from which GEMV-class ops with bf16 weights run on tensor cores "
           "(mma_sync_tile); 0 never">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::NVVM::NVVMDialect", "::mlir::LLVM::LLVMDialect",
                           "::mlir::nvgpu::NVGPUDialect", "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect",
                           "::mlir::arith::ArithDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::math::MathDialect", "::mlir::cf::ControlFlowDialect"];
}

def EmberMapToGpu : Pass<"ember-map-to-gpu", "ModuleOp"> {
  let summary = "Choose each ember op's GPU mapping and turn its loops into a named gpu.launch";
  let description = [{
    The GPU mapping stage. For every outermost `scf.parallel` nest of a
    host function (one ember op's kernel, named by the location
    `ember-lower-to-loops` gives it: `"<op>#<index>"`), a kernel
    configuration step picks a strategy and the nest's block and grid:

    * `thread_per_element`, the one strategy for loop nests (ops with a
      cooperative strategy became their `gpu.launch` in
      `ember-gpu-strategies` already): one thread per loop iteration. The innermost (contiguous) dimension goes on thread x, so
      adjacent threads touch adjacent addresses; when it is narrower than
      `block-size`, the next dimension fills thread y. The first dynamic
      dimension (the tokens) goes on grid x, which allows 2^31 - 1 blocks;
      the others on grid y and z, inner to outer. Block z stays 1.

    The nest is tiled accordingly, its dimensions mapped to processors and
    converted to a `gpu.launch` whose kernel `gpu-kernel-outlining` names
    `<function>__<op>_<index>` (a further nest of the same op gets `_<n>`)
    and puts into a `gpu.module` carrying the decision as
    `ember.gpu_kernel = #ember.gpu_kernel<...>`. Nested `scf.parallel` loops
    run sequentially inside the thread.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"128",
           "Threads per block (a power of two, at most 1024)">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect", "::mlir::ember::EmberDialect"];
}

def EmberHostAllocToGpu : Pass<"ember-host-alloc-to-gpu", "ModuleOp"> {
  let summary = "Allocate host-side temporaries in device memory";
  let description = [{
    On the nvptx target every memref a host function handles lives in device
    memory: the runtime passes device buffers and kernels read the
    temporaries. Rewrites `memref.alloc`/`memref.dealloc` in the module's
    host functions (top-level `func.func`, not gpu kernels) into synchronous
    `gpu.alloc`/`gpu.dealloc`; `gpu-async-region` later chains them on a
    stream for `gpu-to-llvm`.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def EmberCheckHostMemoryAccess : Pass<"ember-check-host-memory-access", "ModuleOp"> {
  let summary = "Reject host code that would dereference device memory";
  let description = [{
    After kernel outlining and `ember-host-alloc-to-gpu`, host functions may
    only pass memrefs around (views, gpu runtime ops, calls of other host
    functions). Any op there that reads, writes, allocates or frees memref
    memory (a loop left unmapped, a scalar memref.load, memref.copy) would
    make the CPU touch a device pointer; the pass fails naming the op.
  }];
}


def EmberCheckLaunchLimits : Pass<"ember-check-launch-limits", "ModuleOp"> {
  let summary = "Reject kernel launches over CUDA's limits";
  let description = [{
    Every `gpu.launch_func` must launch what the driver accepts: block x and
    y at most 1024 threads, z at most 64, at most 1024 in all; grid y and z
    at most 65535 blocks, x at most 2^31 - 1; dynamic shared memory at most
    the opt-in maximum of `chip`. Sizes known at compile time are checked;
    dynamic ones (the tokens of a call) are checked by the runtime before
    each launch. A violation names the ember op the kernel came from.
  }];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_90\"",
           "Target SM, whose shared-memory limit applies">
  ];
}

def EmberCopyKernelsToHost : Pass<"ember-copy-kernels-to-host", "ModuleOp"> {
  let summary = "Add a host copy of every kernel, one thread per call";
  let description = [{
    For every `gpu.func` kernel, adds the host function
    `__ember_host_body_<kernel>` with the kernel's arguments followed by
    twelve `index` arguments (block id, thread id, grid and block size, x y
    z each) in place of the `gpu` id ops. A CUDA device stand-in (the fake
    device of ember's tests) runs a launch by calling it for every thread.
    Cooperative kernels are copied too, for a stand-in that runs a block's
    threads as fibers: `gpu.barrier` and `gpu.shuffle` (of 32-bit values,
    its `valid` flag unused) become calls of `__ember_host_barrier` and
    `__ember_host_shuffle`, workgroup attributions become globals of the
    artifact (one block runs at a time), and the copy is marked
    `ember.cooperative`. Other gpu ops (reductions, a shuffle's `valid`
    flag) and private attributions are refused, naming the kernel.
    `nvvm.mma.sync` (m16n8k16 on bf16) and `nvgpu.ldmatrix` (four 8 x 8
    matrices of 16-bit elements) become calls of `__ember_host_mma_m16n8k16_bf16`
    and `__ember_host_ldmatrix_x4_b16`, which exchange the warp's fragments.
    Every `memref` and `vector` load and store of a copy is guarded by a
    bounds check: out of bounds it is skipped (a load gives 0) and
    `__ember_host_fault` is called, so that the stand-in fails the launch
    as a GPU fails a faulting kernel.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect", "::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect", "::mlir::LLVM::LLVMDialect"];
}

def EmberHostKernelEntryPoints : Pass<"ember-host-kernel-entry-points", "ModuleOp"> {
  let summary = "Export each host kernel copy as the driver would call it";
  let description = [{
    After lowering to the LLVM dialect, wraps every
    `__ember_host_body_<kernel>` into the exported
    `void __ember_host_<kernel>(ptr params, ptr ids)`: `params` is
    `cuLaunchKernel`'s array of pointers to the kernel's arguments (memrefs
    expanded into descriptor fields, as `gpu-to-llvm` passes them), `ids`
    the twelve ids. Also exports `__ember_host_<kernel>_param_bytes`, the
    size of the kernel's parameter buffer, and for a cooperative copy
    `__ember_host_<kernel>_cooperative` = 1. The barrier and shuffle hooks
    get bodies that call through the exported pointers
    `__ember_host_barrier_hook` and `__ember_host_shuffle_hook`, which the
    stand-in sets.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // EMBER_LOWERING_NVPTX_PASSES_TD
