//===- TensorCoreKernels.cpp - the mma_sync_tile strategy ------------------===//
//
// Prefill GEMMs on tensor cores: out[T, O] = x[T, K] * W[O, K]^T for the
// GEMV class (linear, norm_linear, swiglu, norm_swiglu) with bf16 weights.
// A block of 4 warps owns a tile of 64 tokens x 64 output rows (32 for
// swiglu's two weights); each warp a quarter of it, as 2 x 4 (2 x 2) tiles
// of mma.sync.m16n8k16 (bf16 in, f32 accumulated). Per step of BK along K:
//   (1) the tile's x (f32) and W (bf16) move from registers into workgroup
//       memory, x split into bf16 hi + lo halves;
//   (2) the next step's tile is loaded from global memory into registers
//       (16-byte loads), in flight while
//   (3) the warps run their MMAs from workgroup memory.
// Activations are f32 in ember, weights bf16: x = hi + lo with both halves
// in bf16 carries 16 of f32's 24 mantissa bits, so two MMAs per fragment
// keep prefill within the f32 reference's tolerance where one bf16 MMA
// would not. The recomputed RMSNorm of norm_linear / norm_swiglu costs no
// pass: each thread stages the same rows at every step, so it sums their
// squares on the way, and the rows' inverses scale the results at the end.
//
// Fragments as the PTX ISA lays out m16n8k16 (lane = 4 * group + t):
// A rows group and group + 8, columns 2t, 2t + 1 (+ 8); B column group,
// rows 2t, 2t + 1 (+ 8); C rows group and group + 8, columns 2t, 2t + 1.
// Fragments come from workgroup memory by ldmatrix.x4 (four 8 x 8 blocks
// per instruction: one A fragment, or the B fragments of two n tiles).
// Workgroup rows hold BK / 2 words (bf16 pairs) padded by 4 (48 or 80
// bytes: 16-byte aligned, as ldmatrix's row addresses must be), so the 8
// rows x 4 words of one matrix fall into 32 distinct banks.
//
//===----------------------------------------------------------------------===//
#include "dialects/Ember/EmberDialect.h"
#include "lowering/LoopBuilders.h"
#include "lowering/nvptx/GemvOperands.h"
#include "lowering/nvptx/GpuKernelBuilders.h"
#include "lowering/nvptx/GpuStrategies.h"
#include "lowering/nvptx/TensorCoreTile.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::ember;

namespace {

constexpr int64_t kWarpTokens = 32, kWarpsAlongRows = 2;
constexpr int64_t kMmaM = 16, kMmaN = 8, kMmaK = 16, kMTiles = kWarpTokens / kMmaM;

Value divConst(OpBuilder &b, Location loc, Value value, int64_t divisor) {
  return arith::DivUIOp::create(b, loc, value, indexConstant(b, loc, divisor));
}
Value remConst(OpBuilder &b, Location loc, Value value, int64_t divisor) {
  return arith::RemUIOp::create(b, loc, value, indexConstant(b, loc, divisor));
}
Value mulConst(OpBuilder &b, Location loc, Value value, int64_t factor) {
  return indexMul(b, loc, value, indexConstant(b, loc, factor));
}
Value addConst(OpBuilder &b, Location loc, Value value, int64_t offset) {
  return indexAdd(b, loc, value, indexConstant(b, loc, offset));
}

/// Where thread `tid`'s `index`-th load of a tile lands: row and column
/// (in elements) within the tile, for `perRow` loads of `width` per row.
std::pair<Value, Value> loadSlot(OpBuilder &b, Location loc, Value tid, int64_t index, int64_t perRow, int64_t width) {
  Value slot = addConst(b, loc, tid, index * kTensorCoreThreads);
  return {divConst(b, loc, slot, perRow), mulConst(b, loc, remConst(b, loc, slot, perRow), width)};
}

/// A bf16 vector of `values` (f32) as 32-bit words, two elements each, the
/// lower index in the low half as mma.sync reads them.
Value packBf16(OpBuilder &b, Location loc, Value values) {
  auto type = cast<VectorType>(values.getType());
  Value bf16 = arith::TruncFOp::create(b, loc, VectorType::get(type.getShape(), b.getBF16Type()), values);
  return vector::BitCastOp::create(b, loc, VectorType::get({type.getNumElements() / 2}, b.getI32Type()), bf16);
}

/// ldmatrix.x4 of 8 x 8 blocks of 16-bit elements (not transposed): this
/// lane's row address is 32-bit word `word` of the workgroup buffer `tile`;
/// the lane's word of each of the four matrices.
SmallVector<Value, 4> loadMatrices(OpBuilder &b, Location loc, Value tile, Value word) {
  auto type = VectorType::get({4, 1}, b.getI32Type());
  Value matrices = nvgpu::LdMatrixOp::create(b, loc, type, tile, ValueRange{word}, /*transpose=*/false, 4);
  SmallVector<Value, 4> words;
  for (int64_t i = 0; i < 4; ++i)
    words.push_back(vector::ExtractOp::create(b, loc, matrices, ArrayRef<int64_t>{i, 0}));
  return words;
}

} // namespace

