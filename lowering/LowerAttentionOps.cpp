//===- LowerAttentionOps.cpp - RoPE and latent attention to scf.parallel ---===//
#include "dialects/Ember/EmberDialect.h"
#include "lowering/LoopBuilders.h"
#include "lowering/RowTiledDots.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::ember;

namespace {

/// One thread per rotary row (all dims but the last); the pairs are unrolled
/// so each inverse frequency is a constant (no table in memory).
struct LowerRope : OpConversionPattern<RopeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(RopeOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getX(), y = adaptor.getOut();
    int64_t rank = cast<MemRefType>(x.getType()).getRank();
    SmallVector<Value> rows;
    for (int64_t dim = 0; dim + 1 < rank; ++dim)
      rows.push_back(dimOf(rewriter, loc, x, dim));
    ArrayRef<float> inverseFrequencies = op.getInvFreq();
    double scale = op.getScale().convertToDouble();
    buildParallelNest(rewriter, loc, rows, [&](OpBuilder &b, Location loc, ValueRange ivs) {
      Value position = loadIndex(b, loc, adaptor.getPositions(), ivs[0]);
      Value positionF32 = arith::UIToFPOp::create(
          b, loc, b.getF32Type(), arith::IndexCastUIOp::create(b, loc, b.getI64Type(), position));
      for (auto [pair, inverse] : llvm::enumerate(inverseFrequencies)) {
        Value angle = arith::MulFOp::create(b, loc, positionF32, f32Constant(b, loc, inverse));
        Value cos = math::CosOp::create(b, loc, angle), sin = math::SinOp::create(b, loc, angle);
        if (scale != 1.0) {
          cos = arith::MulFOp::create(b, loc, cos, f32Constant(b, loc, scale));
          sin = arith::MulFOp::create(b, loc, sin, f32Constant(b, loc, scale));
        }
        SmallVector<Value> evenIndex(ivs), oddIndex(ivs);
        evenIndex.push_back(indexConstant(b, loc, 2 * pair));
        oddIndex.push_back(indexConstant(b, loc, 2 * pair + 1));
        Value even = memref::LoadOp::create(b, loc, x, evenIndex);
        Value odd = memref::LoadOp::create(b, loc, x, oddIndex);
        Value rotatedEven = arith::SubFOp::create(b, loc, arith::MulFOp::create(b, loc, even, cos),
                                                  arith::MulFOp::create(b, loc, odd, sin));
        Value rotatedOdd = arith::AddFOp::create(b, loc, arith::MulFOp::create(b, loc, odd, cos),
                                                 arith::MulFOp::create(b, loc, even, sin));
        memref::StoreOp::create(b, loc, rotatedEven, y, evenIndex);
        memref::StoreOp::create(b, loc, rotatedOdd, y, oddIndex);
      }
    });
    rewriter.eraseOp(op);
    return success();
  }
};

/// Row of kv_b where head h's block starts: h * (rows / heads).
Value headBlockStart(OpBuilder &b, Location loc, Value kvB, Value heads, Value head) {
  Value perHead = arith::DivUIOp::create(b, loc, dimOf(b, loc, kvB, 0), heads);
  return arith::MulIOp::create(b, loc, head, perHead);
}

