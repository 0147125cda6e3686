//===- RowReductionKernels.cpp - the block_per_row strategy ----------------===//
//
// Ops that reduce along a token's row, one block per token.
//
// rms_norm as one block per token: the threads stride over the row (adjacent
// threads, adjacent elements), the sum of squares meets by warp shuffles and
// one barrier (buildBlockSum), and every thread scales its own elements.
// `out` may alias `x`: each element is read and written by one thread, and
// all reads of the first pass precede the barrier.
//
//===----------------------------------------------------------------------===//
#include "dialects/Ember/EmberDialect.h"
#include "lowering/LoopBuilders.h"
#include "lowering/nvptx/GpuKernelBuilders.h"
#include "lowering/nvptx/GpuStrategies.h"

#include <limits>

using namespace mlir;
using namespace mlir::ember;

void mlir::ember::buildRmsNormKernel(OpBuilder &b, RmsNormOp op, int64_t threads, Attribute decision) {
  Location loc = op.getLoc();
  Value x = op.getX(), y = op.getOut();
  Value tokens = dimOf(b, loc, x, 0), width = dimOf(b, loc, x, 1);
  double eps = op.getEps().convertToDouble(), scale = op.getScale().convertToDouble();
  auto body = [&](OpBuilder &b, Location loc, const KernelIds &ids, ValueRange workgroup) {
    Value t = ids.blockX, step = indexConstant(b, loc, threads);
    Value squares = buildStridedLoop(b, loc, ids.threadX, width, step, f32Constant(b, loc, 0.0),
                                     [&](OpBuilder &b, Location loc, Value d, ValueRange acc) {
                                       Value value = loadF32(b, loc, x, {t, d});
                                       Value square = arith::MulFOp::create(b, loc, value, value);
                                       return SmallVector<Value>{arith::AddFOp::create(b, loc, acc[0], square)};
                                     })[0];
    Value sum = buildBlockSum(b, loc, squares, ids.threadX, threads, workgroup[0]);
    Value inverse = buildRmsInverseFromSum(b, loc, sum, width, eps);
    buildStridedLoop(b, loc, ids.threadX, width, step, [&](OpBuilder &b, Location loc, Value d) {
      Value value = buildRmsNormed(b, loc, loadF32(b, loc, x, {t, d}), inverse, op.getWeight(), d, scale);
      memref::StoreOp::create(b, loc, value, y, ValueRange{t, d});
    });
  };
  buildCooperativeLaunch(b, loc, tokens, indexConstant(b, loc, 1), {threads, 1, 1},
                         {workgroupF32(b.getContext(), threads / kWarpSize)}, decision, body);
}