TileShape mlir::ember::tileShape(int64_t weights) {
  TileShape shape;
  shape.weights = weights;
  shape.warpRows = 32 / weights;
  shape.rows = kWarpsAlongRows * shape.warpRows;
  shape.nTiles = shape.warpRows / kMmaN;
  shape.accumulators = kMTiles * shape.nTiles * 4;
  // One 16-byte load of each weight per thread and step; two weights have
  // half the rows, so their steps are twice as long. (32 for one weight
  // left ptxas spilling at tiny shapes: it caps registers for occupancy.)
  shape.bk = kMmaK * weights;
  shape.strideWords = shape.bk / 2 + 4;
  shape.xLoadsPerRow = shape.bk / 4; // vector<4xf32>
  shape.xLoads = kTileTokens * shape.xLoadsPerRow / kTensorCoreThreads;
  shape.wLoadsPerRow = shape.bk / 8; // vector<8xbf16>
  shape.wLoads = shape.rows * shape.wLoadsPerRow / kTensorCoreThreads;
  return shape;
}

bool mlir::ember::fitsTile(int64_t weights, int64_t inputs) { return inputs % (kMmaK * weights) == 0; }

SmallVector<Type> mlir::ember::tileWorkgroup(MLIRContext *context, const TileShape &shape) {
  Type i32 = IntegerType::get(context, 32);
  SmallVector<Type> types(2, workgroupMemRef(i32, kTileTokens * shape.strideWords));
  types.append(shape.weights, workgroupMemRef(i32, shape.rows * shape.strideWords));
  return types;
}

TileThread mlir::ember::tileThread(OpBuilder &b, Location loc, const TileShape &shape, Value tid) {
  TileThread thread;
  thread.tid = tid;
  thread.lane = remConst(b, loc, tid, kWarpSize);
  Value warp = divConst(b, loc, tid, kWarpSize);
  thread.group = divConst(b, loc, thread.lane, 4);
  thread.inGroup = remConst(b, loc, thread.lane, 4);
  thread.warpToken = mulConst(b, loc, divConst(b, loc, warp, kWarpsAlongRows), kWarpTokens);
  thread.warpRow = mulConst(b, loc, remConst(b, loc, warp, kWarpsAlongRows), shape.warpRows);
  for (int64_t j = 0; j < shape.xLoads; ++j)
    thread.xSlots.push_back(loadSlot(b, loc, tid, j, shape.xLoadsPerRow, 4));
  for (int64_t j = 0; j < shape.wLoads; ++j)
    thread.wSlots.push_back(loadSlot(b, loc, tid, j, shape.wLoadsPerRow, 8));
  return thread;
}

