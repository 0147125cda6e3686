//===- GemvKernels.cpp - the warp_per_row strategy -------------------------===//
//
// GEMV and skinny GEMM for the ops that multiply activations by weight rows
// (linear, norm_linear, swiglu, norm_swiglu, and per head mla_up_v): one
// warp per output row and group of tokens. Each lane streams its share of
// the row with 16-byte loads (8 bf16 or 16 FP8 weights, the latter
// dequantized as they arrive, BlockScaledWeights.h), consecutive lanes at
// consecutive addresses, so a warp reads 512
// contiguous bytes per step; the weight row is read once for the group's
// tokens, whose activations come from L2. The lanes' partial sums meet by
// warp shuffles. A recomputed RMSNorm costs no pass of its own: the sum of
// squares of x accumulates in the same loop, and since the norm scales the
// row uniformly, dot(norm(x) * g, w) = inverse * dot(x * g, w).
//
//===----------------------------------------------------------------------===//
#include "dialects/Ember/EmberDialect.h"
#include "lowering/BlockScaledWeights.h"
#include "lowering/LoopBuilders.h"
#include "lowering/nvptx/GemvOperands.h"
#include "lowering/nvptx/GpuKernelBuilders.h"
#include "lowering/nvptx/GpuStrategies.h"

using namespace mlir;
using namespace mlir::ember;

std::optional<GemvOp> mlir::ember::asGemv(Operation *op) {
  auto gemvOp = [](Value x, Value normWeight, Value out, SmallVector<Value, 2> weights,
                   SmallVector<BlockScales, 2> scales) {
    GemvOp gemv{x, normWeight, out, std::move(weights), std::move(scales)};
    gemv.swiglu = gemv.weights.size() == 2;
    return gemv;
  };
  auto withNorm = [](GemvOp gemv, auto norm) {
    gemv.eps = norm.getEps().convertToDouble();
    gemv.scale = norm.getScale().convertToDouble();
    return gemv;
  };
  if (auto linear = dyn_cast<LinearOp>(op)) {
    GemvOp gemv = gemvOp(linear.getX(), {}, linear.getOut(), {linear.getWeight()},
                         {BlockScales::of(linear.getWeightScale(), linear.getWeightBlock())});
    gemv.accumulate = linear.getAccumulate();
    return gemv;
  }
  if (auto norm = dyn_cast<NormLinearOp>(op)) {
    GemvOp gemv = gemvOp(norm.getX(), norm.getNormWeight(), norm.getOut(), {norm.getWeight()},
                         {BlockScales::of(norm.getWeightScale(), norm.getWeightBlock())});
    gemv.accumulate = norm.getAccumulate();
    return withNorm(gemv, norm);
  }
  if (auto swiglu = dyn_cast<SwiGluOp>(op))
    return gemvOp(swiglu.getX(), {}, swiglu.getOut(), {swiglu.getGateWeight(), swiglu.getUpWeight()},
                  {BlockScales::of(swiglu.getGateScale(), swiglu.getWeightBlock()),
                   BlockScales::of(swiglu.getUpScale(), swiglu.getWeightBlock())});
  if (auto norm = dyn_cast<NormSwiGluOp>(op))
    return withNorm(gemvOp(norm.getX(), norm.getNormWeight(), norm.getOut(), {norm.getGateWeight(), norm.getUpWeight()},
                           {BlockScales::of(norm.getGateScale(), norm.getWeightBlock()),
                            BlockScales::of(norm.getUpScale(), norm.getWeightBlock())}),
                    norm);
  if (auto upValue = dyn_cast<MlaUpValueOp>(op)) {
    auto out = cast<MemRefType>(upValue.getOut().getType());
    int64_t heads = out.getDimSize(1), values = out.getDimSize(2),
            rows = cast<MemRefType>(upValue.getKvB().getType()).getDimSize(0);
    if (ShapedType::isDynamic(heads) || ShapedType::isDynamic(values) || ShapedType::isDynamic(rows))
      return std::nullopt;
    GemvOp gemv = gemvOp(upValue.getOLat(), {}, upValue.getOut(), {upValue.getKvB()},
                         {BlockScales::of(upValue.getKvBScale(), upValue.getWeightBlock())});
    gemv.headRows = values;
    gemv.headStride = rows / heads; // Dn + Dv
    gemv.headOffset = gemv.headStride - values;
    return gemv;
  }
  return std::nullopt;
}

