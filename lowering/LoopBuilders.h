//===- LoopBuilders.h - helpers shared by the ember-to-loops patterns -*- C++ -*-===//
#ifndef EMBER_LOWERING_LOOPBUILDERS_H
#define EMBER_LOWERING_LOOPBUILDERS_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::ember {

inline Value indexConstant(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

inline Value f32Constant(OpBuilder &b, Location loc, double value) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(value));
}

inline Value dimOf(OpBuilder &b, Location loc, Value memref, int64_t dim) {
  int64_t size = cast<MemRefType>(memref.getType()).getDimSize(dim);
  if (ShapedType::isStatic(size))
    return indexConstant(b, loc, size);
  return memref::DimOp::create(b, loc, memref, dim);
}

/// scf.parallel over [0, extents) with unit steps.
inline void buildParallelNest(OpBuilder &b, Location loc, ValueRange extents,
                              function_ref<void(OpBuilder &, Location, ValueRange)> body) {
  SmallVector<Value> zeros(extents.size(), indexConstant(b, loc, 0));
  SmallVector<Value> ones(extents.size(), indexConstant(b, loc, 1));
  scf::ParallelOp::create(b, loc, zeros, extents, ones, body);
}

/// The [T, N] nest of a matmul-class op (T rows of input, N output units):
/// body(t, n). Output-major (the CPU) puts n outside t, so each weight row
/// is read once per call for all T rows while it is in cache; token-major
/// (the GPU's loops) keeps t outside. Either way each (t, n) is the same
/// computation.
inline void buildRowsByOutputsNest(OpBuilder &b, Location loc, Value tokens, Value outputs, bool outputMajor,
                                   function_ref<void(OpBuilder &, Location, Value, Value)> body) {
  if (outputMajor)
    buildParallelNest(b, loc, {outputs, tokens},
                      [&](OpBuilder &b, Location loc, ValueRange ivs) { body(b, loc, ivs[1], ivs[0]); });
  else
    buildParallelNest(b, loc, {tokens, outputs},
                      [&](OpBuilder &b, Location loc, ValueRange ivs) { body(b, loc, ivs[0], ivs[1]); });
}

/// Stores a linear's dot product `sum` at out[t, o], added to what out holds
/// there when the op accumulates (linear and norm_linear's row-tiled dots).
inline void storeLinearOutput(OpBuilder &b, Location loc, Value out, Value t, Value o, Value sum, bool accumulate) {
  if (accumulate)
    sum = arith::AddFOp::create(b, loc, memref::LoadOp::create(b, loc, out, ValueRange{t, o}), sum);
  memref::StoreOp::create(b, loc, sum, out, ValueRange{t, o});
}

/// scf.for over [start, end) by `step` carrying `init`; returns the loop
/// results. (A GPU thread's share of a row: start at its thread id, step
/// by the block.)
inline ValueRange buildStridedLoop(OpBuilder &b, Location loc, Value start, Value end, Value step,
                                   ValueRange init,
                                   function_ref<SmallVector<Value>(OpBuilder &, Location, Value, ValueRange)> body) {
  auto loop = scf::ForOp::create(b, loc, start, end, step, init,
                                 [&](OpBuilder &b, Location loc, Value iv, ValueRange acc) {
                                   scf::YieldOp::create(b, loc, body(b, loc, iv, acc));
                                 });
  return loop.getResults();
}

/// The same with no results.
inline void buildStridedLoop(OpBuilder &b, Location loc, Value start, Value end, Value step,
                             function_ref<void(OpBuilder &, Location, Value)> body) {
  buildStridedLoop(b, loc, start, end, step, ValueRange{},
                   [&](OpBuilder &b, Location loc, Value iv, ValueRange) {
                     body(b, loc, iv);
                     return SmallVector<Value>{};
                   });
}

/// scf.for over [0, extent) carrying `init`; returns the loop results.
inline ValueRange buildSequentialLoop(
    OpBuilder &b, Location loc, Value extent, ValueRange init,
    function_ref<SmallVector<Value>(OpBuilder &, Location, Value, ValueRange)> body) {
  return buildStridedLoop(b, loc, indexConstant(b, loc, 0), extent, indexConstant(b, loc, 1), init, body);
}