SmallVector<Value> mlir::ember::buildTileMainLoop(OpBuilder &b, Location loc, const TileShape &tile,
                                                  const TileThread &thread, ValueRange workgroup,
                                                  const TileOperands &operands) {
  Value xHi = workgroup[0], xLo = workgroup[1];
  ValueRange wTiles = workgroup.slice(2, tile.weights);
  Type i32 = b.getI32Type(), f32 = b.getF32Type();
  auto x4 = VectorType::get({4}, f32);
  bool normed = bool(operands.normWeight);
  Value stride = indexConstant(b, loc, tile.strideWords);
  auto stagedWord = [&](Value row, Value column) { // column in elements, even
    return indexAdd(b, loc, indexMul(b, loc, row, stride), divConst(b, loc, column, 2));
  };
  // The row this lane addresses for ldmatrix.x4 (lanes 8i..8i + 7 give
  // matrix i's 8 rows): matrices 0 and 2 rows 0-7, 1 and 3 rows 8-15;
  // 2 and 3 the second 8 columns (k). That is an A fragment, a0..a3.
  Value lane = thread.lane;
  Value matrixRow =
      indexAdd(b, loc, remConst(b, loc, lane, 8), mulConst(b, loc, remConst(b, loc, divConst(b, loc, lane, 8), 2), 8));
  Value matrixColumn = mulConst(b, loc, divConst(b, loc, lane, 16), 8);

  // Registers of one step: x, then each weight.
  auto loadStep = [&](OpBuilder &b, Location loc, Value k0) {
    SmallVector<Value> regs;
    for (int64_t j = 0; j < tile.xLoads; ++j)
      regs.push_back(loadVectorF32(
          b, loc, operands.x, {operands.xRows[j], indexAdd(b, loc, k0, thread.xSlots[j].second)}, 4, kVectorLoadBytes));
    for (Value weight : operands.weights)
      for (int64_t j = 0; j < tile.wLoads; ++j) {
        auto type = VectorType::get({8}, b.getBF16Type());
        SmallVector<Value, 3> index(operands.weightLead.begin(), operands.weightLead.end());
        index.append({operands.wRows[j], indexAdd(b, loc, k0, thread.wSlots[j].second)});
        auto load = vector::LoadOp::create(b, loc, type, weight, index);
        load.setAlignment(kVectorLoadBytes);
        regs.push_back(load);
      }
    return regs;
  };
  int64_t wRegsBase = tile.xLoads;
  int64_t regCount = wRegsBase + tile.weights * tile.wLoads;

  // Loop-carried: accumulators, the next step's registers, the sums of
  // squares of this thread's x rows (normed).
  Value zero = f32Constant(b, loc, 0.0);
  SmallVector<Value> init(tile.weights * tile.accumulators, zero);
  llvm::append_range(init, loadStep(b, loc, indexConstant(b, loc, 0)));
  if (normed)
    init.append(tile.xLoads, zero);
  int64_t accCount = tile.weights * tile.accumulators;
  auto loop = scf::ForOp::create(
      b, loc, indexConstant(b, loc, 0), indexConstant(b, loc, operands.inputs), indexConstant(b, loc, tile.bk), init,
      [&](OpBuilder &b, Location loc, Value k0, ValueRange carried) {
        ValueRange acc = carried.take_front(accCount), regs = carried.slice(accCount, regCount);
        SmallVector<Value> sums(carried.drop_front(accCount + regCount));
        // (1) Stage this step's tile.
        for (int64_t j = 0; j < tile.xLoads; ++j) {
          Value x = regs[j];
          if (normed) {
            Value squares = arith::MulFOp::create(b, loc, x, x);
            sums[j] = arith::AddFOp::create(b, loc, sums[j],
                                            vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, squares));
            // The norm weight is read here, not carried: it is small
            // (cached) and the registers go to the prefetched tile.
            int64_t bits = getElementTypeOrSelf(operands.normWeight.getType()).getIntOrFloatBitWidth();
            Value k = indexAdd(b, loc, k0, thread.xSlots[j].second);
            x = arith::MulFOp::create(b, loc, x, loadVectorF32(b, loc, operands.normWeight, {k}, 4, 4 * bits / 8));
          }
          Value hi = packBf16(b, loc, x);
          Value hiBf16 = vector::BitCastOp::create(b, loc, VectorType::get({4}, b.getBF16Type()), hi);
          Value hiF32 = arith::ExtFOp::create(b, loc, x4, hiBf16);
          Value lo = packBf16(b, loc, arith::SubFOp::create(b, loc, x, hiF32));
          Value word = stagedWord(thread.xSlots[j].first, thread.xSlots[j].second);
          vector::StoreOp::create(b, loc, hi, xHi, word);
          vector::StoreOp::create(b, loc, lo, xLo, word);
        }
        for (int64_t m = 0; m < tile.weights; ++m)
          for (int64_t j = 0; j < tile.wLoads; ++j) {
            Value words =
                vector::BitCastOp::create(b, loc, VectorType::get({4}, i32), regs[wRegsBase + m * tile.wLoads + j]);
            vector::StoreOp::create(b, loc, words, wTiles[m],
                                    stagedWord(thread.wSlots[j].first, thread.wSlots[j].second));
          }
        gpu::BarrierOp::create(b, loc);
        // (2) The next step's loads (the last step reloads its own tile).
        Value next = arith::MinUIOp::create(b, loc, addConst(b, loc, k0, tile.bk),
                                            indexConstant(b, loc, operands.inputs - tile.bk));
        SmallVector<Value> nextRegs = loadStep(b, loc, next);
        // (3) MMAs on the staged tile, their fragments loaded by
        // ldmatrix.x4.
        SmallVector<Value> out(acc);
        auto fragments = [&](Value staged, Value firstRow, int64_t word) {
          Value address = indexAdd(b, loc, stagedWord(indexAdd(b, loc, firstRow, matrixRow), matrixColumn),
                                   indexConstant(b, loc, word));
          return loadMatrices(b, loc, staged, address);
        };
        for (int64_t kk = 0; kk < tile.bk / kMmaK; ++kk) {
          int64_t word = kk * kMmaK / 2;
          SmallVector<SmallVector<Value, 4>> aFragments; // per m tile: hi, then lo
          SmallVector<Value, 4> bPair;
          for (int64_t mi = 0; mi < kMTiles; ++mi)
            for (Value half : {xHi, xLo})
              aFragments.push_back(fragments(half, addConst(b, loc, thread.warpToken, mi * kMmaM), word));
          for (int64_t m = 0; m < tile.weights; ++m)
            for (int64_t ni = 0; ni < tile.nTiles; ++ni) {
              // One ldmatrix.x4 holds the B fragments of tiles ni and ni + 1:
              // matrices 0 and 2 are tile ni's two k halves, 1 and 3 tile
              // ni + 1's (rows 8-15).
              if (ni % 2 == 0)
                bPair = fragments(wTiles[m], addConst(b, loc, thread.warpRow, ni * kMmaN), word);
              SmallVector<Value, 2> bFragment{bPair[ni % 2], bPair[ni % 2 + 2]};
              for (int64_t mi = 0; mi < kMTiles; ++mi) {
                int64_t first = m * tile.accumulators + (mi * tile.nTiles + ni) * 4;
                for (int64_t half = 0; half < 2; ++half) {
                  SmallVector<Value, 4> c(ArrayRef<Value>(out).slice(first, 4));
                  auto structType = LLVM::LLVMStructType::getLiteral(b.getContext(), {f32, f32, f32, f32});
                  Value d = NVVM::MmaOp::create(
                      b, loc, structType, aFragments[mi * 2 + half], bFragment, c, {kMmaM, kMmaN, kMmaK}, std::nullopt,
                      std::nullopt, std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16, NVVM::MMATypes::bf16},
                      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row, NVVM::MMALayout::col});
                  for (int64_t i = 0; i < 4; ++i)
                    out[first + i] = LLVM::ExtractValueOp::create(b, loc, d, ArrayRef<int64_t>{i});
                }
              }
            }
        }
        gpu::BarrierOp::create(b, loc);
        llvm::append_range(out, nextRegs);
        llvm::append_range(out, sums);
        scf::YieldOp::create(b, loc, out);
      });
  SmallVector<Value> results(loop.getResults().take_front(accCount));
  llvm::append_range(results, loop.getResults().drop_front(accCount + regCount));
  return results;
}

