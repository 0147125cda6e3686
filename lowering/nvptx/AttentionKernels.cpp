//===- AttentionKernels.cpp - split_kv and block_split_k for MLA ----------===//
//
// mla_absorb as block_split_k (buildAbsorbKernel, at the end): its
// reduction runs down kv_b's key rows of a head, so consecutive outputs c
// are consecutive addresses of each row. Lanes take runs of 8 columns of c
// (16 bytes of bf16, 8 of FP8; a slice of up to 32 lanes covers the block's
// tile of columns) and the
// block's slices split the rows n; their partial sums meet in workgroup
// memory across one barrier. A block per (head, tile of columns, group of
// tokens).
//
// MLA decode attention as flash-decoding: the visible cache rows split into
// chunks, one block per (token, group of heads, chunk), then a combine.
// All heads attend to the same latent rows, so a block takes a group of
// heads and reads each of its chunk's rows once for all of them (the group
// as large as workgroup memory allows, up to 16 heads). The work of a block
// does not depend on the context length. The grid covers the cache's
// capacity (positions live in device memory); a block past its row's
// position records an empty chunk and the combine skips it.
//
// Partial kernel, per block (t, group, chunk):
//   1. the group's query rows [q_lat | q_rope] into workgroup memory;
//   2. scores: a warp per cache row (its lanes along the row, one load for
//      all heads of the group), shuffle sums;
//   3. per head the chunk's maximum m and weights p = exp(score - m);
//   4. per latent column, the unnormalized sum of p * c_kv;
//   5. m and l = sum p per head.
// Combine kernel, per (t, head, tile of latent columns): rescales the chunks
// to the overall maximum and divides by the overall sum, the paper's
// split-KV combine.
//
//===----------------------------------------------------------------------===//
#include "dialects/Ember/EmberDialect.h"
#include "lowering/LoopBuilders.h"
#include "lowering/nvptx/GpuKernelBuilders.h"
#include "lowering/nvptx/GpuStrategies.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <limits>

using namespace mlir;
using namespace mlir::ember;

std::optional<int64_t> mlir::ember::splitKvHeadsPerBlock(MlaAttentionOp op, const SplitKvConfig &config) {
  auto qLat = cast<MemRefType>(op.getQLat().getType()), qRope = cast<MemRefType>(op.getQRope().getType());
  int64_t heads = qLat.getDimSize(1), latent = qLat.getDimSize(2), rope = qRope.getDimSize(2);
  if (ShapedType::isDynamic(heads) || ShapedType::isDynamic(latent) || ShapedType::isDynamic(rope))
    return std::nullopt;
  int64_t best = 0;
  for (int64_t group = 1; group <= std::min<int64_t>(heads, 16); ++group)
    if (heads % group == 0 && group * (latent + rope + config.chunk + 1) * 4 <= config.workgroupBytes)
      best = group;
  return best ? std::optional<int64_t>(best) : std::nullopt;
}

