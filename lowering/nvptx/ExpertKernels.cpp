//===- ExpertKernels.cpp - warp_per_row for the routed experts -------------===//
//
// expert_gate_up as a grouped GEMV over moe_group's sorted rows: a warp per
// (tile of W rows of one expert, hidden unit f). The tile's rows and expert
// are the loops' (buildExpertTile); the lanes stream gate[e, f, :] and
// up[e, f, :] with 16-byte loads (bf16, or FP8 dequantized as they arrive,
// like the GEMVs') once for all of the tile's computed rows,
// whose x rows come from L2, and each row's two sums meet by warp shuffles.
// Zero experts' and padding tiles cost their first row's check; no work
// grows with the experts that received no token.
//
//===----------------------------------------------------------------------===//
#include "dialects/Ember/EmberDialect.h"
#include "lowering/LoopBuilders.h"
#include "lowering/nvptx/GpuKernelBuilders.h"
#include "lowering/nvptx/GpuStrategies.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::ember;

namespace {

BlockScales gateScales(ExpertGateUpOp op) { return BlockScales::of(op.getGateScale(), op.getWeightBlock()); }
BlockScales upScales(ExpertGateUpOp op) { return BlockScales::of(op.getUpScale(), op.getWeightBlock()); }
BlockScales downScales(ExpertDownCombineOp op) { return BlockScales::of(op.getDownScale(), op.getWeightBlock()); }

int64_t vectorWidth(ExpertGateUpOp op) {
  return weightVectorWidth(ValueRange{op.getGate(), op.getUp()}, {gateScales(op), upScales(op)});
}
int64_t vectorWidth(ExpertDownCombineOp op) { return weightVectorWidth(op.getDown(), downScales(op)); }

} // namespace

bool mlir::ember::fitsExpertGateUpKernel(ExpertGateUpOp op) {
  int64_t inputs = cast<MemRefType>(op.getX().getType()).getDimSize(1);
  int64_t hidden = cast<MemRefType>(op.getH().getType()).getDimSize(1);
  return ShapedType::isStatic(inputs) && ShapedType::isStatic(hidden) && inputs % vectorWidth(op) == 0 &&
         hasIdentityLayout(op.getX()) && hasIdentityLayout(op.getGate()) && hasIdentityLayout(op.getUp());
}

