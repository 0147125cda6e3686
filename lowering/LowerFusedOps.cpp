//===- LowerFusedOps.cpp - fused ember ops -> scf.parallel loops ----------===//
//
// The ops the passes/ fusions create, lowered like the unfused ones: one
// scf.parallel nest per op, one output element per iteration.
//
//===----------------------------------------------------------------------===//
#include "dialects/Ember/EmberDialect.h"
#include "lowering/LoopBuilders.h"

using namespace mlir;
using namespace mlir::ember;

namespace {

/// h[t, f] = silu(x[t] . g[f]) * (x[t] . u[f]): both dot products in the
/// thread that writes h, so neither projection reaches memory.
struct LowerSwiGlu : OpConversionPattern<SwiGluOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(SwiGluOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getX(), g = adaptor.getGateWeight(), u = adaptor.getUpWeight(),
          h = adaptor.getOut();
    Value tokens = dimOf(rewriter, loc, h, 0), hidden = dimOf(rewriter, loc, h, 1),
          inputs = dimOf(rewriter, loc, x, 1);
    buildParallelNest(rewriter, loc, {tokens, hidden}, [&](OpBuilder &b, Location loc, ValueRange ivs) {
      Value t = ivs[0], f = ivs[1];
      auto xAt = [&](OpBuilder &b, Location loc, Value i) { return loadF32(b, loc, x, {t, i}); };
      auto row = [&](Value weight) {
        return [&, weight](OpBuilder &b, Location loc, Value i) { return loadF32(b, loc, weight, {f, i}); };
      };
      Value zero = f32Constant(b, loc, 0.0);
      Value gate = buildDotProduct(b, loc, inputs, zero, xAt, row(g));
      Value up = buildDotProduct(b, loc, inputs, zero, xAt, row(u));
      memref::StoreOp::create(b, loc, arith::MulFOp::create(b, loc, buildSilu(b, loc, gate), up), h, ivs);
    });
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

void mlir::ember::populateFusedLoweringPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerSwiGlu>(patterns.getContext());
}
