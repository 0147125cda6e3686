//===- NgramKernels.cpp - the fused n-gram embedding as warp_per_row ------===//
//
// ngram_embed: out[t, d] = (embed[x_t, d] + sum_i proj[i, d, :] .
// tables[o_i + id_i(t), :]) / (1 + E). The projections are its bytes (E D W
// weights against E W gathered values a token), so it is a GEMV whose input
// row is the token's gathered n-gram rows. A block per (tile of output rows,
// group of tokens):
//   1. a thread per token hashes its n-grams (buildNgramHashes, as the
//      loops do) and leaves the E ids and the token in workgroup memory;
//   2. the block's threads gather the group's E rows into workgroup memory
//      (in the tables' type: bf16 rows take half the room), each thread
//      issuing its E loads of a column before storing any;
//   3. a warp per output row streams proj[i, d, :] with 16-byte loads, once
//      for the group's tokens, warp-shuffle sums; lane 0 adds the word
//      embedding and stores the mean.
// A tile holds as many rows as still leaves kGemvMinBlocks blocks, so fewer
// blocks repeat steps 1 and 2.
//
//===----------------------------------------------------------------------===//
#include "dialects/Ember/EmberDialect.h"
#include "dialects/Ember/EmberTraffic.h"
#include "lowering/LoopBuilders.h"
#include "lowering/NgramLoops.h"
#include "lowering/nvptx/GpuKernelBuilders.h"
#include "lowering/nvptx/GpuStrategies.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::ember;

std::optional<NgramKernelConfig> mlir::ember::ngramKernelConfig(NgramEmbedOp op, int64_t warps, int64_t minBlocks,
                                                                int64_t workgroupBytes) {
  auto proj = cast<MemRefType>(op.getProjections().getType());
  int64_t tables = proj.getDimSize(0), hidden = proj.getDimSize(1), width = proj.getDimSize(2);
  if (!proj.hasStaticShape() || width % elementsPerVectorLoad(op.getProjections()) != 0 ||
      !hasIdentityLayout(op.getProjections()))
    return std::nullopt;
  NgramKernelConfig config{warps, 1, 0};
  int64_t rowBytes = tables * width * elementBytes(op.getTables());
  for (int64_t tokens : {4, 2, 1})
    if (tokens * (rowBytes + (tables + 1) * 4) <= workgroupBytes) {
      config.tokensPerBlock = tokens;
      break;
    }
  if (!config.tokensPerBlock)
    return std::nullopt;
  config.rowsPerWarp = std::max<int64_t>(1, hidden / (warps * minBlocks));
  return config;
}

