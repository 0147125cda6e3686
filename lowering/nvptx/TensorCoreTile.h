//===- TensorCoreTile.h - mma_sync_tile's tile, for every op it takes -*- C++ -*-===//
//
// The tensor-core tile of the mma_sync_tile strategy (TensorCoreKernels.cpp):
// 64 rows of activations x 64 output rows (32 with two weights) per block of
// 4 warps, its main loop along K and the place of each accumulator. The
// GEMV-class ops (TensorCoreKernels.cpp) and the routed experts
// (ExpertTensorCoreKernels.cpp) differ only in which rows they stage and
// where the results go.
//
//===----------------------------------------------------------------------===//
#ifndef EMBER_LOWERING_NVPTX_TENSORCORETILE_H
#define EMBER_LOWERING_NVPTX_TENSORCORETILE_H

#include "mlir/IR/Builders.h"
#include "llvm/ADT/SmallVector.h"

namespace mlir::ember {

/// Activation rows (tokens) per block's tile.
constexpr int64_t kTileTokens = 64;

/// A block's tile: 64 tokens x `rows` output rows, each warp 32 x
/// `warpRows`; two-weight ops (swiglu) take half the rows, so that every
/// thread holds 32 accumulators. Along K, steps of `bk` elements, each
/// staged row `strideWords` 32-bit words (bk / 2 bf16 pairs, padded).
struct TileShape {
  int64_t weights, warpRows, rows, nTiles, accumulators; // accumulators per weight
  int64_t bk, strideWords, xLoadsPerRow, xLoads, wLoadsPerRow, wLoads;
};
TileShape tileShape(int64_t weights);

/// Whether reductions of `inputs` elements come in whole steps of the tile
/// of `weights` weights (each thread's share of a step is one 16-byte load
/// of each weight).
bool fitsTile(int64_t weights, int64_t inputs);
/// Workgroup memory of the tile: x's hi and lo halves, then each weight's.
SmallVector<Type> tileWorkgroup(MLIRContext *context, const TileShape &shape);

/// This thread's place in the tile: its warp's quarter, its lane's MMA
/// group, and the (row, column) within the tile of each of its loads of a
/// step (x's, then each weight's).
struct TileThread {
  Value tid, lane, group, inGroup, warpToken, warpRow;
  SmallVector<std::pair<Value, Value>> xSlots, wSlots;
};
TileThread tileThread(OpBuilder &b, Location loc, const TileShape &shape, Value tid);

/// What the main loop reads: x [*, K] (f32) at row `xRows[j]` for this
/// thread's load j; each weight (bf16) at `weightLead` (the expert, where
/// weights are stacked; may be empty) + [wRows[j], k]. With `normWeight`,
/// x is scaled by it as it is staged and the squares of the staged x are
/// summed.
struct TileOperands {
  Value x;
  SmallVector<Value> xRows;
  SmallVector<Value, 2> weights;
  SmallVector<Value, 1> weightLead;
  SmallVector<Value> wRows;
  int64_t inputs = 0;
  Value normWeight;
};
/// The main loop over K: stage, prefetch, MMAs (see TensorCoreKernels.cpp).
/// Returns the accumulators (shape.accumulators per weight), then with a
/// norm weight the sum of squares of each x load's row share. Every thread
/// of the block must run it (barriers).
SmallVector<Value> buildTileMainLoop(OpBuilder &b, Location loc, const TileShape &shape, const TileThread &thread,
                                     ValueRange workgroup, const TileOperands &operands);

/// Calls `store` for each of this thread's outputs: its token and row
/// within the tile, and the index of its accumulator within each weight's.
void forEachTileOutput(OpBuilder &b, Location loc, const TileShape &shape, const TileThread &thread,
                       function_ref<void(OpBuilder &, Location, Value token, Value row, int64_t accumulator)> store);

} // namespace mlir::ember

#endif // EMBER_LOWERING_NVPTX_TENSORCORETILE_H