void mlir::ember::buildExpertGateUpKernel(OpBuilder &b, ExpertGateUpOp op, int64_t warps, Attribute decision) {
  Location loc = op.getLoc();
  Value x = op.getX(), gate = op.getGate(), up = op.getUp(), experts = op.getExperts(), h = op.getH();
  int64_t width = vectorWidth(op), tile = op.getRowsPerTile();
  int64_t inputs = cast<MemRefType>(x.getType()).getDimSize(1);
  int64_t hidden = cast<MemRefType>(h.getType()).getDimSize(1);
  Value rows = dimOf(b, loc, h, 0), k = dimOf(b, loc, experts, 1);
  ExpertTileOperands operands{op.getOrder(), experts, rows, arith::MulIOp::create(b, loc, dimOf(b, loc, experts, 0), k),
                              k, dimOf(b, loc, gate, 0), tile};
  Value tiles = arith::CeilDivUIOp::create(b, loc, rows, indexConstant(b, loc, tile));
  BlockScales gateBlocks = gateScales(op), upBlocks = upScales(op);
  auto vectorType = VectorType::get({accumulatorLanes(width)}, b.getF32Type());
  auto body = [&](OpBuilder &b, Location loc, const KernelIds &ids, ValueRange) {
    Value f = arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, ids.blockX, indexConstant(b, loc, warps)),
                                    ids.threadY);
    Value base = arith::MulIOp::create(b, loc, ids.blockY, indexConstant(b, loc, tile));
    Value inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, f, indexConstant(b, loc, hidden));
    // Every condition below is the same for the whole warp (it depends on
    // the tile and f only), so the shuffles stay convergent.
    scf::IfOp::create(b, loc, inRange, [&](OpBuilder &b, Location loc) {
      buildExpertTile(b, loc, operands, base, [&](OpBuilder &b, Location loc, const ExpertTile &expertTile) {
        Value zero = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(vectorType, 0.0f));
        SmallVector<Value> init(2 * tile, zero);
        Value start = arith::MulIOp::create(b, loc, ids.threadX, indexConstant(b, loc, width));
        auto loop = scf::ForOp::create(
            b, loc, start, indexConstant(b, loc, inputs), indexConstant(b, loc, kWarpSize * width), init,
            [&](OpBuilder &b, Location loc, Value d, ValueRange acc) {
              Value g = loadWeightVector(b, loc, gate, gateBlocks, {expertTile.expert, f, d}, width);
              Value u = loadWeightVector(b, loc, up, upBlocks, {expertTile.expert, f, d}, width);
              SmallVector<Value> next;
              for (auto [r, row] : llvm::enumerate(expertTile.rows)) {
                Value input = loadVectorF32(b, loc, x, {row.token, d}, width, vectorLoadAlignment(x, width));
                next.push_back(addProducts(b, loc, acc[2 * r], input, g));
                next.push_back(addProducts(b, loc, acc[2 * r + 1], input, u));
              }
              scf::YieldOp::create(b, loc, next);
            });
        Value lane0 =
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, ids.threadX, indexConstant(b, loc, 0));
        for (auto [r, row] : llvm::enumerate(expertTile.rows)) {
          scf::IfOp::create(b, loc, row.computed, [&](OpBuilder &b, Location loc) {
            Value gated = buildSilu(b, loc, buildWarpVectorSum(b, loc, loop.getResult(2 * r)));
            Value value =
                arith::MulFOp::create(b, loc, gated, buildWarpVectorSum(b, loc, loop.getResult(2 * r + 1)));
            scf::IfOp::create(b, loc, lane0, [&](OpBuilder &b, Location loc) {
              memref::StoreOp::create(b, loc, value, h, ValueRange{row.row, f});
              scf::YieldOp::create(b, loc);
            });
            scf::YieldOp::create(b, loc);
          });
        }
      });
      scf::YieldOp::create(b, loc);
    });
  };
  buildCooperativeLaunch(b, loc, indexConstant(b, loc, llvm::divideCeil(hidden, warps)), tiles,
                         {kWarpSize, warps, 1}, {}, decision, body);
}

// expert_down_combine as a warp per (token t, output d): the lanes stream
// down[e, d, :] and h[row, :] with 16-byte loads for each of the token's
// real experts and accumulate the routing-weighted products, so one warp sum
// per output gives the routed part; lane 0 adds the zero experts' weighted
// x[t, d] and the residual. The k terms are summed per lane before the
// shuffles, so the rounding differs from the loops' j-ordered sum.
bool mlir::ember::fitsExpertDownCombineKernel(ExpertDownCombineOp op) {
  int64_t hidden = cast<MemRefType>(op.getH().getType()).getDimSize(1);
  int64_t outputs = cast<MemRefType>(op.getOut().getType()).getDimSize(1);
  return ShapedType::isStatic(hidden) && ShapedType::isStatic(outputs) && hidden % vectorWidth(op) == 0 &&
         hasIdentityLayout(op.getH()) && hasIdentityLayout(op.getDown());
}