void mlir::ember::buildNgramEmbedKernel(OpBuilder &b, NgramEmbedOp op, const NgramKernelConfig &config,
                                        GatherBoundsCheck boundsCheck, Attribute decision) {
  Location loc = op.getLoc();
  NgramConfigAttr ngram = op.getConfig();
  Value proj = op.getProjections(), tables = op.getTables(), out = op.getOut();
  auto projType = cast<MemRefType>(proj.getType());
  int64_t numTables = projType.getDimSize(0), hidden = projType.getDimSize(1), rowWidth = projType.getDimSize(2);
  int64_t width = elementsPerVectorLoad(proj), warps = config.warps, group = config.tokensPerBlock;
  int64_t rowsPerBlock = warps * config.rowsPerWarp, threads = warps * kWarpSize;
  SmallVector<int64_t> offsets = ngram.getRowOffsets();
  Value tokens = dimOf(b, loc, out, 0);
  Value gridX = indexConstant(b, loc, llvm::divideCeil(hidden, rowsPerBlock));
  Value gridY = arith::CeilDivUIOp::create(b, loc, tokens, indexConstant(b, loc, group));
  auto vectorType = VectorType::get({width}, b.getF32Type());
  // Per token: its E ids, then the token itself.
  int64_t idsPerToken = numTables + 1;
  Type rowElement = cast<MemRefType>(tables.getType()).getElementType();
  int64_t rowElementBytes = elementBytes(tables);
  auto body = [&](OpBuilder &b, Location loc, const KernelIds &ids, ValueRange workgroup) {
    Value hashed = workgroup[0], gathered = workgroup[1]; // [group][E + 1] i32, [group][E][W]
    Value firstToken = indexMul(b, loc, ids.blockY, indexConstant(b, loc, group));
    Value thread = indexAdd(b, loc, indexMul(b, loc, ids.threadY, indexConstant(b, loc, kWarpSize)), ids.threadX);
    // 1. Tokens past the end hash the last one and store nothing.
    buildIf(b, loc, indexLess(b, loc, thread, indexConstant(b, loc, group)), [&](OpBuilder &b, Location loc) {
      Value token = clampToLastToken(b, loc, indexAdd(b, loc, firstToken, thread), tokens);
      Value slot = loadIndex(b, loc, op.getSlots(), token);
      Value position = loadIndex(b, loc, op.getPositions(), token);
      SmallVector<Value> hashIds = buildNgramHashes(b, loc, ngram, op.getTable(), slot, position);
      Value base = indexMul(b, loc, thread, indexConstant(b, loc, idsPerToken));
      for (auto [i, id] : llvm::enumerate(hashIds))
        memref::StoreOp::create(b, loc, id, hashed, ValueRange{indexAdd(b, loc, base, indexConstant(b, loc, i))});
      memref::StoreOp::create(b, loc, memref::LoadOp::create(b, loc, op.getTokens(), token), hashed,
                              ValueRange{indexAdd(b, loc, base, indexConstant(b, loc, numTables))});
    });
    gpu::BarrierOp::create(b, loc);
    // 2. Item (j, w): column w of token j's E rows.
    Value rowWidthValue = indexConstant(b, loc, rowWidth);
    buildStridedLoop(
        b, loc, thread, indexConstant(b, loc, group * rowWidth), indexConstant(b, loc, threads),
        [&](OpBuilder &b, Location loc, Value item) {
          Value j = arith::DivUIOp::create(b, loc, item, rowWidthValue);
          Value w = arith::RemUIOp::create(b, loc, item, rowWidthValue);
          Value base = indexMul(b, loc, j, indexConstant(b, loc, idsPerToken));
          SmallVector<Value> values;
          for (int64_t i = 0; i < numTables; ++i) {
            Value id =
                memref::LoadOp::create(b, loc, hashed, ValueRange{indexAdd(b, loc, base, indexConstant(b, loc, i))});
            values.push_back(buildGatherLoad(b, loc, tables, id, offsets[i], w));
          }
          Value first = indexMul(b, loc, j, indexConstant(b, loc, numTables * rowWidth));
          for (int64_t i = 0; i < numTables; ++i)
            memref::StoreOp::create(
                b, loc,
                rowElement.isF32() ? values[i] : arith::TruncFOp::create(b, loc, rowElement, values[i]).getResult(),
                gathered,
                ValueRange{indexAdd(b, loc, first, indexAdd(b, loc, w, indexConstant(b, loc, i * rowWidth)))});
        });
    gpu::BarrierOp::create(b, loc);
    // 3. Rows d of the tile, warp y taking every warps-th.
    const int64_t wordOffsets[] = {0};
    GatherCheck wordCheck = buildGatherCheck(b, loc, boundsCheck, op.getEmbed(), wordOffsets, 0);
    Value tileStart = indexMul(b, loc, ids.blockX, indexConstant(b, loc, rowsPerBlock));
    buildStridedLoop(
        b, loc, indexAdd(b, loc, tileStart, ids.threadY),
        arith::MinUIOp::create(b, loc, indexAdd(b, loc, tileStart, indexConstant(b, loc, rowsPerBlock)),
                               indexConstant(b, loc, hidden)),
        indexConstant(b, loc, warps), [&](OpBuilder &b, Location loc, Value d) {
          Value zero = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(vectorType, 0.0f));
          ValueRange sums = buildStridedLoop(
              b, loc, indexConstant(b, loc, 0), indexConstant(b, loc, numTables), indexConstant(b, loc, 1),
              SmallVector<Value>(group, zero), [&](OpBuilder &b, Location loc, Value i, ValueRange acc) {
                return SmallVector<Value>(buildStridedLoop(
                    b, loc, indexMul(b, loc, ids.threadX, indexConstant(b, loc, width)), rowWidthValue,
                    indexConstant(b, loc, kWarpSize * width), acc,
                    [&](OpBuilder &b, Location loc, Value w, ValueRange acc) {
                      auto fastmath = arith::FastMathFlags::contract;
                      Value p = loadVectorF32(b, loc, proj, {i, d, w}, width, kVectorLoadBytes);
                      SmallVector<Value> next;
                      for (int64_t j = 0; j < group; ++j) {
                        Value at = indexAdd(
                            b, loc,
                            indexMul(b, loc, indexAdd(b, loc, indexConstant(b, loc, j * numTables), i), rowWidthValue),
                            w);
                        Value g = loadVectorF32(b, loc, gathered, {at}, width, rowElementBytes);
                        next.push_back(arith::AddFOp::create(b, loc, acc[j],
                                                             arith::MulFOp::create(b, loc, g, p, fastmath), fastmath));
                      }
                      return next;
                    }));
              });
          Value lane0 = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, ids.threadX, indexConstant(b, loc, 0));
          for (int64_t j = 0; j < group; ++j) {
            Value token = indexAdd(b, loc, firstToken, indexConstant(b, loc, j));
            // The condition is the same for the whole warp: shuffles stay
            // convergent.
            buildIf(b, loc, indexLess(b, loc, token, tokens), [&](OpBuilder &b, Location loc) {
              Value dot = buildWarpVectorSum(b, loc, sums[j]);
              buildIf(b, loc, lane0, [&](OpBuilder &b, Location loc) {
                Value x = memref::LoadOp::create(b, loc, hashed,
                                                 ValueRange{indexConstant(b, loc, j * idsPerToken + numTables)});
                Value sum =
                    arith::AddFOp::create(b, loc, buildGatherLoad(b, loc, op.getEmbed(), x, 0, d, wordCheck), dot);
                Value mean = arith::DivFOp::create(b, loc, sum, f32Constant(b, loc, 1.0 + numTables));
                memref::StoreOp::create(b, loc, mean, out, ValueRange{token, d});
              });
            });
          }
        });
  };
  buildCooperativeLaunch(
      b, loc, gridX, gridY, {kWarpSize, warps, 1},
      {workgroupMemRef(b.getI32Type(), group * idsPerToken), workgroupMemRef(rowElement, group * numTables * rowWidth)},
      decision, body);
}