/// One thread per (token, head, latent column): kv_b is read down a column.
/// Where `loops` asks for SIMD and the latent width is a multiple of its
/// lanes, one per (token, head, lanes latent columns) instead: q[n] times
/// kv_b's contiguous row segment, accumulated over n in order.
struct LowerMlaAbsorb : OpConversionPattern<MlaAbsorbOp> {
  LowerMlaAbsorb(MLIRContext *context, const MatmulLoops &loops) : OpConversionPattern(context), loops(loops) {}
  LogicalResult matchAndRewrite(MlaAbsorbOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value q = adaptor.getQNope(), kvB = adaptor.getKvB(), out = adaptor.getOut();
    BlockScales scales = BlockScales::of(adaptor.getKvBScale(), op.getWeightBlock());
    Value heads = dimOf(rewriter, loc, q, 1), nope = dimOf(rewriter, loc, q, 2);
    int64_t latent = cast<MemRefType>(out.getType()).getDimSize(2), lanes = loops.vectorLanes;
    if (lanes > 0 && !ShapedType::isDynamic(latent) && latent % lanes == 0 && hasContiguousRows(kvB) &&
        hasContiguousRows(out) && scalesFitLanes(scales, lanes)) {
      auto vectorType = VectorType::get({lanes}, rewriter.getF32Type());
      buildParallelNest(
          rewriter, loc, {dimOf(rewriter, loc, out, 0), heads, indexConstant(rewriter, loc, latent / lanes)},
          [&](OpBuilder &b, Location loc, ValueRange ivs) {
            Value t = ivs[0], h = ivs[1];
            Value c0 = arith::MulIOp::create(b, loc, ivs[2], indexConstant(b, loc, lanes));
            Value base = headBlockStart(b, loc, kvB, heads, h);
            Value zeros = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(vectorType, 0.0f));
            Value sum =
                buildSequentialLoop(b, loc, nope, zeros, [&](OpBuilder &b, Location loc, Value n, ValueRange acc) {
                  Value row = arith::AddIOp::create(b, loc, base, n);
                  Value weights = loadWeightVectorF32(b, loc, kvB, scales, ValueRange{row, c0}, lanes);
                  Value scalar = vector::BroadcastOp::create(b, loc, vectorType, loadF32(b, loc, q, {t, h, n}));
                  return SmallVector<Value>{vector::FMAOp::create(b, loc, scalar, weights, acc[0])};
                })[0];
            vector::StoreOp::create(b, loc, sum, out, ValueRange{t, h, c0});
          });
      rewriter.eraseOp(op);
      return success();
    }
    buildParallelNest(
        rewriter, loc, {dimOf(rewriter, loc, out, 0), heads, dimOf(rewriter, loc, out, 2)},
        [&](OpBuilder &b, Location loc, ValueRange ivs) {
          Value t = ivs[0], h = ivs[1], c = ivs[2];
          Value base = headBlockStart(b, loc, kvB, heads, h);
          Value sum = buildDotProduct(
              b, loc, nope, f32Constant(b, loc, 0.0),
              [&](OpBuilder &b, Location loc, Value n) {
                return loadF32(b, loc, q, {t, h, n});
              },
              [&](OpBuilder &b, Location loc, Value n) {
                return loadWeightF32(b, loc, kvB, scales, {arith::AddIOp::create(b, loc, base, n), c});
              });
          memref::StoreOp::create(b, loc, sum, out, ivs);
        });
    rewriter.eraseOp(op);
    return success();
  }

  MatmulLoops loops;
};

/// One thread per (token, head): the score maximum, then exp-weighted latent
/// rows accumulated straight into the output row, then the normalisation.
struct LowerMlaAttention : OpConversionPattern<MlaAttentionOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(MlaAttentionOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value qLat = adaptor.getQLat(), qRope = adaptor.getQRope(), cache = adaptor.getCache();
    Value out = adaptor.getOut();
    Value latent = dimOf(rewriter, loc, qLat, 2), rope = dimOf(rewriter, loc, qRope, 2);
    double scale = op.getScale().convertToDouble();
    buildParallelNest(
        rewriter, loc, {dimOf(rewriter, loc, qLat, 0), dimOf(rewriter, loc, qLat, 1)},
        [&](OpBuilder &b, Location loc, ValueRange ivs) {
          Value t = ivs[0], h = ivs[1];
          Value slot = loadIndex(b, loc, adaptor.getSlots(), t);
          Value position = loadIndex(b, loc, adaptor.getPositions(), t);
          Value visible = arith::AddIOp::create(b, loc, position, indexConstant(b, loc, 1));
          auto score = [&](OpBuilder &b, Location loc, Value s) {
            Value dot = buildDotProduct(
                b, loc, latent, f32Constant(b, loc, 0.0),
                [&](OpBuilder &b, Location loc, Value c) { return loadF32(b, loc, qLat, {t, h, c}); },
                [&](OpBuilder &b, Location loc, Value c) { return loadF32(b, loc, cache, {slot, s, c}); });
            dot = buildDotProduct(
                b, loc, rope, dot,
                [&](OpBuilder &b, Location loc, Value r) { return loadF32(b, loc, qRope, {t, h, r}); },
                [&](OpBuilder &b, Location loc, Value r) {
                  return loadF32(b, loc, cache, {slot, s, arith::AddIOp::create(b, loc, latent, r)});
                });
            return arith::MulFOp::create(b, loc, dot, f32Constant(b, loc, scale)).getResult();
          };
          auto forEachLatent = [&](OpBuilder &b, Location loc,
                                   function_ref<Value(OpBuilder &, Location, Value, Value)> update) {
            buildSequentialLoop(b, loc, latent, {}, [&](OpBuilder &b, Location loc, Value c, ValueRange) {
              Value old = memref::LoadOp::create(b, loc, out, ValueRange{t, h, c});
              memref::StoreOp::create(b, loc, update(b, loc, c, old), out, ValueRange{t, h, c});
              return SmallVector<Value>{};
            });
          };

          Value lowest = f32Constant(b, loc, -std::numeric_limits<float>::infinity());
          Value maximum = buildSequentialLoop(
              b, loc, visible, lowest, [&](OpBuilder &b, Location loc, Value s, ValueRange acc) {
                return SmallVector<Value>{arith::MaximumFOp::create(b, loc, acc[0], score(b, loc, s))};
              })[0];
          forEachLatent(b, loc, [&](OpBuilder &b, Location loc, Value, Value) {
            return f32Constant(b, loc, 0.0);
          });
          Value total = buildSequentialLoop(
              b, loc, visible, f32Constant(b, loc, 0.0),
              [&](OpBuilder &b, Location loc, Value s, ValueRange acc) {
                Value weight = math::ExpOp::create(
                    b, loc, arith::SubFOp::create(b, loc, score(b, loc, s), maximum));
                forEachLatent(b, loc, [&](OpBuilder &b, Location loc, Value c, Value old) {
                  Value row = loadF32(b, loc, cache, {slot, s, c});
                  return arith::AddFOp::create(b, loc, old, arith::MulFOp::create(b, loc, weight, row));
                });
                return SmallVector<Value>{arith::AddFOp::create(b, loc, acc[0], weight)};
              })[0];
          forEachLatent(b, loc, [&](OpBuilder &b, Location loc, Value, Value old) {
            return arith::DivFOp::create(b, loc, old, total);
          });
        });
    rewriter.eraseOp(op);
    return success();
  }
};

