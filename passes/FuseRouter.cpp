//===- FuseRouter.cpp - router linear + router_topk -> ember.fused_router -===//
#include "passes/FusionSupport.h"
#include "passes/Passes.h"

#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::ember {
#define GEN_PASS_DEF_EMBERFUSEROUTER
#include "passes/Passes.h.inc"
} // namespace mlir::ember

using namespace mlir;
using namespace mlir::ember;

namespace {

/// Ops that may sit between the linear and router_topk: they cannot change
/// what the fused op, issued at router_topk's place, reads.
bool isHarmlessInBetween(Operation *op) {
  return isa<memref::AllocOp>(op) || isMemoryEffectFree(op);
}

struct FuseRouter : mlir::ember::impl::EmberFuseRouterBase<FuseRouter> {
  void runOnOperation() override {
    SmallVector<RouterTopkOp> candidates;
    getOperation().walk([&](RouterTopkOp op) { candidates.push_back(op); });
    for (RouterTopkOp op : candidates)
      fuse(op);
  }

  void fuse(RouterTopkOp op) {
    Value logits = op.getLogits();
    auto linear = logits.getDefiningOp<memref::AllocOp>() ? findLinear(op) : LinearOp();
    // fused_router's classifier takes no block scales.
    if (!linear || linear.getAccumulate() || linear.getOut() != logits || linear.getWeightScale())
      return;
    // The logits feed nothing else, so the buffer can go.
    if (!llvm::all_of(logits.getUsers(), [&](Operation *user) {
          return user == linear || user == op || isa<memref::DeallocOp>(user);
        }))
      return;
    Value u = linear.getX(), classifier = linear.getWeight();
    // Token t's thread reads u[t] after writing its choices: no output may be an input.
    for (Value out : {op.getExperts(), op.getWeights()})
      if (out == u || out == classifier || out == op.getBias())
        return;
    OpBuilder b(op);
    FusedRouterOp::create(b, op.getLoc(), u, classifier, op.getBias(), op.getExperts(),
                          op.getWeights(), op.getNRoutedAttr(), op.getScalingAttr());
    op->erase();
    linear->erase();
    eraseIfUnused(logits);
    ++numFused;
  }

  /// The linear before `op` in its block, with only harmless ops between.
  static LinearOp findLinear(RouterTopkOp op) {
    for (Operation *prev = op->getPrevNode(); prev; prev = prev->getPrevNode()) {
      if (auto linear = dyn_cast<LinearOp>(prev))
        return linear;
      if (!isHarmlessInBetween(prev))
        return LinearOp();
    }
    return LinearOp();
  }
};

} // namespace
