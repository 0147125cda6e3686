//===- LowerMoeOps.cpp - moe ops to scf.parallel nests ------------------===//
//
// Reference lowerings of the MoE ops: one thread per output element (per
// token for the router, per expert for dispatch), no scratch memory. They
// are correct for any T and meant to be replaced by fused kernels. Dispatch
// is a counting sort over the R + 1 keys, O(R T k) work in one kernel
// (buildExpertGrouping, shared with the fused moe_group).
//
// Expert ids are compared as unsigned, so any id >= R (also a negative i32)
// is a zero expert and never indexes the expert weights.
//
//===----------------------------------------------------------------------===//
#include "dialects/Ember/EmberDialect.h"
#include "lowering/LoopBuilders.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <limits>

using namespace mlir;
using namespace mlir::ember;

namespace {

using arith::CmpFPredicate;
using arith::CmpIPredicate;

Value loadIndex(OpBuilder &b, Location loc, Value memref, ValueRange indices) {
  Value value = memref::LoadOp::create(b, loc, memref, indices);
  return arith::IndexCastUIOp::create(b, loc, b.getIndexType(), value);
}

/// The (token, choice) of assignment `a` = t * k + j.
std::pair<Value, Value> splitAssignment(OpBuilder &b, Location loc, Value a, Value k) {
  return {arith::DivUIOp::create(b, loc, a, k), arith::RemUIOp::create(b, loc, a, k)};
}

/// The token and expert (as index) of sorted row `p`: a = order[p].
struct RoutedRow {
  Value assignment, token, expert;
};
RoutedRow loadRoutedRow(OpBuilder &b, Location loc, Value order, Value experts, Value k, Value p) {
  Value a = loadIndex(b, loc, order, p);
  auto [t, j] = splitAssignment(b, loc, a, k);
  return {a, t, loadIndex(b, loc, experts, ValueRange{t, j})};
}

/// One token per iteration; the per-token body is buildRouterTopk, which
/// fused_router shares.
struct LowerRouterTopk : OpConversionPattern<RouterTopkOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(RouterTopkOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value logits = adaptor.getLogits();
    Value tokens = dimOf(rewriter, loc, logits, 0);
    Value numExperts = dimOf(rewriter, loc, logits, 1);
    Value k = dimOf(rewriter, loc, adaptor.getExperts(), 1);
    buildParallelNest(rewriter, loc, tokens, [&](OpBuilder &b, Location loc, ValueRange ivs) {
      Value t = ivs[0];
      buildRouterTopk(
          b, loc, t, numExperts, k,
          [&](OpBuilder &b, Location loc, Value e) {
            return memref::LoadOp::create(b, loc, logits, ValueRange{t, e}).getResult();
          },
          adaptor.getBias(), adaptor.getExperts(), adaptor.getWeights(),
          op.getScalingAttr().getValueAsDouble());
    });
    rewriter.eraseOp(op);
    return success();
  }
};

/// The counting sort of buildExpertGrouping, without the inverse.
struct LowerMoeDispatch : OpConversionPattern<MoeDispatchOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(MoeDispatchOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    buildExpertGrouping(rewriter, op.getLoc(), adaptor.getExperts(), op.getNRouted(),
                        adaptor.getOrder(), Value());
    rewriter.eraseOp(op);
    return success();
  }
};