void mlir::ember::buildSplitKvAttention(OpBuilder &b, MlaAttentionOp op, const SplitKvConfig &config, int64_t group,
                                        Attribute decision) {
  Location loc = op.getLoc();
  Value qLat = op.getQLat(), qRope = op.getQRope(), cache = op.getCache(), out = op.getOut();
  auto qType = cast<MemRefType>(qLat.getType());
  int64_t heads = qType.getDimSize(1), latent = qType.getDimSize(2);
  int64_t row = latent + cast<MemRefType>(qRope.getType()).getDimSize(2);
  int64_t chunk = config.chunk, threads = config.threads, warps = threads / kWarpSize;
  double scale = op.getScale().convertToDouble();
  MLIRContext *context = b.getContext();
  Type f32 = b.getF32Type();

  // The partial results: [T * H, chunks, C] sums and [T * H, chunks, 2]
  // (m, l), in device memory for the step.
  Value tokens = dimOf(b, loc, qLat, 0);
  // The grid covers the cache's capacity: the rows' positions are in device
  // memory, out of the host's reach (and a captured launch must not depend
  // on them). Chunks past a row's position record an empty chunk.
  Value capacity = dimOf(b, loc, cache, 1);
  Value chunks = arith::CeilDivUIOp::create(b, loc, capacity, indexConstant(b, loc, chunk));
  Value tokenHeads = indexMul(b, loc, tokens, indexConstant(b, loc, heads));
  Value sums =
      memref::AllocOp::create(b, loc, MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic, latent}, f32),
                              ValueRange{tokenHeads, chunks});
  Value stats = memref::AllocOp::create(b, loc, MemRefType::get({ShapedType::kDynamic, ShapedType::kDynamic, 2}, f32),
                                        ValueRange{tokenHeads, chunks});

  Value groupsPerToken = indexConstant(b, loc, heads / group);
  auto partial = [&](OpBuilder &b, Location loc, const KernelIds &ids, ValueRange workgroup) {
    Value queries = workgroup[0], scores = workgroup[1], maxima = workgroup[2];
    Value zero = indexConstant(b, loc, 0), one = indexConstant(b, loc, 1);
    Value t = arith::DivUIOp::create(b, loc, ids.blockX, groupsPerToken);
    Value firstHead =
        indexMul(b, loc, arith::RemUIOp::create(b, loc, ids.blockX, groupsPerToken), indexConstant(b, loc, group));
    Value step = indexConstant(b, loc, threads), rowWidth = indexConstant(b, loc, row),
          latentWidth = indexConstant(b, loc, latent), chunkSize = indexConstant(b, loc, chunk);
    // 1. The group's queries.
    buildStridedLoop(b, loc, ids.threadX, indexConstant(b, loc, group * row), step,
                     [&](OpBuilder &b, Location loc, Value i) {
                       Value h = indexAdd(b, loc, firstHead, arith::DivUIOp::create(b, loc, i, rowWidth));
                       Value c = arith::RemUIOp::create(b, loc, i, rowWidth);
                       auto load = scf::IfOp::create(
                           b, loc, indexLess(b, loc, c, latentWidth),
                           [&](OpBuilder &b, Location loc) {
                             scf::YieldOp::create(b, loc, loadF32(b, loc, qLat, {t, h, c}));
                           },
                           [&](OpBuilder &b, Location loc) {
                             Value r = arith::SubIOp::create(b, loc, c, latentWidth);
                             scf::YieldOp::create(b, loc, loadF32(b, loc, qRope, {t, h, r}));
                           });
                       memref::StoreOp::create(b, loc, load.getResult(0), queries, i);
                     });
    gpu::BarrierOp::create(b, loc);
    // The chunk's rows visible to row t: positions[t] + 1 in all, of its slot.
    Value slot = loadIndex(b, loc, op.getSlots(), t);
    Value position = loadIndex(b, loc, op.getPositions(), t);
    Value visible = indexAdd(b, loc, position, one);
    Value start = indexMul(b, loc, ids.blockY, chunkSize);
    Value rows = arith::SelectOp::create(
        b, loc, indexLess(b, loc, start, visible),
        arith::MinUIOp::create(b, loc, arith::SubIOp::create(b, loc, visible, start), chunkSize), zero);
    // 2. Scores: a warp per row; the condition is the same in all lanes.
    Value lane = arith::RemUIOp::create(b, loc, ids.threadX, indexConstant(b, loc, kWarpSize));
    Value warp = arith::DivUIOp::create(b, loc, ids.threadX, indexConstant(b, loc, kWarpSize));
    buildStridedLoop(b, loc, warp, chunkSize, indexConstant(b, loc, warps), [&](OpBuilder &b, Location loc, Value j) {
      buildIf(b, loc, indexLess(b, loc, j, rows), [&](OpBuilder &b, Location loc) {
        Value s = indexAdd(b, loc, start, j);
        SmallVector<Value> init(group, f32Constant(b, loc, 0.0));
        auto dots = scf::ForOp::create(
            b, loc, lane, rowWidth, indexConstant(b, loc, kWarpSize), init,
            [&](OpBuilder &b, Location loc, Value c, ValueRange acc) {
              Value value = loadF32(b, loc, cache, {slot, s, c});
              SmallVector<Value> next;
              for (int64_t h = 0; h < group; ++h) {
                Value q = memref::LoadOp::create(b, loc, queries, indexAdd(b, loc, c, indexConstant(b, loc, h * row)));
                next.push_back(arith::AddFOp::create(b, loc, acc[h], arith::MulFOp::create(b, loc, q, value)));
              }
              scf::YieldOp::create(b, loc, next);
            });
        for (int64_t h = 0; h < group; ++h) {
          Value score =
              arith::MulFOp::create(b, loc, buildWarpSum(b, loc, dots.getResult(h)), f32Constant(b, loc, scale));
          buildIf(b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane, zero),
                  [&](OpBuilder &b, Location loc) {
                    memref::StoreOp::create(b, loc, score, scores,
                                            indexAdd(b, loc, j, indexConstant(b, loc, h * chunk)));
                  });
        }
      });
    });
    gpu::BarrierOp::create(b, loc);
    // 3. Per head the chunk's maximum, then the weights in place of the
    //    scores.
    auto overRows = [&](OpBuilder &b, Location loc, Value h, Value init,
                        function_ref<Value(OpBuilder &, Location, Value, Value)> combine) {
      Value base = indexMul(b, loc, h, chunkSize);
      return buildSequentialLoop(b, loc, rows, init, [&](OpBuilder &b, Location loc, Value j, ValueRange acc) {
        Value score = memref::LoadOp::create(b, loc, scores, indexAdd(b, loc, base, j));
        return SmallVector<Value>{combine(b, loc, acc[0], score)};
      })[0];
    };
    Value groupSize = indexConstant(b, loc, group);
    buildIf(b, loc, indexLess(b, loc, ids.threadX, groupSize), [&](OpBuilder &b, Location loc) {
      Value maximum = overRows(b, loc, ids.threadX, f32Constant(b, loc, -std::numeric_limits<float>::infinity()),
                               [](OpBuilder &b, Location loc, Value acc, Value score) {
                                 return arith::MaximumFOp::create(b, loc, acc, score).getResult();
                               });
      memref::StoreOp::create(b, loc, maximum, maxima, ids.threadX);
    });
    gpu::BarrierOp::create(b, loc);
    buildStridedLoop(b, loc, ids.threadX, indexConstant(b, loc, group * chunk), step,
                     [&](OpBuilder &b, Location loc, Value i) {
                       Value j = arith::RemUIOp::create(b, loc, i, chunkSize);
                       buildIf(b, loc, indexLess(b, loc, j, rows), [&](OpBuilder &b, Location loc) {
                         Value head = arith::DivUIOp::create(b, loc, i, chunkSize);
                         Value m = memref::LoadOp::create(b, loc, maxima, head);
                         Value score = memref::LoadOp::create(b, loc, scores, i);
                         Value weight = math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, score, m));
                         memref::StoreOp::create(b, loc, weight, scores, i);
                       });
                     });
    gpu::BarrierOp::create(b, loc);
    // 4. Unnormalized sums per latent column, each row read once for the
    //    group.
    Value th0 = indexAdd(b, loc, indexMul(b, loc, t, indexConstant(b, loc, heads)), firstHead);
    buildStridedLoop(b, loc, ids.threadX, latentWidth, step, [&](OpBuilder &b, Location loc, Value c) {
      SmallVector<Value> init(group, f32Constant(b, loc, 0.0));
      auto sumsOfColumn =
          scf::ForOp::create(b, loc, zero, rows, one, init, [&](OpBuilder &b, Location loc, Value j, ValueRange acc) {
            Value value = loadF32(b, loc, cache, {slot, indexAdd(b, loc, start, j), c});
            SmallVector<Value> next;
            for (int64_t h = 0; h < group; ++h) {
              Value weight =
                  memref::LoadOp::create(b, loc, scores, indexAdd(b, loc, j, indexConstant(b, loc, h * chunk)));
              next.push_back(arith::AddFOp::create(b, loc, acc[h], arith::MulFOp::create(b, loc, weight, value)));
            }
            scf::YieldOp::create(b, loc, next);
          });
      for (int64_t h = 0; h < group; ++h)
        memref::StoreOp::create(b, loc, sumsOfColumn.getResult(h), sums,
                                ValueRange{indexAdd(b, loc, th0, indexConstant(b, loc, h)), ids.blockY, c});
    });
    // 5. m and l per head.
    buildIf(b, loc, indexLess(b, loc, ids.threadX, groupSize), [&](OpBuilder &b, Location loc) {
      Value total = overRows(b, loc, ids.threadX, f32Constant(b, loc, 0.0),
                             [](OpBuilder &b, Location loc, Value acc, Value weight) {
                               return arith::AddFOp::create(b, loc, acc, weight).getResult();
                             });
      Value th = indexAdd(b, loc, th0, ids.threadX);
      memref::StoreOp::create(b, loc, memref::LoadOp::create(b, loc, maxima, ids.threadX), stats,
                              ValueRange{th, ids.blockY, zero});
      memref::StoreOp::create(b, loc, total, stats, ValueRange{th, ids.blockY, one});
    });
  };
  buildCooperativeLaunch(
      b, loc, indexMul(b, loc, tokens, groupsPerToken), chunks, {threads, 1, 1},
      {workgroupF32(context, group * row), workgroupF32(context, group * chunk), workgroupF32(context, group)},
      decision, partial);

  auto combine = [&](OpBuilder &b, Location loc, const KernelIds &ids, ValueRange) {
    Value zero = indexConstant(b, loc, 0), one = indexConstant(b, loc, 1);
    Value th = ids.blockX, headCount = indexConstant(b, loc, heads);
    Value t = arith::DivUIOp::create(b, loc, th, headCount), h = arith::RemUIOp::create(b, loc, th, headCount);
    auto overChunks = [&](Value init, function_ref<Value(OpBuilder &, Location, Value, Value)> combine) {
      return buildSequentialLoop(b, loc, chunks, init, [&](OpBuilder &b, Location loc, Value i, ValueRange acc) {
        return SmallVector<Value>{combine(b, loc, acc[0], i)};
      })[0];
    };
    auto maximumOf = [&](OpBuilder &b, Location loc, Value i) {
      return memref::LoadOp::create(b, loc, stats, ValueRange{th, i, zero}).getResult();
    };
    Value maximum = overChunks(f32Constant(b, loc, -std::numeric_limits<float>::infinity()),
                               [&](OpBuilder &b, Location loc, Value acc, Value i) {
                                 return arith::MaximumFOp::create(b, loc, acc, maximumOf(b, loc, i)).getResult();
                               });
    // A chunk's rescaling; 0 for chunks token t does not see (m = -inf).
    auto rescale = [&](OpBuilder &b, Location loc, Value i) {
      return math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, maximumOf(b, loc, i), maximum)).getResult();
    };
    Value total = overChunks(f32Constant(b, loc, 0.0), [&](OpBuilder &b, Location loc, Value acc, Value i) {
      Value l = memref::LoadOp::create(b, loc, stats, ValueRange{th, i, one});
      return arith::AddFOp::create(b, loc, acc, arith::MulFOp::create(b, loc, l, rescale(b, loc, i))).getResult();
    });
    // A column per thread: block y takes the y-th tile of `threads` columns.
    Value c = indexAdd(b, loc, indexMul(b, loc, ids.blockY, indexConstant(b, loc, threads)), ids.threadX);
    buildIf(b, loc, indexLess(b, loc, c, indexConstant(b, loc, latent)), [&](OpBuilder &b, Location loc) {
      Value sum = buildSequentialLoop(b, loc, chunks, f32Constant(b, loc, 0.0),
                                      [&](OpBuilder &b, Location loc, Value i, ValueRange acc) {
                                        Value part = memref::LoadOp::create(b, loc, sums, ValueRange{th, i, c});
                                        Value scaled = arith::MulFOp::create(b, loc, part, rescale(b, loc, i));
                                        return SmallVector<Value>{arith::AddFOp::create(b, loc, acc[0], scaled)};
                                      })[0];
      memref::StoreOp::create(b, loc, arith::DivFOp::create(b, loc, sum, total), out, ValueRange{t, h, c});
    });
  };
  // Tiles of columns on grid y: the partial sums are most of what the
  // combine reads (T H chunks C floats), and a block per (token, head)
  // alone would leave SMs idle at decode.
  buildCooperativeLaunch(b, loc, tokenHeads, indexConstant(b, loc, llvm::divideCeil(latent, threads)), {threads, 1, 1},
                         {}, decision, combine);
  memref::DeallocOp::create(b, loc, sums);
  memref::DeallocOp::create(b, loc, stats);
}