int64_t mlir::ember::inputWidth(const GemvOp &gemv) {
  auto type = cast<MemRefType>(gemv.x.getType());
  return type.getDimSize(type.getRank() - 1);
}

int64_t mlir::ember::outputCount(const GemvOp &gemv) {
  auto type = cast<MemRefType>(gemv.out.getType());
  return gemv.headRows ? type.getDimSize(1) * gemv.headRows : type.getDimSize(1);
}

void mlir::ember::storeGemvOutput(OpBuilder &b, Location loc, const GemvOp &gemv, ArrayRef<Value> dots,
                                  ValueRange index) {
  Value value = gemv.swiglu ? arith::MulFOp::create(b, loc, buildSilu(b, loc, dots[0]), dots[1]) : dots[0];
  if (gemv.accumulate)
    value = arith::AddFOp::create(b, loc, memref::LoadOp::create(b, loc, gemv.out, index), value);
  memref::StoreOp::create(b, loc, value, gemv.out, index);
}

namespace {

/// Where output `row` (of outputCount) reads its weight row and its input
/// row, and stores: the indices before k (weights, x) and the whole index
/// without the token (out).
struct GemvRowIndices {
  Value weightRow;
  SmallVector<Value, 2> inputPrefix, outputSuffix;
};
GemvRowIndices rowIndices(OpBuilder &b, Location loc, const GemvOp &gemv, Value row) {
  if (!gemv.headRows)
    return {row, {}, {row}};
  Value head = arith::DivUIOp::create(b, loc, row, indexConstant(b, loc, gemv.headRows));
  Value within = arith::RemUIOp::create(b, loc, row, indexConstant(b, loc, gemv.headRows));
  Value weightRow = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, head, indexConstant(b, loc, gemv.headStride)),
      arith::AddIOp::create(b, loc, within, indexConstant(b, loc, gemv.headOffset)));
  return {weightRow, {head}, {head, within}};
}

/// Elements per lane and step.
int64_t vectorWidth(const GemvOp &gemv) { return weightVectorWidth(gemv.weights, gemv.scales); }

} // namespace

std::optional<GemvShape> mlir::ember::gemvShape(Operation *op) {
  std::optional<GemvOp> gemv = asGemv(op);
  if (!gemv)
    return std::nullopt;
  int64_t inputs = inputWidth(*gemv), width = vectorWidth(*gemv);
  SmallVector<Value> operands{gemv->x, gemv->out};
  llvm::append_range(operands, gemv->weights);
  if (gemv->normWeight)
    operands.push_back(gemv->normWeight);
  bool aligned = ShapedType::isStatic(inputs) && inputs % width == 0 &&
                 llvm::all_of(operands, hasIdentityLayout) && ShapedType::isStatic(outputCount(*gemv));
  if (!aligned)
    return std::nullopt;
  return GemvShape{int64_t(gemv->weights.size()), outputCount(*gemv),
                   int64_t(llvm::divideCeil(inputs, kWarpSize * width))};
}

