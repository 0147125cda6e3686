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
#include "lowering/RowTiledDots.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <limits>

using namespace mlir;
using namespace mlir::ember;

namespace {

using arith::CmpFPredicate;
using arith::CmpIPredicate;

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

/// The counting sort of buildExpertGrouping.
struct LowerMoeDispatch : OpConversionPattern<MoeDispatchOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(MoeDispatchOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    buildExpertGrouping(rewriter, op.getLoc(), adaptor.getExperts(), op.getNRouted(),
                        adaptor.getOrder());
    rewriter.eraseOp(op);
    return success();
  }
};

/// One iteration per (tile of W = rows_per_tile rows, hidden unit). The
/// tile's expert is its first row's; each of its computed rows (real
/// assignments of that expert) runs the same loop over D on its own, so a
/// row's result, and the tokens, never depend on which other rows (of this
/// sequence or of others batched with it) its expert got this step. The
/// GPU kernel shares each weight read between the tile's rows instead.
struct LowerExpertGateUp : OpConversionPattern<ExpertGateUpOp> {
  LowerExpertGateUp(MLIRContext *context, const MatmulLoops &loops) : OpConversionPattern(context), loops(loops) {}
  LogicalResult matchAndRewrite(ExpertGateUpOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getX(), gate = adaptor.getGate(), up = adaptor.getUp();
    Value order = adaptor.getOrder(), experts = adaptor.getExperts(), h = adaptor.getH();
    int64_t tile = op.getRowsPerTile();
    Value rows = dimOf(rewriter, loc, h, 0), hidden = dimOf(rewriter, loc, h, 1);
    Value width = dimOf(rewriter, loc, x, 1);
    Value k = dimOf(rewriter, loc, experts, 1);
    Value assignments = arith::MulIOp::create(rewriter, loc, dimOf(rewriter, loc, experts, 0), k);
    Value numRouted = dimOf(rewriter, loc, gate, 0);
    Value tiles =
        arith::CeilDivUIOp::create(rewriter, loc, rows, indexConstant(rewriter, loc, tile));

    // h[row, f] = SwiGLU of x[token] by `expert`, one pass over D.
    BlockScales gateScales = BlockScales::of(adaptor.getGateScale(), op.getWeightBlock()),
                upScales = BlockScales::of(adaptor.getUpScale(), op.getWeightBlock());
    bool vectorDots = useRowTiledDots(loops, x, {gate, up}, {gateScales, upScales});
    auto computeRow = [&](OpBuilder &b, Location loc, Value expert, Value f, Value token, Value row) {
      SmallVector<Value> sums;
      if (vectorDots) {
        sums = buildTiledDots(b, loc, {MemRefRow{x, {token}}},
                              {MemRefRow{gate, {expert, f}, gateScales}, MemRefRow{up, {expert, f}, upScales}}, width,
                              loops.vectorLanes);
      } else {
        auto fastmath = reductionFastMath(b.getContext());
        SmallVector<Value> zeros(2, f32Constant(b, loc, 0.0));
        sums = llvm::to_vector(
            buildSequentialLoop(b, loc, width, zeros, [&](OpBuilder &b, Location loc, Value d, ValueRange acc) {
              Value g = loadWeightF32(b, loc, gate, gateScales, ValueRange{expert, f, d});
              Value u = loadWeightF32(b, loc, up, upScales, ValueRange{expert, f, d});
              Value input = memref::LoadOp::create(b, loc, x, ValueRange{token, d});
              SmallVector<Value> next;
              for (auto [weight, sum] : {std::pair{g, acc[0]}, std::pair{u, acc[1]}})
                next.push_back(arith::AddFOp::create(b, loc, sum,
                                                     arith::MulFOp::create(b, loc, weight, input, fastmath), fastmath));
              return next;
            }));
      }
      Value value = arith::MulFOp::create(b, loc, buildSilu(b, loc, sums[0]), sums[1]);
      memref::StoreOp::create(b, loc, value, h, ValueRange{row, f});
    };

    ExpertTileOperands tileOperands{order, experts, rows, assignments, k, numRouted, tile};
    buildParallelNest(rewriter, loc, ValueRange{tiles, hidden}, [&](OpBuilder &b, Location loc,
                                                                     ValueRange ivs) {
      Value base = arith::MulIOp::create(b, loc, ivs[0], indexConstant(b, loc, tile));
      Value f = ivs[1];
      buildExpertTile(b, loc, tileOperands, base, [&](OpBuilder &b, Location loc, const ExpertTile &tileRows) {
        for (const ExpertTileRow &row : tileRows.rows)
          scf::IfOp::create(b, loc, row.computed, [&](OpBuilder &b, Location loc) {
            computeRow(b, loc, tileRows.expert, f, row.token, row.row);
            scf::YieldOp::create(b, loc);
          });
      });
    });
    rewriter.eraseOp(op);
    return success();
  }

