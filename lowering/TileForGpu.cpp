//===- TileForGpu.cpp - tile outermost scf.parallel into thread blocks ----===//
#include "lowering/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"

namespace mlir::ember {
#define GEN_PASS_DEF_EMBERTILEFORGPU
#include "lowering/Passes.h.inc"
} // namespace mlir::ember

using namespace mlir;

namespace {
struct EmberTileForGpuPass : mlir::ember::impl::EmberTileForGpuBase<EmberTileForGpuPass> {
  using Base::Base;

  void runOnOperation() override {
    if (blockSize < 1) {
      getOperation()->emitError() << "ember-tile-for-gpu: block-size must be >= 1, got "
                                  << blockSize.getValue();
      return signalPassFailure();
    }
    SmallVector<scf::ParallelOp> outermost;
    getOperation()->walk([&](scf::ParallelOp loop) {
      if (!loop->getParentOfType<scf::ParallelOp>())
        outermost.push_back(loop);
    });
    for (scf::ParallelOp loop : outermost) {
      SmallVector<int64_t> tileSizes(loop.getNumLoops(), 1);
      tileSizes.back() = blockSize;
      // Without min/max bounds the inner loop has a constant trip count
      // (guarded by an scf.if), which convert-parallel-loops-to-gpu needs.
      scf::tileParallelLoop(loop, tileSizes, /*noMinMaxBounds=*/true);
    }
  }
};
} // namespace
