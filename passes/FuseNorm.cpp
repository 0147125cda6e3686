//===- FuseNorm.cpp - rms_norm into the matmuls that read it --------------===//
//
// The residual add before a norm is already the epilogue of the accumulating
// linear (or moe_combine) that writes the residual stream; what is left is
// the norm's own kernel and its [T, D] output. This pass removes both where
// every reader of that output is a matmul that can recompute the norm.
//
//===----------------------------------------------------------------------===//
#include "passes/FusionSupport.h"
#include "passes/Passes.h"

namespace mlir::ember {
#define GEN_PASS_DEF_EMBERFUSENORM
#include "passes/Passes.h.inc"
} // namespace mlir::ember

using namespace mlir;
using namespace mlir::ember;

namespace {

/// The input a consumer reads the norm's output as, and the buffer it writes.
Value consumerInput(Operation *op) {
  if (auto linear = dyn_cast<LinearOp>(op))
    return linear.getX();
  if (auto swiglu = dyn_cast<SwiGluOp>(op))
    return swiglu.getX();
  return {};
}
Value consumerOutput(Operation *op) {
  if (auto linear = dyn_cast<LinearOp>(op))
    return linear.getOut();
  return cast<SwiGluOp>(op).getOut();
}

struct FuseNorm : mlir::ember::impl::EmberFuseNormBase<FuseNorm> {
  void runOnOperation() override {
    SmallVector<RmsNormOp> candidates;
    getOperation().walk([&](RmsNormOp op) { candidates.push_back(op); });
    for (RmsNormOp op : candidates)
      fuse(op);
  }

  /// The linears / swiglus that read `norm`'s output before anything writes
  /// it again; empty if some other op reads it or the output escapes.
  static SmallVector<Operation *> findConsumers(RmsNormOp norm) {
    Value y = norm.getOut();
    auto alloc = y.getDefiningOp<memref::AllocOp>();
    if (!alloc || alloc->getBlock() != norm->getBlock())
      return {};
    for (Operation *user : y.getUsers())
      if (user->getBlock() != norm->getBlock() || isa<ViewLikeOpInterface>(user))
        return {};
    SmallVector<Operation *> consumers;
    for (Operation *op = norm->getNextNode(); op; op = op->getNextNode()) {
      if (isa<memref::DeallocOp>(op) || !llvm::is_contained(op->getOperands(), y))
        continue;
      if (consumerInput(op) == y && consumerOutput(op) != y) {
        consumers.push_back(op);
        continue;
      }
      // A plain overwrite (the next norm into a reused buffer) ends the
      // output's life; any other use keeps the norm.
      auto next = dyn_cast<RmsNormOp>(op);
      if (next && next.getOut() == y && next.getX() != y)
        return consumers;
      return {};
    }
    return consumers;
  }

  void fuse(RmsNormOp norm) {
    SmallVector<Operation *> consumers = findConsumers(norm);
    if (consumers.empty())
      return;
    Value x = norm.getX(), y = norm.getOut();
    // Each consumer reads x and the norm weight in place of y: nothing from
    // the norm to the last consumer may write them, and no consumer may
    // write into x while its threads read it.
    if (mayWriteBetween(norm->getNextNode(), consumers.back()->getNextNode(),
                        {x, norm.getWeight()}))
      return;
    for (Operation *consumer : consumers) {
      OpBuilder b(consumer);
      if (auto linear = dyn_cast<LinearOp>(consumer))
        NormLinearOp::create(b, linear.getLoc(), x, norm.getWeight(), linear.getWeight(), linear.getWeightScale(),
                             linear.getOut(), norm.getEpsAttr(), norm.getScaleAttr(), linear.getAccumulateAttr(),
                             linear.getWeightBlockAttr());
      else if (auto swiglu = dyn_cast<SwiGluOp>(consumer))
        NormSwiGluOp::create(b, swiglu.getLoc(), x, norm.getWeight(), swiglu.getGateWeight(), swiglu.getUpWeight(),
                             swiglu.getGateScale(), swiglu.getUpScale(), swiglu.getOut(), norm.getEpsAttr(),
                             norm.getScaleAttr(), swiglu.getWeightBlockAttr());
      consumer->erase();
      ++numConsumers;
    }
    norm->erase();
    ++numFused;
    if (y != x && eraseIfUnused(y))
      ++numBuffersRemoved;
  }
};

} // namespace