  MatmulLoops loops;
};

/// One iteration per (sorted row, output unit): a dot product over F for
/// real experts, stored at the row's assignment.
struct LowerExpertDown : OpConversionPattern<ExpertDownOp> {
  LowerExpertDown(MLIRContext *context, const MatmulLoops &loops) : OpConversionPattern(context), loops(loops) {}
  LogicalResult matchAndRewrite(ExpertDownOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value h = adaptor.getH(), down = adaptor.getDown(), y = adaptor.getY();
    BlockScales scales = BlockScales::of(adaptor.getDownScale(), op.getWeightBlock());
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
            Value value = buildExpertDownDot(b, loc, loops, down, scales, h, row.expert, d, p, width);
            memref::StoreOp::create(b, loc, value, y, ValueRange{row.assignment, d});
            scf::YieldOp::create(b, loc);
          });
        });
    rewriter.eraseOp(op);
    return success();
  }

  MatmulLoops loops;
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

ExpertTileRow mlir::ember::buildExpertTileRow(OpBuilder &b, Location loc, const ExpertTileOperands &operands,
                                              const ExpertTile &tile, Value p) {
  Value inRange = arith::CmpIOp::create(b, loc, CmpIPredicate::ult, p, operands.rows);
  Value clamped = arith::SelectOp::create(b, loc, inRange, p, tile.base);
  Value a = loadIndex(b, loc, operands.order, clamped);
  Value ok = arith::AndIOp::create(b, loc, inRange,
                                   arith::CmpIOp::create(b, loc, CmpIPredicate::ult, a, operands.assignments));
  auto [t, j] = splitAssignment(b, loc, arith::SelectOp::create(b, loc, ok, a, tile.first), operands.k);
  Value rowExpert = loadIndex(b, loc, operands.experts, ValueRange{t, j});
  Value same = arith::CmpIOp::create(b, loc, CmpIPredicate::eq, rowExpert, tile.expert);
  Value computed = arith::AndIOp::create(b, loc, ok, same);
  return {computed, arith::SelectOp::create(b, loc, computed, t, tile.firstToken), p};
}