// router_topk as one block per token, the same choices as the loops
// (buildRouterTopk): the softmax's maximum and sum by block reductions, the
// probabilities and bias-corrected scores in workgroup memory, then k rounds
// of a block arg-max over (score, lower index first), each taking its winner
// out of the running. No thread loops over all experts more than
// experts / threads times per round.
void mlir::ember::buildRouterTopkKernel(OpBuilder &b, RouterTopkOp op, int64_t threads, Attribute decision) {
  Location loc = op.getLoc();
  Value logits = op.getLogits(), bias = op.getBias(), experts = op.getExperts(), weights = op.getWeights();
  int64_t numExperts = cast<MemRefType>(logits.getType()).getDimSize(1);
  Value tokens = dimOf(b, loc, logits, 0), k = dimOf(b, loc, experts, 1);
  double scaling = op.getScaling().convertToDouble();
  int64_t warps = threads / kWarpSize;
  Type i32 = b.getI32Type();
  float inf = std::numeric_limits<float>::infinity();
  auto body = [&](OpBuilder &b, Location loc, const KernelIds &ids, ValueRange workgroup) {
    Value probabilities = workgroup[0], scores = workgroup[1], maxScratch = workgroup[2], sumScratch = workgroup[3],
          bestScores = workgroup[4], bestIndices = workgroup[5];
    Value t = ids.blockX, step = indexConstant(b, loc, threads), count = indexConstant(b, loc, numExperts);
    // A reduction over this thread's experts.
    auto overExperts = [&](Value init, function_ref<Value(OpBuilder &, Location, Value, Value)> each) {
      return buildStridedLoop(b, loc, ids.threadX, count, step, init,
                              [&](OpBuilder &b, Location loc, Value e, ValueRange acc) {
                                return SmallVector<Value>{each(b, loc, e, acc[0])};
                              })[0];
    };
    auto maximum = [](OpBuilder &b, Location loc, Value lhs, Value rhs) {
      return arith::MaximumFOp::create(b, loc, lhs, rhs).getResult();
    };
    Value localMax = overExperts(f32Constant(b, loc, -inf), [&](OpBuilder &b, Location loc, Value e, Value acc) {
      return maximum(b, loc, acc, memref::LoadOp::create(b, loc, logits, ValueRange{t, e}));
    });
    Value max = buildBlockReduce(b, loc, localMax, ids.threadX, threads, maxScratch, maximum);
    auto shiftedExp = [&](OpBuilder &b, Location loc, Value e) {
      Value logit = memref::LoadOp::create(b, loc, logits, ValueRange{t, e});
      return math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, logit, max)).getResult();
    };
    Value localSum = overExperts(f32Constant(b, loc, 0.0), [&](OpBuilder &b, Location loc, Value e, Value acc) {
      return arith::AddFOp::create(b, loc, acc, shiftedExp(b, loc, e)).getResult();
    });
    Value sum = buildBlockSum(b, loc, localSum, ids.threadX, threads, sumScratch);
    buildStridedLoop(b, loc, ids.threadX, count, step, [&](OpBuilder &b, Location loc, Value e) {
      Value p = arith::DivFOp::create(b, loc, shiftedExp(b, loc, e), sum);
      memref::StoreOp::create(b, loc, p, probabilities, e);
      Value score = arith::AddFOp::create(b, loc, p, memref::LoadOp::create(b, loc, bias, e));
      memref::StoreOp::create(b, loc, score, scores, e);
    });
    gpu::BarrierOp::create(b, loc);

    // (score, index) pairs: the higher score wins, the lower index on ties.
    auto better = [](OpBuilder &b, Location loc, Value score, Value index, Value bestScore, Value bestIndex) {
      Value higher = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, score, bestScore);
      Value tie = arith::AndIOp::create(
          b, loc, arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, score, bestScore),
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, index, bestIndex));
      return arith::OrIOp::create(b, loc, higher, tie).getResult();
    };
    Value zero = indexConstant(b, loc, 0);
    Value warpSize = indexConstant(b, loc, kWarpSize);
    Value lane0 = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                        arith::RemUIOp::create(b, loc, ids.threadX, warpSize), zero);
    Value warp = arith::DivUIOp::create(b, loc, ids.threadX, warpSize);
    Value thread0 = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, ids.threadX, zero);
    Value none = arith::ConstantIntOp::create(b, loc, i32, std::numeric_limits<int32_t>::max());
    buildSequentialLoop(b, loc, k, {}, [&](OpBuilder &b, Location loc, Value j, ValueRange) {
      auto local = scf::ForOp::create(
          b, loc, ids.threadX, count, step, ValueRange{f32Constant(b, loc, -inf), none},
          [&](OpBuilder &b, Location loc, Value e, ValueRange acc) {
            Value score = memref::LoadOp::create(b, loc, scores, e);
            Value index = arith::IndexCastOp::create(b, loc, i32, e);
            Value take = better(b, loc, score, index, acc[0], acc[1]);
            scf::YieldOp::create(b, loc, ValueRange{arith::SelectOp::create(b, loc, take, score, acc[0]),
                                                    arith::SelectOp::create(b, loc, take, index, acc[1])});
          });
      Value bestScore = local.getResult(0), bestIndex = local.getResult(1);
      for (int32_t offset = kWarpSize / 2; offset >= 1; offset /= 2) {
        Value otherScore = gpu::ShuffleOp::create(b, loc, bestScore, offset, kWarpSize, gpu::ShuffleMode::XOR)
                               .getShuffleResult();
        Value otherIndex = gpu::ShuffleOp::create(b, loc, bestIndex, offset, kWarpSize, gpu::ShuffleMode::XOR)
                               .getShuffleResult();
        Value take = better(b, loc, otherScore, otherIndex, bestScore, bestIndex);
        bestScore = arith::SelectOp::create(b, loc, take, otherScore, bestScore);
        bestIndex = arith::SelectOp::create(b, loc, take, otherIndex, bestIndex);
      }
      scf::IfOp::create(b, loc, lane0, [&](OpBuilder &b, Location loc) {
        memref::StoreOp::create(b, loc, bestScore, bestScores, warp);
        memref::StoreOp::create(b, loc, bestIndex, bestIndices, warp);
        scf::YieldOp::create(b, loc);
      });
      gpu::BarrierOp::create(b, loc);
      scf::IfOp::create(b, loc, thread0, [&](OpBuilder &b, Location loc) {
        auto overall = scf::ForOp::create(
            b, loc, zero, indexConstant(b, loc, warps), indexConstant(b, loc, 1),
            ValueRange{f32Constant(b, loc, -inf), none}, [&](OpBuilder &b, Location loc, Value w, ValueRange acc) {
              Value score = memref::LoadOp::create(b, loc, bestScores, w);
              Value index = memref::LoadOp::create(b, loc, bestIndices, w);
              Value take = better(b, loc, score, index, acc[0], acc[1]);
              scf::YieldOp::create(b, loc, ValueRange{arith::SelectOp::create(b, loc, take, score, acc[0]),
                                                      arith::SelectOp::create(b, loc, take, index, acc[1])});
            });
        // No winner when every score left is NaN (a non-finite logit): like
        // the loops, expert -1 (no real expert, read as unsigned) of weight 0,
        // and nothing indexed by it.
        Value chosen = overall.getResult(1);
        Value found = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, chosen, none);
        auto stored = scf::IfOp::create(
            b, loc, found,
            [&](OpBuilder &b, Location loc) {
              Value e = arith::IndexCastUIOp::create(b, loc, b.getIndexType(), chosen);
              Value weight = arith::MulFOp::create(b, loc, memref::LoadOp::create(b, loc, probabilities, e),
                                                   f32Constant(b, loc, scaling));
              memref::StoreOp::create(b, loc, f32Constant(b, loc, -inf), scores, e);
              scf::YieldOp::create(b, loc, ValueRange{chosen, weight});
            },
            [&](OpBuilder &b, Location loc) {
              scf::YieldOp::create(
                  b, loc, ValueRange{arith::ConstantIntOp::create(b, loc, i32, -1), f32Constant(b, loc, 0.0)});
            });
        memref::StoreOp::create(b, loc, stored.getResult(0), experts, ValueRange{t, j});
        memref::StoreOp::create(b, loc, stored.getResult(1), weights, ValueRange{t, j});
        scf::YieldOp::create(b, loc);
      });
      gpu::BarrierOp::create(b, loc);
      return SmallVector<Value>{};
    });
  };
  MLIRContext *context = b.getContext();
  buildCooperativeLaunch(b, loc, tokens, indexConstant(b, loc, 1), {threads, 1, 1},
                         {workgroupF32(context, numExperts), workgroupF32(context, numExperts),
                          workgroupF32(context, warps), workgroupF32(context, warps), workgroupF32(context, warps),
                          workgroupMemRef(i32, warps)},
                         decision, body);
}