void mlir::ember::forEachTileOutput(
    OpBuilder &b, Location loc, const TileShape &shape, const TileThread &thread,
    function_ref<void(OpBuilder &, Location, Value token, Value row, int64_t accumulator)> store) {
  for (int64_t mi = 0; mi < kMTiles; ++mi)
    for (int64_t half = 0; half < 2; ++half) {
      Value token = indexAdd(b, loc, addConst(b, loc, thread.warpToken, mi * kMmaM + half * 8), thread.group);
      for (int64_t ni = 0; ni < shape.nTiles; ++ni)
        for (int64_t column = 0; column < 2; ++column) {
          Value row = indexAdd(b, loc, addConst(b, loc, thread.warpRow, ni * kMmaN + column),
                               mulConst(b, loc, thread.inGroup, 2));
          store(b, loc, token, row, (mi * shape.nTiles + ni) * 4 + half * 2 + column);
        }
    }
}

bool mlir::ember::fitsTensorCoreKernel(Operation *op) {
  std::optional<GemvOp> gemv = asGemv(op);
  if (!gemv || gemv->headRows || !gemvShape(op) || !fitsTile(gemv->weights.size(), inputWidth(*gemv)))
    return false;
  return llvm::all_of(gemv->weights,
                      [](Value weight) { return cast<MemRefType>(weight.getType()).getElementType().isBF16(); }) &&
         cast<MemRefType>(gemv->x.getType()).getElementType().isF32();
}