void mlir::ember::buildExpertDownCombineKernel(OpBuilder &b, ExpertDownCombineOp op, int64_t warps,
                                               Attribute decision) {
  Location loc = op.getLoc();
  Value x = op.getX(), h = op.getH(), down = op.getDown(), experts = op.getExperts(), weights = op.getWeights(),
        rows = op.getRows(), out = op.getOut();
  int64_t width = vectorWidth(op);
  int64_t hidden = cast<MemRefType>(h.getType()).getDimSize(1);
  int64_t outputs = cast<MemRefType>(out.getType()).getDimSize(1);
  Value tokens = dimOf(b, loc, out, 0), k = dimOf(b, loc, experts, 1);
  Value numRouted = indexConstant(b, loc, op.getNRouted());
  BlockScales downBlocks = downScales(op);
  auto vectorType = VectorType::get({accumulatorLanes(width)}, b.getF32Type());
  auto wideType = VectorType::get({width}, b.getF32Type());
  auto body = [&](OpBuilder &b, Location loc, const KernelIds &ids, ValueRange) {
    Value d = arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, ids.blockX, indexConstant(b, loc, warps)),
                                    ids.threadY);
    Value t = ids.blockY;
    Value inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, d, indexConstant(b, loc, outputs));
    scf::IfOp::create(b, loc, inRange, [&](OpBuilder &b, Location loc) {
      auto fastmath = arith::FastMathFlags::contract;
      Value start = arith::MulIOp::create(b, loc, ids.threadX, indexConstant(b, loc, width));
      Value zero = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(vectorType, 0.0f));
      // Per lane: sum over the real experts j of weight_j * (its share of
      // down[e_j, d, :] . h[row_j, :]).
      Value routed = buildSequentialLoop(b, loc, k, zero, [&](OpBuilder &b, Location loc, Value j, ValueRange acc) {
        Value expert = loadIndex(b, loc, experts, ValueRange{t, j});
        Value real = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, expert, numRouted);
        auto term = scf::IfOp::create(
            b, loc, real,
            [&](OpBuilder &b, Location loc) {
              Value assignment = arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, t, k), j);
              Value row = loadIndex(b, loc, rows, assignment);
              Value weight = memref::LoadOp::create(b, loc, weights, ValueRange{t, j});
              Value splat = vector::BroadcastOp::create(b, loc, wideType, weight);
              auto loop = scf::ForOp::create(
                  b, loc, start, indexConstant(b, loc, hidden), indexConstant(b, loc, kWarpSize * width), acc[0],
                  [&](OpBuilder &b, Location loc, Value f, ValueRange sum) {
                    Value w = loadWeightVector(b, loc, down, downBlocks, {expert, d, f}, width);
                    Value a = loadVectorF32(b, loc, h, {row, f}, width, vectorLoadAlignment(h, width));
                    Value weighted = arith::MulFOp::create(b, loc, splat, a, fastmath);
                    scf::YieldOp::create(b, loc, addProducts(b, loc, sum[0], weighted, w));
                  });
              scf::YieldOp::create(b, loc, loop.getResult(0));
            },
            [&](OpBuilder &b, Location loc) { scf::YieldOp::create(b, loc, acc[0]); });
        return SmallVector<Value>{term.getResult(0)};
      })[0];
      Value total = buildWarpVectorSum(b, loc, routed);
      Value lane0 = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, ids.threadX, indexConstant(b, loc, 0));
      scf::IfOp::create(b, loc, lane0, [&](OpBuilder &b, Location loc) {
        Value input = memref::LoadOp::create(b, loc, x, ValueRange{t, d});
        Value zeros = buildSequentialLoop(
            b, loc, k, f32Constant(b, loc, 0.0), [&](OpBuilder &b, Location loc, Value j, ValueRange acc) {
              Value expert = loadIndex(b, loc, experts, ValueRange{t, j});
              Value zeroExpert = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, expert, numRouted);
              Value weight = memref::LoadOp::create(b, loc, weights, ValueRange{t, j});
              Value term = arith::SelectOp::create(b, loc, zeroExpert, arith::MulFOp::create(b, loc, weight, input),
                                                   f32Constant(b, loc, 0.0));
              return SmallVector<Value>{arith::AddFOp::create(b, loc, acc[0], term)};
            })[0];
        Value residual = memref::LoadOp::create(b, loc, out, ValueRange{t, d});
        Value sum = arith::AddFOp::create(b, loc, total, zeros);
        memref::StoreOp::create(b, loc, arith::AddFOp::create(b, loc, residual, sum), out, ValueRange{t, d});
        scf::YieldOp::create(b, loc);
      });
      scf::YieldOp::create(b, loc);
    });
  };
  buildCooperativeLaunch(b, loc, indexConstant(b, loc, llvm::divideCeil(outputs, warps)), tokens,
                         {kWarpSize, warps, 1}, {}, decision, body);
}