/// One iteration per (sorted row, hidden unit): two dot products over D for
/// real experts, then SwiGLU; zero-expert rows are skipped.
struct LowerExpertGateUp : OpConversionPattern<ExpertGateUpOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ExpertGateUpOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getX(), gate = adaptor.getGate(), up = adaptor.getUp();
    Value h = adaptor.getH();
    Value rows = dimOf(rewriter, loc, h, 0), hidden = dimOf(rewriter, loc, h, 1);
    Value width = dimOf(rewriter, loc, x, 1);
    Value k = dimOf(rewriter, loc, adaptor.getExperts(), 1);
    Value numRouted = dimOf(rewriter, loc, gate, 0);
    buildParallelNest(
        rewriter, loc, ValueRange{rows, hidden}, [&](OpBuilder &b, Location loc, ValueRange ivs) {
          Value p = ivs[0], f = ivs[1];
          RoutedRow row = loadRoutedRow(b, loc, adaptor.getOrder(), adaptor.getExperts(), k, p);
          Value real = arith::CmpIOp::create(b, loc, CmpIPredicate::ult, row.expert, numRouted);
          scf::IfOp::create(b, loc, real, [&](OpBuilder &b, Location loc) {
            auto input = [&](OpBuilder &b, Location loc, Value d) {
              return memref::LoadOp::create(b, loc, x, ValueRange{row.token, d}).getResult();
            };
            auto projection = [&](Value weights) {
              return buildDotProduct(
                  b, loc, width, f32Constant(b, loc, 0.0),
                  [&](OpBuilder &b, Location loc, Value d) {
                    return loadF32(b, loc, weights, ValueRange{row.expert, f, d});
                  },
                  input);
            };
            Value g = projection(gate), u = projection(up);
            Value value = arith::MulFOp::create(b, loc, buildSilu(b, loc, g), u);
            memref::StoreOp::create(b, loc, value, h, ValueRange{p, f});
            scf::YieldOp::create(b, loc);
          });
        });
    rewriter.eraseOp(op);
    return success();
  }
};

/// One iteration per (sorted row, output unit): a dot product over F for
/// real experts, stored at the row's assignment.
struct LowerExpertDown : OpConversionPattern<ExpertDownOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ExpertDownOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value h = adaptor.getH(), down = adaptor.getDown(), y = adaptor.getY();
    Value rows = dimOf(rewriter, loc, h, 0), width = dimOf(rewriter, loc, h, 1);
    Value hidden = dimOf(rewriter, loc, y, 1);
    Value k = dimOf(rewriter, loc, adaptor.getExperts(), 1);
    Value numRouted = dimOf(rewriter, loc, down, 0);
    buildParallelNest(
        rewriter, loc, ValueRange{rows, hidden}, [&](OpBuilder &b, Location loc, ValueRange ivs) {
          Value p = ivs[0], d = ivs[1];
          RoutedRow row = loadRoutedRow(b, loc, adaptor.getOrder(), adaptor.getExperts(), k, p);
          Value real = arith::CmpIOp::create(b, loc, CmpIPredicate::ult, row.expert, numRouted);
          scf::IfOp::create(b, loc, real, [&](OpBuilder &b, Location loc) {
            Value value = buildExpertDownDot(b, loc, down, h, row.expert, d, p, width);
            memref::StoreOp::create(b, loc, value, y, ValueRange{row.assignment, d});
            scf::YieldOp::create(b, loc);
          });
        });
    rewriter.eraseOp(op);
    return success();
  }
};