void mlir::ember::buildExpertTile(OpBuilder &b, Location loc, const ExpertTileOperands &operands, Value base,
                                  function_ref<void(OpBuilder &, Location, const ExpertTile &)> body) {
  Value first = loadIndex(b, loc, operands.order, base);
  Value isAssignment = arith::CmpIOp::create(b, loc, CmpIPredicate::ult, first, operands.assignments);
  scf::IfOp::create(b, loc, isAssignment, [&](OpBuilder &b, Location loc) {
    auto [t0, j0] = splitAssignment(b, loc, first, operands.k);
    Value expert = loadIndex(b, loc, operands.experts, ValueRange{t0, j0});
    Value real = arith::CmpIOp::create(b, loc, CmpIPredicate::ult, expert, operands.numRouted);
    scf::IfOp::create(b, loc, real, [&](OpBuilder &b, Location loc) {
      ExpertTile tile{base, first, expert, t0, {}};
      // The first row is computed by construction.
      tile.rows.push_back({arith::ConstantIntOp::create(b, loc, b.getI1Type(), 1), t0, base});
      for (int64_t r = 1; r < operands.rowsPerTile; ++r)
        tile.rows.push_back(buildExpertTileRow(b, loc, operands, tile,
                                               arith::AddIOp::create(b, loc, base, indexConstant(b, loc, r))));
      body(b, loc, tile);
      scf::YieldOp::create(b, loc);
    });
    scf::YieldOp::create(b, loc);
  });
}

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
void mlir::ember::buildMoeCombineElement(OpBuilder &b, Location loc, int64_t numRoutedValue, Value x, Value experts,
                                         Value weights, Value out, MoeRoutedOutput routedOutput, Value t, Value d) {
  Value k = dimOf(b, loc, experts, 1);
  Value numRouted = indexConstant(b, loc, numRoutedValue);
  Value input = memref::LoadOp::create(b, loc, x, ValueRange{t, d});
  Value rowBase = arith::MulIOp::create(b, loc, t, k);
  Value sum = buildSequentialLoop(
      b, loc, k, f32Constant(b, loc, 0.0), [&](OpBuilder &b, Location loc, Value j, ValueRange acc) {
        Value expert = loadIndex(b, loc, experts, ValueRange{t, j});
        Value zeroExpert = arith::CmpIOp::create(b, loc, CmpIPredicate::uge, expert, numRouted);
        auto pick = scf::IfOp::create(
            b, loc, zeroExpert, [&](OpBuilder &b, Location loc) { scf::YieldOp::create(b, loc, input); },
            [&](OpBuilder &b, Location loc) {
              Value assignment = arith::AddIOp::create(b, loc, rowBase, j);
              scf::YieldOp::create(b, loc, routedOutput(b, loc, assignment, d, expert));
            });
        Value weight = memref::LoadOp::create(b, loc, weights, ValueRange{t, j});
        Value term = arith::MulFOp::create(b, loc, weight, pick.getResult(0));
        return SmallVector<Value>{arith::AddFOp::create(b, loc, acc[0], term)};
      })[0];
  Value residual = memref::LoadOp::create(b, loc, out, ValueRange{t, d});
  memref::StoreOp::create(b, loc, arith::AddFOp::create(b, loc, residual, sum), out, ValueRange{t, d});
}

void mlir::ember::buildMoeCombine(OpBuilder &b, Location loc, int64_t numRouted, Value x, Value experts, Value weights,
                                  Value out, MoeRoutedOutput routedOutput) {
  Value tokens = dimOf(b, loc, out, 0), hidden = dimOf(b, loc, out, 1);
  buildParallelNest(b, loc, ValueRange{tokens, hidden}, [&](OpBuilder &b, Location loc, ValueRange ivs) {
    buildMoeCombineElement(b, loc, numRouted, x, experts, weights, out, routedOutput, ivs[0], ivs[1]);
  });
}

namespace {

/// The pieces of the counting sort over the T*k assignments of `experts`,
/// keyed by min(expert, R) (unsigned, so every id >= R is the zero group).
struct Grouping {
  Grouping(OpBuilder &b, Location loc, Value experts, int64_t numRouted)
      : experts(experts), numRouted(numRouted), k(dimOf(b, loc, experts, 1)),
        count(arith::MulIOp::create(b, loc, dimOf(b, loc, experts, 0), k)) {}

  Value experts;
  int64_t numRouted;
  Value k, count;

  /// key(a) as i32.
  Value key(OpBuilder &b, Location loc, Value assignment) const {
    auto [t, j] = splitAssignment(b, loc, assignment, k);
    Value expert = memref::LoadOp::create(b, loc, experts, ValueRange{t, j});
    Value routed = arith::ConstantIntOp::create(b, loc, b.getI32Type(), numRouted);
    return arith::MinUIOp::create(b, loc, expert, routed);
  }

  /// The number of assignments whose key compares `predicate` to `group`.
  Value countKeys(OpBuilder &b, Location loc, Value group, CmpIPredicate predicate) const {
    Value one = indexConstant(b, loc, 1), zero = indexConstant(b, loc, 0);
    return buildSequentialLoop(
        b, loc, count, zero, [&](OpBuilder &b, Location loc, Value a, ValueRange acc) {
          Value match = arith::CmpIOp::create(b, loc, predicate, key(b, loc, a), group);
          Value step = arith::SelectOp::create(b, loc, match, one, zero);
          return SmallVector<Value>{arith::AddIOp::create(b, loc, acc[0], step)};
        })[0];
  }

