//===- LowerNgramOps.cpp - n-gram ops to scf.parallel nests ---------------===//
#include "dialects/Ember/EmberDialect.h"
#include "dialects/Ember/NgramMath.h"
#include "lowering/LoopBuilders.h"
#include "lowering/NgramLoops.h"

#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"

using namespace mlir;
using namespace mlir::ember;

namespace {

/// One thread per element of the values: each row's slot and position are
/// read from memory.
struct LowerCacheWrite : OpConversionPattern<CacheWriteOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(CacheWriteOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value values = adaptor.getValues();
    SmallVector<Value> extents;
    for (int64_t dim = 0, rank = cast<MemRefType>(values.getType()).getRank(); dim < rank; ++dim)
      extents.push_back(dimOf(rewriter, loc, values, dim));
    buildParallelNest(rewriter, loc, extents, [&](OpBuilder &b, Location loc, ValueRange ivs) {
      Value value = memref::LoadOp::create(b, loc, values, ivs);
      SmallVector<Value> at{loadIndex(b, loc, adaptor.getSlots(), ivs[0]),
                            loadIndex(b, loc, adaptor.getPositions(), ivs[0])};
      llvm::append_range(at, ivs.drop_front());
      memref::StoreOp::create(b, loc, value, adaptor.getCache(), at);
    });
    rewriter.eraseOp(op);
    return success();
  }
};

/// One thread per token: gathers the N-1 history tokens once (applying the
/// EOS-segment rule), then evaluates all E hashes with constant multipliers.
struct LowerNgramIds : OpConversionPattern<NgramIdsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(NgramIdsOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value count = dimOf(rewriter, loc, adaptor.getIds(), 0);
    buildParallelNest(rewriter, loc, count, [&](OpBuilder &b, Location loc, ValueRange ivs) {
      Value slot = loadIndex(b, loc, adaptor.getSlots(), ivs[0]);
      Value position = loadIndex(b, loc, adaptor.getPositions(), ivs[0]);
      SmallVector<Value> ids = buildNgramHashes(b, loc, op.getConfig(), adaptor.getTable(), slot, position);
      for (auto [i, id] : llvm::enumerate(ids))
        memref::StoreOp::create(b, loc, id, adaptor.getIds(),
                                ValueRange{ivs[0], indexConstant(b, loc, i)});
    });
    rewriter.eraseOp(op);
    return success();
  }
};

/// One thread per (token, column): walks the E tables, so consecutive
/// threads read consecutive elements of each gathered row. The ids come from
/// memory (token ids from the caller, or ngram_ids), so each is checked.
struct LowerMultiTableGather : OpConversionPattern<MultiTableGatherOp> {
  LowerMultiTableGather(MLIRContext *context, GatherBoundsCheck boundsCheck)
      : OpConversionPattern(context), boundsCheck(boundsCheck) {}

  LogicalResult matchAndRewrite(MultiTableGatherOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value tokens = dimOf(rewriter, loc, adaptor.getIds(), 0);
    Value width = dimOf(rewriter, loc, adaptor.getTable(), 1);
    ArrayRef<int64_t> offsets = op.getRowOffsets();
    SmallVector<GatherCheck> checks;
    for (int64_t table = 0, e = offsets.size(); table < e; ++table)
      checks.push_back(
          buildGatherCheck(rewriter, loc, boundsCheck, adaptor.getTable(), offsets, table));
    buildParallelNest(rewriter, loc, ValueRange{tokens, width},
                      [&](OpBuilder &b, Location loc, ValueRange ivs) {
                        for (auto [table, offset] : llvm::enumerate(offsets)) {
                          Value tableIndex = indexConstant(b, loc, table);
                          Value id = memref::LoadOp::create(b, loc, adaptor.getIds(),
                                                            ValueRange{ivs[0], tableIndex});
                          Value element = buildGatherLoad(b, loc, adaptor.getTable(), id, offset,
                                                          ivs[1], checks[table]);
                          memref::StoreOp::create(b, loc, element, adaptor.getOut(),
                                                  ValueRange{ivs[0], tableIndex, ivs[1]});
                        }
                      });
    rewriter.eraseOp(op);
    return success();
  }

private:
  GatherBoundsCheck boundsCheck;
};

