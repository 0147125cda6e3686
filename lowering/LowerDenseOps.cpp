//===- LowerDenseOps.cpp - linear, rms_norm, silu_mul to scf.parallel ------===//
#include "dialects/Ember/EmberDialect.h"
#include "lowering/LoopBuilders.h"
#include "lowering/RowTiledDots.h"

#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;
using namespace mlir::ember;

namespace {

/// One thread per output element: a dot product along the contiguous input
/// dimension of both x and the [out, in] weight; on the CPU, row-tiled
/// vector dots (RowTiledDots.h).
struct LowerLinear : OpConversionPattern<LinearOp> {
  LowerLinear(MLIRContext *context, const MatmulLoops &loops) : OpConversionPattern(context), loops(loops) {}

  LogicalResult matchAndRewrite(LinearOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getX(), w = adaptor.getWeight(), y = adaptor.getOut();
    Value tokens = dimOf(rewriter, loc, y, 0), outputs = dimOf(rewriter, loc, y, 1);
    Value inputs = dimOf(rewriter, loc, x, 1);
    bool accumulate = op.getAccumulate();
    BlockScales scales = BlockScales::of(adaptor.getWeightScale(), op.getWeightBlock());
    if (useRowTiledDots(loops, x, w, scales)) {
      buildRowTiledDots(
          rewriter, loc, x, w, outputs, loops.vectorLanes,
          [&](OpBuilder &b, Location loc, Value t, Value o, ValueRange sums) {
            storeLinearOutput(b, loc, y, t, o, sums[0], accumulate);
          },
          scales);
      rewriter.eraseOp(op);
      return success();
    }
    buildRowsByOutputsNest(rewriter, loc, tokens, outputs, loops.outputMajor,
                           [&](OpBuilder &b, Location loc, Value t, Value o) {
                             Value init = accumulate ? memref::LoadOp::create(b, loc, y, ValueRange{t, o}).getResult()
                                                     : f32Constant(b, loc, 0.0);
                             Value sum = buildDotProduct(
                                 b, loc, inputs, init,
                                 [&](OpBuilder &b, Location loc, Value i) {
                                   return loadF32(b, loc, x, {t, i});
                                 },
                                 [&](OpBuilder &b, Location loc, Value i) {
                                   return loadWeightF32(b, loc, w, scales, {o, i});
                                 });
                             memref::StoreOp::create(b, loc, sum, y, ValueRange{t, o});
                           });
    rewriter.eraseOp(op);
    return success();
  }

private:
  MatmulLoops loops;
};

/// One thread per token: the mean square, then the scaled row.
struct LowerRmsNorm : OpConversionPattern<RmsNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(RmsNormOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getX(), w = adaptor.getWeight(), y = adaptor.getOut();
    Value tokens = dimOf(rewriter, loc, x, 0), width = dimOf(rewriter, loc, x, 1);
    double eps = op.getEps().convertToDouble(), scale = op.getScale().convertToDouble();
    buildParallelNest(rewriter, loc, tokens, [&](OpBuilder &b, Location loc, ValueRange ivs) {
      Value t = ivs[0];
      Value inverse = buildRmsInverse(b, loc, width, eps, [&](OpBuilder &b, Location loc, Value d) {
        return loadF32(b, loc, x, {t, d});
      });
      buildSequentialLoop(b, loc, width, {}, [&](OpBuilder &b, Location loc, Value d, ValueRange) {
        Value value = buildRmsNormed(b, loc, loadF32(b, loc, x, {t, d}), inverse, w, d, scale);
        memref::StoreOp::create(b, loc, value, y, ValueRange{t, d});
        return SmallVector<Value>{};
      });
    });
    rewriter.eraseOp(op);
    return success();
  }
};

struct LowerSiluMul : OpConversionPattern<SiluMulOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(SiluMulOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value g = adaptor.getGate(), u = adaptor.getUp(), h = adaptor.getOut();
    buildParallelNest(rewriter, loc, {dimOf(rewriter, loc, g, 0), dimOf(rewriter, loc, g, 1)},
                      [&](OpBuilder &b, Location loc, ValueRange ivs) {
                        Value gate = memref::LoadOp::create(b, loc, g, ivs);
                        Value up = memref::LoadOp::create(b, loc, u, ivs);
                        Value product = arith::MulFOp::create(b, loc, buildSilu(b, loc, gate), up);
                        memref::StoreOp::create(b, loc, product, h, ivs);
                      });
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

/// memref.copy between buffers of the graph (e.g. ember_forward's fresh
/// residual stream) as a parallel loop, so that on the GPU it is a kernel
/// rather than a host memcpy of device memory.
struct LowerMemRefCopy : OpConversionPattern<memref::CopyOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(memref::CopyOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value source = adaptor.getSource(), target = adaptor.getTarget();
    auto type = dyn_cast<MemRefType>(source.getType());
    if (!type)
      return rewriter.notifyMatchFailure(op, "unranked memref");
    SmallVector<Value> extents;
    for (int64_t dim = 0; dim < type.getRank(); ++dim)
      extents.push_back(dimOf(rewriter, loc, source, dim));
    buildParallelNest(rewriter, loc, extents, [&](OpBuilder &b, Location loc, ValueRange ivs) {
      memref::StoreOp::create(b, loc, memref::LoadOp::create(b, loc, source, ivs), target, ivs);
    });
    rewriter.eraseOp(op);
    return success();
  }
};

Value mlir::ember::buildRmsInverse(OpBuilder &b, Location loc, Value width, double eps,
                                   function_ref<Value(OpBuilder &, Location, Value)> x) {
  Value sumSquares = buildDotProduct(b, loc, width, f32Constant(b, loc, 0.0), x, x);
  return buildRmsInverseFromSum(b, loc, sumSquares, width, eps);
}

Value mlir::ember::buildRmsInverseFromSum(OpBuilder &b, Location loc, Value sumSquares, Value width, double eps) {
  Value count = arith::SIToFPOp::create(
      b, loc, b.getF32Type(), arith::IndexCastOp::create(b, loc, b.getI64Type(), width));
  Value meanSquare = arith::DivFOp::create(b, loc, sumSquares, count);
  Value root = math::SqrtOp::create(
      b, loc, arith::AddFOp::create(b, loc, meanSquare, f32Constant(b, loc, eps)));
  return arith::DivFOp::create(b, loc, f32Constant(b, loc, 1.0), root);
}

Value mlir::ember::buildRmsNormed(OpBuilder &b, Location loc, Value x, Value inverse, Value weight,
                                  Value i, double scale) {
  Value normed = arith::MulFOp::create(b, loc, x, inverse);
  Value value = arith::MulFOp::create(b, loc, normed, loadF32(b, loc, weight, {i}));
  if (scale != 1.0)
    value = arith::MulFOp::create(b, loc, value, f32Constant(b, loc, scale));
  return value;
}

void mlir::ember::populateDenseLoweringPatterns(RewritePatternSet &patterns, const MatmulLoops &matmulLoops) {
  patterns.add<LowerLinear>(patterns.getContext(), matmulLoops);
  patterns.add<LowerRmsNorm, LowerSiluMul, LowerMemRefCopy>(patterns.getContext());
}