  /// Writes `group`'s assignments in ascending order into order[start..]
  /// (and rows[a] = row when `rows` is set), not storing into order at or
  /// past `capacity` when it is set; returns the row after the group.
  Value place(OpBuilder &b, Location loc, Value group, Value start, Value order, Value rows,
              Value capacity) const {
    Value one = indexConstant(b, loc, 1);
    return buildSequentialLoop(
        b, loc, count, start, [&](OpBuilder &b, Location loc, Value a, ValueRange acc) {
          Value row = acc[0];
          Value mine = arith::CmpIOp::create(b, loc, CmpIPredicate::eq, key(b, loc, a), group);
          auto place = scf::IfOp::create(
              b, loc, mine,
              [&](OpBuilder &b, Location loc) {
                auto store = [&](OpBuilder &b, Location loc) {
                  memref::StoreOp::create(b, loc, toI32(b, loc, a), order, row);
                };
                if (capacity) {
                  Value fits = arith::CmpIOp::create(b, loc, CmpIPredicate::ult, row, capacity);
                  scf::IfOp::create(b, loc, fits, [&](OpBuilder &b, Location loc) {
                    store(b, loc);
                    scf::YieldOp::create(b, loc);
                  });
                } else {
                  store(b, loc);
                }
                if (rows)
                  memref::StoreOp::create(b, loc, toI32(b, loc, row), rows, a);
                scf::YieldOp::create(b, loc, ValueRange{arith::AddIOp::create(b, loc, row, one)});
              },
              [&](OpBuilder &b, Location loc) { scf::YieldOp::create(b, loc, row); });
          return SmallVector<Value>{place.getResult(0)};
        })[0];
  }
};

/// roundup(value, multiple) on index values.
Value roundUp(OpBuilder &b, Location loc, Value value, int64_t multiple) {
  Value m = indexConstant(b, loc, multiple);
  Value tiles = arith::CeilDivUIOp::create(b, loc, value, m);
  return arith::MulIOp::create(b, loc, tiles, m);
}

} // namespace

/// A stable counting sort whose parallel dimension is the key: thread g of
/// R + 1 counts the assignments with a smaller key (its group's offset),
/// then writes its own in ascending order. O(R T k) work, no scratch memory
/// and no atomics; each thread reads all T k choices, which the cache serves.
void mlir::ember::buildExpertGrouping(OpBuilder &b, Location loc, Value experts, int64_t numRouted,
                                      Value order) {
  Grouping grouping(b, loc, experts, numRouted);
  buildParallelNest(b, loc, indexConstant(b, loc, numRouted + 1),
                    [&](OpBuilder &b, Location loc, ValueRange ivs) {
                      Value group = toI32(b, loc, ivs[0]);
                      Value offset = grouping.countKeys(b, loc, group, CmpIPredicate::ult);
                      grouping.place(b, loc, group, offset, order, Value(), Value());
                    });
}

