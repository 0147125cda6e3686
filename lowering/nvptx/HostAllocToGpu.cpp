//===- HostAllocToGpu.cpp - host temporaries in device memory -------------===//
#include "lowering/nvptx/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace mlir::ember {
#define GEN_PASS_DEF_EMBERHOSTALLOCTOGPU
#include "lowering/nvptx/Passes.h.inc"
} // namespace mlir::ember

using namespace mlir;

namespace {
struct EmberHostAllocToGpuPass
    : mlir::ember::impl::EmberHostAllocToGpuBase<EmberHostAllocToGpuPass> {
  void runOnOperation() override {
    SmallVector<memref::AllocOp> allocs;
    SmallVector<memref::DeallocOp> deallocs;
    // Kernels live in gpu.module ops, so top-level functions are host code.
    for (auto function : getOperation().getOps<func::FuncOp>()) {
      function.walk([&](memref::AllocOp op) { allocs.push_back(op); });
      function.walk([&](memref::DeallocOp op) { deallocs.push_back(op); });
    }
    OpBuilder builder(&getContext());
    for (memref::AllocOp alloc : allocs) {
      // gpu-to-llvm only allocates identity-layout memrefs.
      if (!alloc.getType().getLayout().isIdentity()) {
        alloc.emitError("ember-host-alloc-to-gpu: cannot allocate a memref with a "
                        "non-identity layout in device memory");
        return signalPassFailure();
      }
      builder.setInsertionPoint(alloc);
      auto device = gpu::AllocOp::create(builder, alloc.getLoc(), alloc.getType(),
                                         /*asyncToken=*/Type(), ValueRange(),
                                         alloc.getDynamicSizes(), alloc.getSymbolOperands());
      alloc.replaceAllUsesWith(device.getMemref());
      alloc.erase();
    }
    for (memref::DeallocOp dealloc : deallocs) {
      builder.setInsertionPoint(dealloc);
      gpu::DeallocOp::create(builder, dealloc.getLoc(), /*asyncToken=*/Type(), ValueRange(),
                             dealloc.getMemref());
      dealloc.erase();
    }
  }
};
} // namespace