/// A scratch row of `extent` f32 elements on the stack (memref.alloca),
/// statically sized when `staticSize` is.
inline Value buildScratchRow(OpBuilder &b, Location loc, int64_t staticSize, Value extent) {
  auto type = MemRefType::get({staticSize}, b.getF32Type());
  if (type.hasStaticShape())
    return memref::AllocaOp::create(b, loc, type);
  return memref::AllocaOp::create(b, loc, type, ValueRange{extent});
}

/// Widens a stored weight element to f32 (compute is always f32).
inline Value toF32(OpBuilder &b, Location loc, Value value) {
  if (value.getType().isF32())
    return value;
  return arith::ExtFOp::create(b, loc, b.getF32Type(), value);
}

/// Loads `memref[indices]` widened to f32.
inline Value loadF32(OpBuilder &b, Location loc, Value memref, ValueRange indices) {
  return toF32(b, loc, memref::LoadOp::create(b, loc, memref, indices));
}

/// Loads the unsigned i32 `memref[indices]` (a row, expert or count of the
/// MoE buffers) as an index.
inline Value loadIndex(OpBuilder &b, Location loc, Value memref, ValueRange indices) {
  Value value = memref::LoadOp::create(b, loc, memref, indices);
  return arith::IndexCastUIOp::create(b, loc, b.getIndexType(), value);
}
/// An index as the i32 the MoE buffers hold (the inverse of loadIndex).
inline Value toI32(OpBuilder &b, Location loc, Value index) {
  return arith::IndexCastUIOp::create(b, loc, b.getI32Type(), index);
}
/// The (token, choice) of assignment `a` = t * k + j.
inline std::pair<Value, Value> splitAssignment(OpBuilder &b, Location loc, Value a, Value k) {
  return {arith::DivUIOp::create(b, loc, a, k), arith::RemUIOp::create(b, loc, a, k)};
}

/// Flags for dot-product reductions: reassociation lets the CPU backend
/// vectorize them (results then differ from a sequential sum by rounding).
inline arith::FastMathFlagsAttr reductionFastMath(MLIRContext *context) {
  return arith::FastMathFlagsAttr::get(context, arith::FastMathFlags::reassoc |
                                                    arith::FastMathFlags::contract);
}

/// Sum over k in [0, extent) of lhs(k) * rhs(k), starting from `init`.
inline Value buildDotProduct(OpBuilder &b, Location loc, Value extent, Value init,
                             function_ref<Value(OpBuilder &, Location, Value)> lhs,
                             function_ref<Value(OpBuilder &, Location, Value)> rhs) {
  auto fastmath = reductionFastMath(b.getContext());
  return buildSequentialLoop(b, loc, extent, init,
                             [&](OpBuilder &b, Location loc, Value k, ValueRange acc) {
                               Value product = arith::MulFOp::create(b, loc, lhs(b, loc, k),
                                                                     rhs(b, loc, k), fastmath);
                               return SmallVector<Value>{
                                   arith::AddFOp::create(b, loc, acc[0], product, fastmath)};
                             })[0];
}

struct MatmulLoops; // RowTiledDots.h

struct BlockScales; // BlockScaledWeights.h

/// down[expert, d, :] . h[row, :] over `width` (down dequantized with its
/// block `scales`, if any): one routed expert's output unit d, shared by
/// expert_down and expert_down_combine; a SIMD dot where `loops` asks for them.
Value buildExpertDownDot(OpBuilder &b, Location loc, const MatmulLoops &loops, Value down, const BlockScales &scales,
                         Value h, Value expert, Value d, Value row, Value width);

/// silu(z) = z / (1 + exp(-z)).
inline Value buildSilu(OpBuilder &b, Location loc, Value z) {
  Value negated = arith::NegFOp::create(b, loc, z);
  Value denominator =
      arith::AddFOp::create(b, loc, f32Constant(b, loc, 1.0), math::ExpOp::create(b, loc, negated));
  return arith::DivFOp::create(b, loc, z, denominator);
}

/// Token t's router (router_topk's semantics): softmax over the R+Z =
/// `numExperts` logits, top-k of p + bias, experts[t, j] = e_j and
/// weights[t, j] = p[e_j] * scaling. `logit(e)` yields logit e; it is called
/// k + 2 times per expert, so fused_router computes it in place of a load.
void buildRouterTopk(OpBuilder &b, Location loc, Value t, Value numExperts, Value k,
                     function_ref<Value(OpBuilder &, Location, Value)> logit, Value bias,
                     Value experts, Value weights, double scaling);