/// One thread per (token, head, value column): a dot product along kv_b's
/// contiguous latent dimension (a SIMD one where `loops` asks for it).
struct LowerMlaUpValue : OpConversionPattern<MlaUpValueOp> {
  LowerMlaUpValue(MLIRContext *context, const MatmulLoops &loops) : OpConversionPattern(context), loops(loops) {}
  LogicalResult matchAndRewrite(MlaUpValueOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value oLat = adaptor.getOLat(), kvB = adaptor.getKvB(), out = adaptor.getOut();
    Value heads = dimOf(rewriter, loc, out, 1), values = dimOf(rewriter, loc, out, 2);
    Value latent = dimOf(rewriter, loc, oLat, 2);
    BlockScales scales = BlockScales::of(adaptor.getKvBScale(), op.getWeightBlock());
    bool vectorDots = useRowTiledDots(loops, oLat, kvB, scales);
    buildParallelNest(
        rewriter, loc, {dimOf(rewriter, loc, out, 0), heads, values},
        [&](OpBuilder &b, Location loc, ValueRange ivs) {
          Value t = ivs[0], h = ivs[1], v = ivs[2];
          Value blockEnd = headBlockStart(b, loc, kvB, heads,
                                          arith::AddIOp::create(b, loc, h, indexConstant(b, loc, 1)));
          // The value rows are the last Dv rows of head h's block.
          Value row = arith::AddIOp::create(b, loc, arith::SubIOp::create(b, loc, blockEnd, values), v);
          Value sum = vectorDots ? buildTiledDots(b, loc, {MemRefRow{oLat, {t, h}}}, {MemRefRow{kvB, {row}, scales}},
                                                  latent, loops.vectorLanes)[0]
                                 : buildDotProduct(
                                       b, loc, latent, f32Constant(b, loc, 0.0),
                                       [&](OpBuilder &b, Location loc, Value c) {
                                         return loadF32(b, loc, oLat, {t, h, c});
                                       },
                                       [&](OpBuilder &b, Location loc, Value c) {
                                         return loadWeightF32(b, loc, kvB, scales, {row, c});
                                       });
          memref::StoreOp::create(b, loc, sum, out, ivs);
        });
    rewriter.eraseOp(op);
    return success();
  }

  MatmulLoops loops;
};

} // namespace

void mlir::ember::populateAttentionLoweringPatterns(RewritePatternSet &patterns, const MatmulLoops &matmulLoops) {
  patterns.add<LowerRope, LowerMlaAttention>(patterns.getContext());
  patterns.add<LowerMlaAbsorb, LowerMlaUpValue>(patterns.getContext(), matmulLoops);
}