void mlir::ember::buildGemvKernel(OpBuilder &b, Operation *op, const GemvConfig &config, Attribute decision) {
  GemvOp gemv = *asGemv(op);
  Location loc = op->getLoc();
  int64_t width = vectorWidth(gemv), rows = config.rowsPerBlock, slices = config.slicesPerRow,
          group = config.tokensPerWarp;
  int64_t inputs = inputWidth(gemv), outputs = outputCount(gemv);
  int64_t weightCount = gemv.weights.size();
  bool normed = bool(gemv.normWeight);
  // Accumulators per token: one vector per weight, then the sum of squares
  // when normed.
  int64_t perToken = weightCount + (normed ? 1 : 0);
  Value tokens = dimOf(b, loc, gemv.out, 0);
  Value gridX = indexConstant(b, loc, llvm::divideCeil(outputs, rows));
  Value gridY = arith::CeilDivUIOp::create(b, loc, tokens, indexConstant(b, loc, group));
  auto vectorType = VectorType::get({accumulatorLanes(width)}, b.getF32Type());
  SmallVector<Type, 1> workgroup;
  if (slices > 1) // [row of the block][slice][token of the group][accumulator]
    workgroup.push_back(workgroupF32(b.getContext(), rows * slices * group * perToken));
  auto body = [&](OpBuilder &b, Location loc, const KernelIds &ids, ValueRange scratch) {
    // Constants of the body's top level; nested builders make their own.
    auto constant = [&](int64_t value) { return indexConstant(b, loc, value); };
    Value rowInBlock = ids.threadY, slice = constant(0);
    if (slices > 1) {
      rowInBlock = arith::DivUIOp::create(b, loc, ids.threadY, constant(slices));
      slice = arith::RemUIOp::create(b, loc, ids.threadY, constant(slices));
    }
    Value row = indexAdd(b, loc, indexMul(b, loc, ids.blockX, constant(rows)), rowInBlock);
    Value firstToken = indexMul(b, loc, ids.blockY, constant(group));
    SmallVector<Value> tokenOf, validToken;
    for (int64_t j = 0; j < group; ++j) {
      Value token = indexAdd(b, loc, firstToken, constant(j));
      tokenOf.push_back(clampToLastToken(b, loc, token, tokens));
      validToken.push_back(indexLess(b, loc, token, tokens));
    }
    Value inRange = indexLess(b, loc, row, constant(outputs));
    Value lane0 = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, ids.threadX, constant(0));

    // The warp's share of the row at `at` for the group's first `count`
    // tokens (zeros for the rest): its slice's 16-byte runs, consecutive
    // lanes at consecutive addresses, the slices' runs interleaved.
    auto partialSums = [&](OpBuilder &b, Location loc, const GemvRowIndices &at, int64_t count) {
      auto inputIndex = [&](Value token, Value k) {
        SmallVector<Value, 3> index{token};
        llvm::append_range(index, at.inputPrefix);
        index.push_back(k);
        return index;
      };
      Value zero = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(vectorType, 0.0f));
      SmallVector<Value> init(count * perToken, zero);
      Value lane = indexAdd(b, loc, indexMul(b, loc, slice, indexConstant(b, loc, kWarpSize)), ids.threadX);
      Value start = indexMul(b, loc, lane, indexConstant(b, loc, width));
      auto loop = scf::ForOp::create(
          b, loc, start, indexConstant(b, loc, inputs), indexConstant(b, loc, kWarpSize * slices * width), init,
          [&](OpBuilder &b, Location loc, Value k, ValueRange acc) {
            SmallVector<Value> w;
            for (auto [weight, scales] : llvm::zip(gemv.weights, gemv.scales))
              w.push_back(loadWeightVector(b, loc, weight, scales, {at.weightRow, k}, width));
            Value g =
                normed ? loadVectorF32(b, loc, gemv.normWeight, {k}, width, vectorLoadAlignment(gemv.normWeight, width))
                       : Value();
            SmallVector<Value> next;
            for (int64_t j = 0; j < count; ++j) {
              Value x =
                  loadVectorF32(b, loc, gemv.x, inputIndex(tokenOf[j], k), width, vectorLoadAlignment(gemv.x, width));
              Value xg = normed ? arith::MulFOp::create(b, loc, x, g, arith::FastMathFlags::contract).getResult() : x;
              for (int64_t m = 0; m < weightCount; ++m)
                next.push_back(addProducts(b, loc, acc[j * perToken + m], xg, w[m]));
              if (normed)
                next.push_back(addProducts(b, loc, acc[j * perToken + weightCount], x, x));
            }
            scf::YieldOp::create(b, loc, next);
          });
      SmallVector<Value> sums(loop.getResults());
      sums.resize(group * perToken, zero);
      return sums;
    };
    // A step of one token (decoding one sequence) leaves out the group's
    // other tokens, which would repeat its work: loads of x from L1 that
    // outweigh the weight stream (4 bytes of x per byte of FP8 weights and
    // token).
    auto groupSums = [&](OpBuilder &b, Location loc, Value row) -> SmallVector<Value> {
      GemvRowIndices at = rowIndices(b, loc, gemv, row);
      if (group == 1)
        return partialSums(b, loc, at, 1);
      Value single = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, tokens, indexConstant(b, loc, 1));
      auto choice = scf::IfOp::create(b, loc, SmallVector<Type>(group * perToken, vectorType), single,
                                      /*addThenBlock=*/true, /*addElseBlock=*/true);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(choice.thenBlock());
      scf::YieldOp::create(b, loc, partialSums(b, loc, at, 1));
      b.setInsertionPointToStart(choice.elseBlock());
      scf::YieldOp::create(b, loc, partialSums(b, loc, at, group));
      return choice.getResults();
    };
    // Stores token j's output of `row` from its whole sums (lane 0 only).
    auto store = [&](OpBuilder &b, Location loc, Value row, int64_t j, SmallVector<Value> dots) {
      if (normed) {
        Value inverse = buildRmsInverseFromSum(b, loc, dots.back(), indexConstant(b, loc, inputs), gemv.eps);
        Value factor = arith::MulFOp::create(b, loc, inverse, f32Constant(b, loc, gemv.scale));
        dots.pop_back();
        for (Value &dot : dots)
          dot = arith::MulFOp::create(b, loc, dot, factor);
      }
      SmallVector<Value, 3> outputIndex{tokenOf[j]};
      llvm::append_range(outputIndex, rowIndices(b, loc, gemv, row).outputSuffix);
      storeGemvOutput(b, loc, gemv, dots, outputIndex);
    };

    if (slices == 1) {
      // The conditions are the same for all lanes of a warp, so its
      // shuffles stay convergent; tokens past the end skip their reductions.
      buildIf(b, loc, inRange, [&](OpBuilder &b, Location loc) {
        SmallVector<Value> sums = groupSums(b, loc, row);
        for (int64_t j = 0; j < group; ++j)
          buildIf(b, loc, validToken[j], [&](OpBuilder &b, Location loc) {
            SmallVector<Value> dots;
            for (int64_t m = 0; m < perToken; ++m)
              dots.push_back(buildWarpVectorSum(b, loc, sums[j * perToken + m]));
            buildIf(b, loc, lane0, [&](OpBuilder &b, Location loc) { store(b, loc, row, j, dots); });
          });
      });
      return;
    }
    // Split-K: every warp reaches the barrier, so rows past the end read the
    // last row and store nothing. Lane 0 of each slice leaves its sums in
    // workgroup memory; lane 0 of slice 0 adds them up in slice order
    // (deterministic) and stores.
    Value lastRow = constant(outputs - 1);
    SmallVector<Value> sums = groupSums(b, loc, arith::MinUIOp::create(b, loc, row, lastRow));
    SmallVector<Value> warpSums;
    for (Value sum : sums)
      warpSums.push_back(buildWarpVectorSum(b, loc, sum));
    auto scratchIndex = [&](OpBuilder &b, Location loc, Value slice, int64_t at) {
      Value warp = indexAdd(b, loc, indexMul(b, loc, rowInBlock, indexConstant(b, loc, slices)), slice);
      return indexAdd(b, loc, indexMul(b, loc, warp, indexConstant(b, loc, group * perToken)),
                      indexConstant(b, loc, at));
    };
    buildIf(b, loc, lane0, [&](OpBuilder &b, Location loc) {
      for (auto [at, sum] : llvm::enumerate(warpSums))
        memref::StoreOp::create(b, loc, sum, scratch[0], scratchIndex(b, loc, slice, at));
    });
    gpu::BarrierOp::create(b, loc);
    Value firstSlice = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, slice, constant(0));
    Value stores = arith::AndIOp::create(b, loc, arith::AndIOp::create(b, loc, inRange, firstSlice), lane0);
    buildIf(b, loc, stores, [&](OpBuilder &b, Location loc) {
      for (int64_t j = 0; j < group; ++j)
        buildIf(b, loc, validToken[j], [&](OpBuilder &b, Location loc) {
          SmallVector<Value> dots;
          for (int64_t m = 0; m < perToken; ++m) {
            Value total;
            for (int64_t s = 0; s < slices; ++s) {
              Value part = memref::LoadOp::create(
                  b, loc, scratch[0], ValueRange{scratchIndex(b, loc, indexConstant(b, loc, s), j * perToken + m)});
              total = s ? arith::AddFOp::create(b, loc, total, part).getResult() : part;
            }
            dots.push_back(total);
          }
          store(b, loc, row, j, dots);
        });
    });
  };
  buildCooperativeLaunch(b, loc, gridX, gridY, {kWarpSize, rows * slices, 1}, workgroup, decision, body);
}