/// kv_b's block scales, empty for bf16.
static BlockScales kvBScales(MlaAbsorbOp op) { return BlockScales::of(op.getKvBScale(), op.getWeightBlock()); }

/// The columns of a lane's run: each lane keeps a sum per column and token,
/// so a run of FP8 weights is 8 wide (8-byte loads), like bf16's.
static int64_t absorbRunWidth(MlaAbsorbOp op) {
  return accumulatorLanes(weightVectorWidth(op.getKvB(), kvBScales(op)));
}

bool mlir::ember::fitsAbsorbKernel(MlaAbsorbOp op) {
  auto qNope = cast<MemRefType>(op.getQNope().getType()), kvB = cast<MemRefType>(op.getKvB().getType());
  int64_t heads = qNope.getDimSize(1), keys = qNope.getDimSize(2), rows = kvB.getDimSize(0), latent = kvB.getDimSize(1);
  return ShapedType::isStatic(heads) && ShapedType::isStatic(keys) && ShapedType::isStatic(rows) &&
         ShapedType::isStatic(latent) && latent % absorbRunWidth(op) == 0 && hasIdentityLayout(op.getKvB());
}

void mlir::ember::buildAbsorbKernel(OpBuilder &b, MlaAbsorbOp op, int64_t warps, int64_t minBlocks,
                                    Attribute decision) {
  Location loc = op.getLoc();
  Value qNope = op.getQNope(), kvB = op.getKvB(), out = op.getOut();
  auto qType = cast<MemRefType>(qNope.getType());
  int64_t heads = qType.getDimSize(1), keys = qType.getDimSize(2);
  int64_t rowsPerHead = cast<MemRefType>(kvB.getType()).getDimSize(0) / heads,
          latent = cast<MemRefType>(kvB.getType()).getDimSize(1);
  // A warp splits into slices of `lanes` lanes, each slice on its own row n
  // with a run of `width` columns per lane: the block's tile of columns.
  // Slices narrow (down to 8 lanes, 128 contiguous bytes a row) while the
  // tiles would leave fewer than `minBlocks` blocks.
  int64_t width = absorbRunWidth(op);
  BlockScales scales = kvBScales(op);
  int64_t lanes = std::min<int64_t>(kWarpSize, int64_t(llvm::bit_floor(uint64_t(latent / width))));
  while (lanes > 8 && heads * int64_t(llvm::divideCeil(latent, lanes * width)) < minBlocks)
    lanes /= 2;
  int64_t tile = lanes * width, tiles = llvm::divideCeil(latent, tile), slicesPerWarp = kWarpSize / lanes;
  int64_t slices = warps * slicesPerWarp, group = kAbsorbTokensPerBlock;
  Value tokens = dimOf(b, loc, out, 0);
  Value gridX = indexConstant(b, loc, heads * tiles);
  Value gridY = arith::CeilDivUIOp::create(b, loc, tokens, indexConstant(b, loc, group));
  auto vectorType = VectorType::get({width}, b.getF32Type());
  auto body = [&](OpBuilder &b, Location loc, const KernelIds &ids, ValueRange workgroup) {
    Value partial = workgroup[0]; // [slice][token of the group][column of the tile]
    Value head = arith::DivUIOp::create(b, loc, ids.blockX, indexConstant(b, loc, tiles));
    Value tileStart = indexMul(b, loc, arith::RemUIOp::create(b, loc, ids.blockX, indexConstant(b, loc, tiles)),
                               indexConstant(b, loc, tile));
    Value slice = indexAdd(b, loc, indexMul(b, loc, ids.threadY, indexConstant(b, loc, slicesPerWarp)),
                           arith::DivUIOp::create(b, loc, ids.threadX, indexConstant(b, loc, lanes)));
    Value laneColumn = indexMul(b, loc, arith::RemUIOp::create(b, loc, ids.threadX, indexConstant(b, loc, lanes)),
                                indexConstant(b, loc, width));
    Value column = indexAdd(b, loc, tileStart, laneColumn);
    Value firstToken = indexMul(b, loc, ids.blockY, indexConstant(b, loc, group));
    SmallVector<Value> tokenOf;
    for (int64_t j = 0; j < group; ++j)
      tokenOf.push_back(clampToLastToken(b, loc, indexAdd(b, loc, firstToken, indexConstant(b, loc, j)), tokens));
    Value zero = arith::ConstantOp::create(b, loc, DenseElementsAttr::get(vectorType, 0.0f));
    SmallVector<Type> accTypes(group, vectorType);
    // Lanes past the latent width only add zeros: every thread reaches the
    // barrier.
    auto active = scf::IfOp::create(b, loc, accTypes, indexLess(b, loc, column, indexConstant(b, loc, latent)),
                                    /*addThenBlock=*/true, /*addElseBlock=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(active.thenBlock());
      Value firstRow = indexMul(b, loc, head, indexConstant(b, loc, rowsPerHead));
      ValueRange sums = buildStridedLoop(
          b, loc, slice, indexConstant(b, loc, keys), indexConstant(b, loc, slices), SmallVector<Value>(group, zero),
          [&](OpBuilder &b, Location loc, Value n, ValueRange acc) {
            Value w = loadWeightVector(b, loc, kvB, scales, {indexAdd(b, loc, firstRow, n), column}, width);
            SmallVector<Value> next;
            for (int64_t j = 0; j < group; ++j) {
              Value q = vector::BroadcastOp::create(b, loc, vectorType, loadF32(b, loc, qNope, {tokenOf[j], head, n}));
              next.push_back(arith::AddFOp::create(b, loc, acc[j], arith::MulFOp::create(b, loc, q, w)));
            }
            return next;
          });
      scf::YieldOp::create(b, loc, sums);
      b.setInsertionPointToStart(active.elseBlock());
      scf::YieldOp::create(b, loc, SmallVector<Value>(group, zero));
    }
    for (int64_t j = 0; j < group; ++j) {
      Value slot = indexAdd(
          b, loc,
          indexMul(b, loc,
                   indexAdd(b, loc, indexMul(b, loc, slice, indexConstant(b, loc, group)), indexConstant(b, loc, j)),
                   indexConstant(b, loc, tile)),
          laneColumn);
      vector::StoreOp::create(b, loc, active.getResult(j), partial, ValueRange{slot});
    }
    gpu::BarrierOp::create(b, loc);
    // The block's threads add up the slices' partial sums of the group's
    // tokens and the tile's columns.
    Value thread = indexAdd(b, loc, indexMul(b, loc, ids.threadY, indexConstant(b, loc, kWarpSize)), ids.threadX);
    buildStridedLoop(
        b, loc, thread, indexConstant(b, loc, group * tile), indexConstant(b, loc, warps * kWarpSize),
        [&](OpBuilder &b, Location loc, Value i) {
          Value j = arith::DivUIOp::create(b, loc, i, indexConstant(b, loc, tile));
          Value local = arith::RemUIOp::create(b, loc, i, indexConstant(b, loc, tile));
          Value token = indexAdd(b, loc, firstToken, j), c = indexAdd(b, loc, tileStart, local);
          Value inRange = arith::AndIOp::create(b, loc, indexLess(b, loc, token, tokens),
                                                indexLess(b, loc, c, indexConstant(b, loc, latent)));
          buildIf(b, loc, inRange, [&](OpBuilder &b, Location loc) {
            Value sum = f32Constant(b, loc, 0.0);
            for (int64_t s = 0; s < slices; ++s)
              sum = arith::AddFOp::create(
                  b, loc, sum,
                  memref::LoadOp::create(b, loc, partial,
                                         ValueRange{indexAdd(b, loc, indexConstant(b, loc, s * group * tile), i)}));
            memref::StoreOp::create(b, loc, sum, out, ValueRange{token, head, c});
          });
        });
  };
  buildCooperativeLaunch(b, loc, gridX, gridY, {kWarpSize, warps, 1},
                         {workgroupF32(b.getContext(), slices * group * tile)}, decision, body);
}
