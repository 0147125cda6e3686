//===- LowerToLoops.cpp - ember ops to scf.parallel nests -----------------===//
//
// Every ember op becomes scf.parallel nests on its memrefs. Loop bodies
// compute one output element (or one row element across all tables), which
// is both what the GPU maps to a thread and what the CPU vectorizes along
// the innermost, contiguous dimension. The patterns live in one file per op
// family (Lower*Ops.cpp).
//
//===----------------------------------------------------------------------===//
#include "dialects/Ember/EmberDialect.h"
#include "lowering/KernelOrigin.h"
#include "lowering/LoopBuilders.h"
#include "lowering/Passes.h"
#include "lowering/RowTiledDots.h"
#include "passes/TrafficModel.h"

#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace mlir::ember {
#define GEN_PASS_DEF_EMBERLOWERTOLOOPS
#include "lowering/Passes.h.inc"
} // namespace mlir::ember

using namespace mlir;
using namespace mlir::ember;

namespace {

struct EmberLowerToLoopsPass : mlir::ember::impl::EmberLowerToLoopsBase<EmberLowerToLoopsPass> {
  using Base::Base;
  void runOnOperation() override {
    nameKernelOrigins(getOperation());
    ConversionTarget target(getContext());
    target.addIllegalDialect<EmberDialect>();
    target.addIllegalOp<memref::CopyOp>(); // a loop like the ops around it
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(&getContext());
    populateNgramLoweringPatterns(patterns, boundsCheck);
    MatmulLoops matmulLoops{outputMajor, vectorLanes};
    populateDenseLoweringPatterns(patterns, matmulLoops);
    populateAttentionLoweringPatterns(patterns, matmulLoops);
    populateMoeLoweringPatterns(patterns, matmulLoops);
    populateFusedLoweringPatterns(patterns, boundsCheck, normStatistics, matmulLoops);
    if (failed(applyPartialConversion(getOperation(), target, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::ember::nameKernelOrigins(Operation *root) {
  root->walk([](func::FuncOp func) {
    if (func.isExternal())
      return;
    int64_t index = 0;
    for (Operation &op : func.getBody().getOps()) {
      if (!isKernelOp(op))
        continue;
      // Named already by ember-gpu-strategies, before it lowered some ops.
      if (!findKernelOrigin(op.getLoc()))
        op.setLoc(kernelOriginLoc(op.getLoc(), {kernelOpName(&op), index}));
      index += kernelCount(&op);
    }
  });
}