/// RMSNorm's 1 / sqrt(mean_i x(i)^2 + eps) over `width` elements. sqrt and
/// a division (not math.rsqrt) keep the GPU code free of libdevice calls.
Value buildRmsInverse(OpBuilder &b, Location loc, Value width, double eps,
                      function_ref<Value(OpBuilder &, Location, Value)> x);
/// The same from the sum of squares of the row's `width` elements.
Value buildRmsInverseFromSum(OpBuilder &b, Location loc, Value sumSquares, Value width, double eps);
/// RMSNorm's output element x * inverse * f32(weight[i]) * scale. rms_norm
/// and the fused ops that recompute the norm share it, so both do the
/// same arithmetic.
Value buildRmsNormed(OpBuilder &b, Location loc, Value x, Value inverse, Value weight, Value i,
                     double scale);

/// moe_dispatch's stable sort of the T*k assignments by min(expert, R)
/// into `order`, as a counting sort with one thread per key.
void buildExpertGrouping(OpBuilder &b, Location loc, Value experts, int64_t numRouted, Value order);
/// moe_group's: the same sort with counts[g] per key, real groups padded to
/// `rowsPerTile` rows with -1 (also the rows after the last group) and
/// rows[order[p]] = p.
void buildPaddedExpertGrouping(OpBuilder &b, Location loc, Value experts, int64_t numRouted,
                               int64_t rowsPerTile, Value order, Value rows, Value counts);

/// What expert_gate_up's tiles read: `order` (rows of assignments, padded),
/// `experts` [T, k], its row count, T * k, k, R and the rows per tile W.
struct ExpertTileOperands {
  Value order, experts, rows, assignments, k, numRouted;
  int64_t rowsPerTile;
};
/// Row p of a tile: computed when below `rows`, an assignment and of the
/// tile's expert; its token (the first row's when not computed).
struct ExpertTileRow {
  Value computed, token, row;
};
/// A tile whose first row holds assignment `first` = t * k + j of real
/// expert `expert` (t = `firstToken`), with its W rows.
struct ExpertTile {
  Value base, first, expert, firstToken;
  SmallVector<ExpertTileRow> rows;
};
/// Runs `body` for the tile at rows [base, base + W) when its first row is
/// an assignment of a real expert (the expert_gate_up semantics), else
/// nothing; shared by the loops and the GPU's warp_per_row.
void buildExpertTile(OpBuilder &b, Location loc, const ExpertTileOperands &operands, Value base,
                     function_ref<void(OpBuilder &, Location, const ExpertTile &)> body);
ExpertTileRow buildExpertTileRow(OpBuilder &b, Location loc, const ExpertTileOperands &operands,
                                 const ExpertTile &tile, Value p);

/// Real expert `expert`'s output element d for `assignment` = t * k + j.
using MoeRoutedOutput =
    function_ref<Value(OpBuilder &, Location, Value assignment, Value d, Value expert)>;

/// moe_combine's loop: out[t, d] += sum_{j < k} weights[t, j] *
/// (experts[t, j] >= R ? x[t, d] : routedOutput(t * k + j, d, e)), j in
/// order; expert_down_combine computes the output where moe_combine loads it.
void buildMoeCombine(OpBuilder &b, Location loc, int64_t numRouted, Value x, Value experts,
                     Value weights, Value out, MoeRoutedOutput routedOutput);
/// Its element (t, d), for kernels that give each thread one.
void buildMoeCombineElement(OpBuilder &b, Location loc, int64_t numRouted, Value x, Value experts, Value weights,
                            Value out, MoeRoutedOutput routedOutput, Value t, Value d);

// Conversion patterns, one file per op family.
enum class GatherBoundsCheck;
enum class NormStatistics;
void populateNgramLoweringPatterns(RewritePatternSet &patterns, GatherBoundsCheck boundsCheck);
void populateDenseLoweringPatterns(RewritePatternSet &patterns, const MatmulLoops &matmulLoops);
void populateAttentionLoweringPatterns(RewritePatternSet &patterns, const MatmulLoops &matmulLoops);
void populateMoeLoweringPatterns(RewritePatternSet &patterns, const MatmulLoops &matmulLoops);
void populateFusedLoweringPatterns(RewritePatternSet &patterns, GatherBoundsCheck boundsCheck,
                                   NormStatistics normStatistics, const MatmulLoops &matmulLoops);

} // namespace mlir::ember

#endif // EMBER_LOWERING_LOOPBUILDERS_H
