//===- FuseSwiGlu.cpp - gate/up projections + silu_mul -> ember.swiglu ----===//
#include "passes/FusionSupport.h"
#include "passes/Passes.h"

namespace mlir::ember {
#define GEN_PASS_DEF_EMBERFUSESWIGLU
#include "passes/Passes.h.inc"
} // namespace mlir::ember

using namespace mlir;
using namespace mlir::ember;

namespace {

struct FuseSwiGlu : mlir::ember::impl::EmberFuseSwiGluBase<FuseSwiGlu> {
  void runOnOperation() override {
    SmallVector<SiluMulOp> candidates;
    getOperation().walk([&](SiluMulOp op) { candidates.push_back(op); });
    for (SiluMulOp op : candidates)
      fuse(op);
  }

  void fuse(SiluMulOp op) {
    auto second = dyn_cast_or_null<LinearOp>(op->getPrevNode());
    auto first = second ? dyn_cast_or_null<LinearOp>(second->getPrevNode()) : LinearOp();
    // One weight_block serves both projections' block scales.
    if (!first || first.getAccumulate() || second.getAccumulate() || first.getX() != second.getX() ||
        first.getWeightBlockAttr() != second.getWeightBlockAttr())
      return;
    Value gate = op.getGate(), up = op.getUp(), x = first.getX();
    LinearOp gateLinear = first.getOut() == gate ? first : second.getOut() == gate ? second : LinearOp();
    LinearOp upLinear = gateLinear == first ? second : first;
    // Each projection written by exactly one of the two linears, none
    // aliasing x, and the result not overwriting x while it is read.
    if (!gateLinear || upLinear.getOut() != up || gate == up || gate == x || up == x || op.getOut() == x)
      return;
    OpBuilder b(op);
    SwiGluOp::create(b, op.getLoc(), x, gateLinear.getWeight(), upLinear.getWeight(), gateLinear.getWeightScale(),
                     upLinear.getWeightScale(), op.getOut(), gateLinear.getWeightBlockAttr());
    Value out = op.getOut();
    op->erase();
    gateLinear->erase();
    upLinear->erase();
    ++numFused;
    for (Value buffer : {gate, up})
      if (buffer != out && eraseIfUnused(buffer))
        ++numBuffersRemoved;
  }
};

} // namespace