/// buildMoeCombine reading the expert outputs from y.
struct LowerMoeCombine : OpConversionPattern<MoeCombineOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(MoeCombineOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Value y = adaptor.getY();
    buildMoeCombine(rewriter, op.getLoc(), op.getNRouted(), adaptor.getX(), adaptor.getExperts(),
                    adaptor.getWeights(), adaptor.getOut(),
                    [&](OpBuilder &b, Location loc, Value assignment, Value d, Value) {
                      return memref::LoadOp::create(b, loc, y, ValueRange{assignment, d})
                          .getResult();
                    });
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

/// The max and the sum of the softmax are sequential loops; the k rounds
/// are an argmax over the experts that come strictly after the previous
/// choice in (score descending, index ascending) order, so no scratch memory
/// is needed.
void mlir::ember::buildRouterTopk(OpBuilder &b, Location loc, Value t, Value numExperts, Value k,
                                  function_ref<Value(OpBuilder &, Location, Value)> logit,
                                  Value bias, Value experts, Value weights, double scalingValue) {
  float inf = std::numeric_limits<float>::infinity();
  Value posInf = f32Constant(b, loc, inf), negInf = f32Constant(b, loc, -inf);
  Value noIndex = indexConstant(b, loc, -1);
  Value max = buildSequentialLoop(
      b, loc, numExperts, negInf, [&](OpBuilder &b, Location loc, Value e, ValueRange acc) {
        return SmallVector<Value>{arith::MaximumFOp::create(b, loc, acc[0], logit(b, loc, e))};
      })[0];
  auto shiftedExp = [&](OpBuilder &b, Location loc, Value e) {
    return math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, logit(b, loc, e), max))
        .getResult();
  };
  Value sum = buildSequentialLoop(
      b, loc, numExperts, f32Constant(b, loc, 0.0),
      [&](OpBuilder &b, Location loc, Value e, ValueRange acc) {
        return SmallVector<Value>{arith::AddFOp::create(b, loc, acc[0], shiftedExp(b, loc, e))};
      })[0];
  Value scaling = f32Constant(b, loc, scalingValue);

  // Round j: carries the previous choice's (score, index).
  buildSequentialLoop(
      b, loc, k, ValueRange{posInf, noIndex},
      [&](OpBuilder &b, Location loc, Value j, ValueRange prev) {
        // (best score, best index, best probability) among the candidates.
        ValueRange best = buildSequentialLoop(
            b, loc, numExperts, ValueRange{negInf, noIndex, f32Constant(b, loc, 0.0)},
            [&](OpBuilder &b, Location loc, Value e, ValueRange acc) {
              Value p = arith::DivFOp::create(b, loc, shiftedExp(b, loc, e), sum);
              Value biasE = memref::LoadOp::create(b, loc, bias, e);
              Value score = arith::AddFOp::create(b, loc, p, biasE);
              Value lower = arith::CmpFOp::create(b, loc, CmpFPredicate::OLT, score, prev[0]);
              Value tie = arith::AndIOp::create(
                  b, loc, arith::CmpFOp::create(b, loc, CmpFPredicate::OEQ, score, prev[0]),
                  arith::CmpIOp::create(b, loc, CmpIPredicate::sgt, e, prev[1]));
              Value candidate = arith::OrIOp::create(b, loc, lower, tie);
              // Strictly greater keeps the lower index among equal scores.
              Value better = arith::OrIOp::create(
                  b, loc, arith::CmpFOp::create(b, loc, CmpFPredicate::OGT, score, acc[0]),
                  arith::CmpIOp::create(b, loc, CmpIPredicate::slt, acc[1],
                                        indexConstant(b, loc, 0)));
              Value take = arith::AndIOp::create(b, loc, candidate, better);
              return SmallVector<Value>{arith::SelectOp::create(b, loc, take, score, acc[0]),
                                        arith::SelectOp::create(b, loc, take, e, acc[1]),
                                        arith::SelectOp::create(b, loc, take, p, acc[2])};
            });
        Value id = arith::IndexCastOp::create(b, loc, b.getI32Type(), best[1]);
        memref::StoreOp::create(b, loc, id, experts, ValueRange{t, j});
        Value weight = arith::MulFOp::create(b, loc, best[2], scaling);
        memref::StoreOp::create(b, loc, weight, weights, ValueRange{t, j});
        return SmallVector<Value>{best[0], best[1]};
      });
}

/// One iteration per (token, hidden unit): the weighted sum over the k
/// choices in order, zero experts reading x, then one add into out.
void mlir::ember::buildMoeCombine(OpBuilder &b, Location loc, int64_t numRoutedValue, Value x,
                                  Value experts, Value weights, Value out,
                                  MoeRoutedOutput routedOutput) {
  Value tokens = dimOf(b, loc, out, 0), hidden = dimOf(b, loc, out, 1);
  Value k = dimOf(b, loc, experts, 1);
  Value numRouted = indexConstant(b, loc, numRoutedValue);
  buildParallelNest(b, loc, ValueRange{tokens, hidden}, [&](OpBuilder &b, Location loc,
                                                            ValueRange ivs) {
    Value t = ivs[0], d = ivs[1];
    Value input = memref::LoadOp::create(b, loc, x, ValueRange{t, d});
    Value rowBase = arith::MulIOp::create(b, loc, t, k);
    Value sum = buildSequentialLoop(
        b, loc, k, f32Constant(b, loc, 0.0),
        [&](OpBuilder &b, Location loc, Value j, ValueRange acc) {
          Value expert = loadIndex(b, loc, experts, ValueRange{t, j});
          Value zeroExpert = arith::CmpIOp::create(b, loc, CmpIPredicate::uge, expert, numRouted);
          auto pick = scf::IfOp::create(
              b, loc, zeroExpert,
              [&](OpBuilder &b, Location loc) { scf::YieldOp::create(b, loc, input); },
              [&](OpBuilder &b, Location loc) {
                Value assignment = arith::AddIOp::create(b, loc, rowBase, j);
                scf::YieldOp::create(b, loc, routedOutput(b, loc, assignment, d, expert));
              });
          Value weight = memref::LoadOp::create(b, loc, weights, ValueRange{t, j});
          Value term = arith::MulFOp::create(b, loc, weight, pick.getResult(0));
          return SmallVector<Value>{arith::AddFOp::create(b, loc, acc[0], term)};
        })[0];
    Value residual = memref::LoadOp::create(b, loc, out, ValueRange{t, d});
    memref::StoreOp::create(b, loc, arith::AddFOp::create(b, loc, residual, sum), out,
                            ValueRange{t, d});
  });
}