void mlir::ember::buildTensorCoreKernel(OpBuilder &b, Operation *op, Attribute decision) {
  GemvOp gemv = *asGemv(op);
  Location loc = op->getLoc();
  int64_t inputs = inputWidth(gemv), outputs = outputCount(gemv);
  bool normed = bool(gemv.normWeight);
  TileShape tile = tileShape(gemv.weights.size());
  Value tokens = dimOf(b, loc, gemv.out, 0);
  Value gridX = indexConstant(b, loc, llvm::divideCeil(outputs, tile.rows));
  Value gridY = arith::CeilDivUIOp::create(b, loc, tokens, indexConstant(b, loc, kTileTokens));
  // Workgroup memory: the tile's, then the rows' norm factors.
  SmallVector<Type> workgroup = tileWorkgroup(b.getContext(), tile);
  if (normed)
    workgroup.push_back(workgroupF32(b.getContext(), kTileTokens));

  auto body = [&](OpBuilder &b, Location loc, const KernelIds &ids, ValueRange buffers) {
    TileThread thread = tileThread(b, loc, tile, ids.threadX);
    Value firstToken = mulConst(b, loc, ids.blockY, kTileTokens), firstRow = mulConst(b, loc, ids.blockX, tile.rows);
    // This thread's rows of every step: tokens past the end read the last
    // one, weight rows past the end the last one.
    TileOperands operands{gemv.x, {}, gemv.weights, {}, {}, inputs, gemv.normWeight};
    for (auto [row, column] : thread.xSlots)
      operands.xRows.push_back(clampToLastToken(b, loc, indexAdd(b, loc, firstToken, row), tokens));
    Value lastRow = indexConstant(b, loc, outputs - 1);
    for (auto [row, column] : thread.wSlots)
      operands.wRows.push_back(arith::MinUIOp::create(b, loc, indexAdd(b, loc, firstRow, row), lastRow));
    SmallVector<Value> results = buildTileMainLoop(b, loc, tile, thread, buffers, operands);
    ArrayRef<Value> acc = ArrayRef<Value>(results).take_front(tile.weights * tile.accumulators);

    // (4) The rows' norm factors: the threads staging a row hold its sum of
    // squares in parts, consecutive lanes.
    Value norms = normed ? buffers.back() : Value();
    if (normed) {
      Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                          remConst(b, loc, thread.tid, tile.xLoadsPerRow), indexConstant(b, loc, 0));
      for (int64_t j = 0; j < tile.xLoads; ++j) {
        Value sum = buildWarpSum(b, loc, results[acc.size() + j], tile.xLoadsPerRow);
        buildIf(b, loc, first, [&](OpBuilder &b, Location loc) {
          // rsqrt(mean + eps) without a division: ptxas calls a subroutine
          // for IEEE f32 division, and the 32 accumulators live across it
          // spill.
          Value mean = arith::MulFOp::create(b, loc, sum, f32Constant(b, loc, 1.0 / double(inputs)));
          Value inverse =
              math::RsqrtOp::create(b, loc, arith::AddFOp::create(b, loc, mean, f32Constant(b, loc, gemv.eps)));
          memref::StoreOp::create(b, loc, arith::MulFOp::create(b, loc, inverse, f32Constant(b, loc, gemv.scale)),
                                  norms, thread.xSlots[j].first);
        });
      }
      gpu::BarrierOp::create(b, loc);
    }

    // (5) Epilogue: each accumulator to its (token, row); tokens and rows
    // past the ends store nothing.
    forEachTileOutput(
        b, loc, tile, thread, [&](OpBuilder &b, Location loc, Value localToken, Value localRow, int64_t accumulator) {
          Value token = indexAdd(b, loc, firstToken, localToken), row = indexAdd(b, loc, firstRow, localRow);
          Value inside = arith::AndIOp::create(b, loc, indexLess(b, loc, token, tokens),
                                               indexLess(b, loc, row, indexConstant(b, loc, outputs)));
          buildIf(b, loc, inside, [&](OpBuilder &b, Location loc) {
            Value factor = normed ? memref::LoadOp::create(b, loc, norms, localToken).getResult() : Value();
            SmallVector<Value, 2> dots;
            for (int64_t m = 0; m < tile.weights; ++m) {
              Value dot = acc[m * tile.accumulators + accumulator];
              dots.push_back(normed ? arith::MulFOp::create(b, loc, dot, factor).getResult() : dot);
            }
            storeGemvOutput(b, loc, gemv, dots, ValueRange{token, row});
          });
        });
  };
  buildCooperativeLaunch(b, loc, gridX, gridY, {kTensorCoreThreads, 1, 1}, workgroup, decision, body);
}