/// One thread per output element: a dot product over all tables' rows.
/// reassoc lets the CPU backend vectorize the reduction.
struct LowerNgramCombine : OpConversionPattern<NgramCombineOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(NgramCombineOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value rows = adaptor.getRows(), proj = adaptor.getProjections();
    Value tokens = dimOf(rewriter, loc, adaptor.getOut(), 0);
    Value hidden = dimOf(rewriter, loc, adaptor.getOut(), 1);
    Value tables = dimOf(rewriter, loc, rows, 1);
    Value width = dimOf(rewriter, loc, rows, 2);
    auto fastmath = reductionFastMath(rewriter.getContext());
    buildParallelNest(
        rewriter, loc, ValueRange{tokens, hidden}, [&](OpBuilder &b, Location loc, ValueRange ivs) {
          Value t = ivs[0], d = ivs[1];
          Value zero = indexConstant(b, loc, 0), one = indexConstant(b, loc, 1);
          Value init = memref::LoadOp::create(b, loc, adaptor.getWord(), ValueRange{t, d});
          auto overTables = scf::ForOp::create(
              b, loc, zero, tables, one, ValueRange{init},
              [&](OpBuilder &b, Location loc, Value i, ValueRange acc) {
                auto overWidth = scf::ForOp::create(
                    b, loc, zero, width, one, acc,
                    [&](OpBuilder &b, Location loc, Value w, ValueRange acc) {
                      Value p = toF32(
                          b, loc, memref::LoadOp::create(b, loc, proj, ValueRange{i, d, w}));
                      Value r = memref::LoadOp::create(b, loc, rows, ValueRange{t, i, w});
                      Value product = arith::MulFOp::create(b, loc, p, r, fastmath);
                      Value sum = arith::AddFOp::create(b, loc, acc[0], product, fastmath);
                      scf::YieldOp::create(b, loc, sum);
                    });
                scf::YieldOp::create(b, loc, overWidth.getResults());
              });
          // The mean over 1 + E vectors, divided as the reference does.
          Value count = arith::IndexCastOp::create(b, loc, b.getI64Type(),
                                                   arith::AddIOp::create(b, loc, tables, one));
          Value divisor = arith::SIToFPOp::create(b, loc, b.getF32Type(), count);
          Value mean = arith::DivFOp::create(b, loc, overTables.getResult(0), divisor);
          memref::StoreOp::create(b, loc, mean, adaptor.getOut(), ValueRange{t, d});
        });
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

SmallVector<Value> mlir::ember::buildNgramHashes(OpBuilder &b, Location loc, NgramConfigAttr config,
                                          Value table, Value slot, Value position) {
  Type i64 = b.getI64Type();
  Value zeroIndex = indexConstant(b, loc, 0);
  Value zeroI64 = arith::ConstantIntOp::create(b, loc, i64, 0);
  Value eos = arith::ConstantIntOp::create(b, loc, b.getI32Type(), config.getEos());

  // history[j] = x_{t-j}, or 0 once the look-back passes the sequence start
  // or an EOS that ends an earlier segment. Tokens are read as unsigned so
  // that every id stays inside its table whatever the table holds.
  Value current = memref::LoadOp::create(b, loc, table, ValueRange{slot, position});
  SmallVector<Value> history{arith::ExtUIOp::create(b, loc, i64, current)}, ids;
  Value blocked = arith::ConstantIntOp::create(b, loc, b.getI1Type(), 0);
  for (int64_t j = 1; j < config.getN(); ++j) {
    Value back = arith::SubIOp::create(b, loc, position, indexConstant(b, loc, j));
    Value beforeStart = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, back, zeroIndex);
    Value clamped = arith::SelectOp::create(b, loc, beforeStart, zeroIndex, back);
    Value token = memref::LoadOp::create(b, loc, table, ValueRange{slot, clamped});
    Value isEos = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, token, eos);
    blocked = arith::OrIOp::create(b, loc, blocked, beforeStart);
    blocked = arith::OrIOp::create(b, loc, blocked, isEos);
    Value wide = arith::ExtUIOp::create(b, loc, i64, token);
    history.push_back(arith::SelectOp::create(b, loc, blocked, zeroI64, wide));
  }

  for (int64_t i = 0, e = config.getNumTables(); i < e; ++i) {
    uint64_t rows = config.getTableRows(i);
    Value sum = zeroI64;
    for (int64_t j = 0, order = config.getTableOrder(i); j < order; ++j) {
      uint64_t multiplier = ::ember::ngramMultiplier(config.getVocab(), rows, j);
      Value term = arith::MulIOp::create(b, loc, history[j],
                                         arith::ConstantIntOp::create(b, loc, i64, multiplier));
      sum = arith::AddIOp::create(b, loc, sum, term);
    }
    Value id = arith::RemUIOp::create(b, loc, sum, arith::ConstantIntOp::create(b, loc, i64, rows));
    ids.push_back(arith::TruncIOp::create(b, loc, b.getI32Type(), id));
  }
  return ids;
}

GatherCheck mlir::ember::buildGatherCheck(OpBuilder &b, Location loc, GatherBoundsCheck mode,
                                          Value table, ArrayRef<int64_t> offsets, int64_t index) {
  if (mode == GatherBoundsCheck::None)
    return {};
  int64_t lastRow = mode == GatherBoundsCheck::Clamp ? 1 : 0; // else the row count
  int64_t begin = offsets[index];
  Value limit =
      index + 1 < int64_t(offsets.size())
          ? indexConstant(b, loc, offsets[index + 1] - begin - lastRow)
          : arith::SubIOp::create(b, loc, dimOf(b, loc, table, 0),
                                  indexConstant(b, loc, begin + lastRow)).getResult();
  return {mode, limit, index};
}

Value mlir::ember::buildGatherLoad(OpBuilder &b, Location loc, Value table, Value id,
                                   int64_t rowOffset, Value column, const GatherCheck &check) {
  Value row = arith::IndexCastUIOp::create(b, loc, b.getIndexType(), id);
  if (check.mode == GatherBoundsCheck::Clamp) {
    row = arith::MinUIOp::create(b, loc, row, check.limit);
  } else if (check.mode == GatherBoundsCheck::Fatal) {
    Value inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row, check.limit);
    cf::AssertOp::create(b, loc, inRange,
                         "ember gather: row id out of range of table " +
                             std::to_string(check.table));
  }
  row = arith::AddIOp::create(b, loc, row, indexConstant(b, loc, rowOffset));
  return loadF32(b, loc, table, ValueRange{row, column});
}

void mlir::ember::populateNgramLoweringPatterns(RewritePatternSet &patterns,
                                                GatherBoundsCheck boundsCheck) {
  patterns.add<LowerCacheWrite, LowerNgramIds, LowerNgramCombine>(patterns.getContext());
  patterns.add<LowerMultiTableGather>(patterns.getContext(), boundsCheck);
}