/// A stable counting sort whose parallel dimension is the key: thread e of
/// R + 1 counts the assignments with a smaller key (its group's offset),
/// then writes its own in ascending order. O(R T k) work, no scratch memory
/// and no atomics; each thread reads all T k choices, which the cache serves.
void mlir::ember::buildExpertGrouping(OpBuilder &b, Location loc, Value experts, int64_t numRouted,
                                      Value order, Value rows) {
  Value count = dimOf(b, loc, order, 0);
  Value k = dimOf(b, loc, experts, 1);
  Value keys = indexConstant(b, loc, numRouted + 1);
  buildParallelNest(b, loc, keys, [&](OpBuilder &b, Location loc, ValueRange ivs) {
    Value group = arith::IndexCastUIOp::create(b, loc, b.getI32Type(), ivs[0]);
    Value routed = arith::ConstantIntOp::create(b, loc, b.getI32Type(), numRouted);
    auto key = [&](OpBuilder &b, Location loc, Value assignment) {
      auto [t, j] = splitAssignment(b, loc, assignment, k);
      Value expert = memref::LoadOp::create(b, loc, experts, ValueRange{t, j});
      return arith::MinUIOp::create(b, loc, expert, routed).getResult();
    };
    Value one = indexConstant(b, loc, 1), zero = indexConstant(b, loc, 0);
    Value offset = buildSequentialLoop(
        b, loc, count, zero, [&](OpBuilder &b, Location loc, Value a, ValueRange acc) {
          Value before = arith::CmpIOp::create(b, loc, CmpIPredicate::ult, key(b, loc, a), group);
          Value step = arith::SelectOp::create(b, loc, before, one, zero);
          return SmallVector<Value>{arith::AddIOp::create(b, loc, acc[0], step)};
        })[0];
    buildSequentialLoop(
        b, loc, count, offset, [&](OpBuilder &b, Location loc, Value a, ValueRange acc) {
          Value row = acc[0];
          Value mine = arith::CmpIOp::create(b, loc, CmpIPredicate::eq, key(b, loc, a), group);
          auto place = scf::IfOp::create(
              b, loc, mine,
              [&](OpBuilder &b, Location loc) {
                auto toI32 = [&](Value index) {
                  return arith::IndexCastUIOp::create(b, loc, b.getI32Type(), index);
                };
                memref::StoreOp::create(b, loc, toI32(a), order, row);
                if (rows)
                  memref::StoreOp::create(b, loc, toI32(row), rows, a);
                scf::YieldOp::create(b, loc, ValueRange{arith::AddIOp::create(b, loc, row, one)});
              },
              [&](OpBuilder &b, Location loc) { scf::YieldOp::create(b, loc, row); });
          return SmallVector<Value>{place.getResult(0)};
        });
  });
}

void mlir::ember::populateMoeLoweringPatterns(RewritePatternSet &patterns) {
  patterns.add<LowerRouterTopk, LowerMoeDispatch, LowerExpertGateUp, LowerExpertDown,
               LowerMoeCombine>(patterns.getContext());
}