/// With W = rowsPerTile > 1, two kernels over the R + 1 keys: the counts,
/// then each group's padded offset (a sum over the smaller keys' counts,
/// O(R^2) in all), its rows and its padding. With W = 1, one kernel:
/// buildExpertGrouping's, also storing the rows and each group's count. The
/// zero group (last, unpadded) also fills the rest of order with -1.
void mlir::ember::buildPaddedExpertGrouping(OpBuilder &b, Location loc, Value experts,
                                            int64_t numRouted, int64_t rowsPerTile, Value order,
                                            Value rows, Value counts) {
  Grouping grouping(b, loc, experts, numRouted);
  Value keys = indexConstant(b, loc, numRouted + 1);
  Value capacity = dimOf(b, loc, order, 0);
  // Group g's rows from `start`, then -1 up to its padded end (the end of
  // order for the zero group).
  auto placeAndPad = [&](OpBuilder &b, Location loc, Value g, Value start,
                         function_ref<Value(OpBuilder &, Location, Value end)> count) {
    Value end = grouping.place(b, loc, toI32(b, loc, g), start, order, rows, capacity);
    Value zeroGroup =
        arith::CmpIOp::create(b, loc, CmpIPredicate::eq, g, indexConstant(b, loc, numRouted));
    Value paddedEnd =
        arith::AddIOp::create(b, loc, start, roundUp(b, loc, count(b, loc, end), rowsPerTile));
    Value stop = arith::MinUIOp::create(
        b, loc, arith::SelectOp::create(b, loc, zeroGroup, capacity, paddedEnd), capacity);
    Value noRow = arith::ConstantIntOp::create(b, loc, b.getI32Type(), -1);
    scf::ForOp::create(b, loc, arith::MinUIOp::create(b, loc, end, stop), stop,
                       indexConstant(b, loc, 1), ValueRange{},
                       [&](OpBuilder &b, Location loc, Value row, ValueRange) {
                         memref::StoreOp::create(b, loc, noRow, order, row);
                         scf::YieldOp::create(b, loc);
                       });
  };

  if (rowsPerTile == 1) {
    buildParallelNest(b, loc, keys, [&](OpBuilder &b, Location loc, ValueRange ivs) {
      Value g = ivs[0];
      Value offset = grouping.countKeys(b, loc, toI32(b, loc, g), CmpIPredicate::ult);
      placeAndPad(b, loc, g, offset, [&](OpBuilder &b, Location loc, Value end) {
        Value count = arith::SubIOp::create(b, loc, end, offset);
        memref::StoreOp::create(b, loc, toI32(b, loc, count), counts, g);
        return count;
      });
    });
    return;
  }
  buildParallelNest(b, loc, keys, [&](OpBuilder &b, Location loc, ValueRange ivs) {
    Value count = grouping.countKeys(b, loc, toI32(b, loc, ivs[0]), CmpIPredicate::eq);
    memref::StoreOp::create(b, loc, toI32(b, loc, count), counts, ivs[0]);
  });
  buildParallelNest(b, loc, keys, [&](OpBuilder &b, Location loc, ValueRange ivs) {
    Value g = ivs[0];
    Value start = buildSequentialLoop(
        b, loc, g, indexConstant(b, loc, 0),
        [&](OpBuilder &b, Location loc, Value e, ValueRange acc) {
          Value padded = roundUp(b, loc, loadIndex(b, loc, counts, e), rowsPerTile);
          return SmallVector<Value>{arith::AddIOp::create(b, loc, acc[0], padded)};
        })[0];
    placeAndPad(b, loc, g, start, [&](OpBuilder &b, Location loc, Value) {
      return loadIndex(b, loc, counts, g);
    });
  });
}

Value mlir::ember::buildExpertDownDot(OpBuilder &b, Location loc, const MatmulLoops &loops, Value down,
                                      const BlockScales &scales, Value h, Value expert, Value d, Value row,
                                      Value width) {
  if (useRowTiledDots(loops, h, down, scales))
    return buildTiledDots(b, loc, {MemRefRow{h, {row}}}, {MemRefRow{down, {expert, d}, scales}}, width,
                          loops.vectorLanes)[0];
  return buildDotProduct(
      b, loc, width, f32Constant(b, loc, 0.0),
      [&](OpBuilder &b, Location loc, Value f) {
        return loadWeightF32(b, loc, down, scales, {expert, d, f});
      },
      [&](OpBuilder &b, Location loc, Value f) {
        return memref::LoadOp::create(b, loc, h, ValueRange{row, f}).getResult();
      });
}

void mlir::ember::populateMoeLoweringPatterns(RewritePatternSet &patterns, const MatmulLoops &matmulLoops) {
  patterns.add<LowerRouterTopk, LowerMoeDispatch, LowerMoeCombine>(patterns.getContext());
  patterns.add<LowerExpertGateUp, LowerExpertDown>(patterns.getContext(), matmulLoops);
}
