//===- GemvOperands.h - the GEMV-class ops as one shape ----------*- C++ -*-===//
//
// linear, norm_linear, swiglu, norm_swiglu and mla_up_v seen as one
// computation, for the strategies that take them all: warp_per_row
// (GemvKernels.cpp) and mma_sync_tile (TensorCoreKernels.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef EMBER_LOWERING_NVPTX_GEMVOPERANDS_H
#define EMBER_LOWERING_NVPTX_GEMVOPERANDS_H

#include "lowering/BlockScaledWeights.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>

namespace mlir::ember {

/// One GEMV-class op: out[t, o] = epilogue(dot(n(x[t]), w_m[o]) for each
/// weight m), n the optional recomputed RMSNorm.
struct GemvOp {
  Value x, normWeight, out;
  SmallVector<Value, 2> weights;
  /// Per weight: its block scales when it is FP8 (empty otherwise).
  SmallVector<BlockScales, 2> scales;
  double eps = 0, scale = 1;
  bool accumulate = false, swiglu = false;
  /// Per head (mla_up_v): x and out are [T, H, *]; output o = h * headRows
  /// + r is out[t, h, r] = dot(x[t, h], w[h * headStride + headOffset + r]).
  /// 0: one input row per token, x [T, K] and out [T, O].
  int64_t headRows = 0, headStride = 0, headOffset = 0;
};

std::optional<GemvOp> asGemv(Operation *op);
/// K, the length of each dot product.
int64_t inputWidth(const GemvOp &gemv);
/// O, the outputs per token.
int64_t outputCount(const GemvOp &gemv);
/// Stores output `index` of `gemv` from its dot products (one per weight,
/// normed already): silu(gate) * up for swiglu, added to `out` when it
/// accumulates.
void storeGemvOutput(OpBuilder &b, Location loc, const GemvOp &gemv, ArrayRef<Value> dots, ValueRange index);

} // namespace mlir::ember

#endif // EMBER_LOWERING_NVPTX_GEMVOPERANDS_H
