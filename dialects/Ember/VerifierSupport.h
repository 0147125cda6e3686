//===- VerifierSupport.h - shape checks shared by ember op verifiers -*- C++ -*-===//
#ifndef EMBER_DIALECT_VERIFIERSUPPORT_H
#define EMBER_DIALECT_VERIFIERSUPPORT_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::ember {

inline MemRefType memrefType(Value value) { return cast<MemRefType>(value.getType()); }

inline LogicalResult verifyRank(Operation *op, Value value, StringRef name, int64_t rank) {
  int64_t actual = memrefType(value).getRank();
  if (actual != rank)
    return op->emitOpError() << name << " must have rank " << rank << ", got rank " << actual;
  return success();
}

/// n_routed is an I64Attr read back as uint64_t; it is a signed i64.
inline LogicalResult verifyNumRouted(Operation *op, uint64_t value) {
  int64_t numRouted = static_cast<int64_t>(value);
  if (numRouted < 1)
    return op->emitOpError() << "n_routed must be >= 1, got " << numRouted;
  return success();
}

/// Dimension `dimA` of `a` and `dimB` of `b` must agree where both are static.
inline LogicalResult verifyDimsAgree(Operation *op, Value a, StringRef nameA, unsigned dimA,
                                     Value b, StringRef nameB, unsigned dimB) {
  int64_t sizeA = memrefType(a).getDimSize(dimA);
  int64_t sizeB = memrefType(b).getDimSize(dimB);
  if (ShapedType::isStatic(sizeA) && ShapedType::isStatic(sizeB) && sizeA != sizeB)
    return op->emitOpError() << nameA << " dim " << dimA << " (" << sizeA << ") must equal "
                             << nameB << " dim " << dimB << " (" << sizeB << ")";
  return success();
}

/// Per-row coordinates ([T]: slots, positions) must have as many entries as
/// `rows` has rows (dim 0) where both are static.
inline LogicalResult verifyRowCoordinates(Operation *op, Value coordinates, StringRef name, Value rows,
                                          StringRef rowsName) {
  return verifyDimsAgree(op, coordinates, name, 0, rows, rowsName, 0);
}

/// RMSNorm's input, shared by rms_norm and the fused ops that recompute it:
/// x [T, D], weight [D], eps > 0.
inline LogicalResult verifyRmsNormInput(Operation *op, Value x, Value weight, StringRef weightName,
                                        double eps) {
  if (failed(verifyRank(op, x, "x", 2)) || failed(verifyRank(op, weight, weightName, 1)))
    return failure();
  if (!(eps > 0))
    return op->emitOpError() << "eps must be > 0, got " << eps;
  return verifyDimsAgree(op, x, "x", 1, weight, weightName, 0);
}

/// The router checks shared by router_topk and fused_router: n_routed >= 1,
/// bias [R+Z] against `scores` dim `expertDim` (R+Z), weights dim 1 against
/// experts dim 1 (k), and where known 1 <= k <= R+Z and n_routed <= R+Z.
LogicalResult verifyRouterChoices(Operation *op, uint64_t nRouted, Value scores,
                                  StringRef scoresName, unsigned expertDim, Value bias,
                                  Value experts, Value weights);

/// An F8E4M3FN `weight` [..., rows, cols] needs its block scales: `scale`
/// (f32) of the weight's rank, its leading dims, then ceil(rows / R) and
/// ceil(cols / C) for `block` = [R, C] (both >= 1). Any other weight takes
/// neither.
LogicalResult verifyBlockScales(Operation *op, Value weight, StringRef weightName, Value scale,
                                std::optional<ArrayRef<int64_t>> block);

/// Every operand's rank, in operand order.
LogicalResult verifyOperandRanks(Operation *op,
                          std::initializer_list<std::tuple<Value, StringRef, int64_t>> operands);

/// The MoE ops' k = experts dim 1 must be >= 1 where static.
LogicalResult verifyTopK(Operation *op, Value experts);

/// Dimension `dim` of `value` counts the T*k assignments of `experts` [T, k].
LogicalResult verifyAssignmentDim(Operation *op, Value value, StringRef name, unsigned dim,
                                  Value experts);

/// Dimension 0 of `value` holds the T*k assignments of `experts` [T, k]
/// and, with groups padded to `rowsPerTile` rows, up to rowsPerTile - 1
/// padding rows for each of min(T*k, numRouted) groups (where static).
LogicalResult verifyGroupedRowsDim(Operation *op, Value value, StringRef name, Value experts,
                                   int64_t numRouted, int64_t rowsPerTile);

/// rows_per_tile of moe_group / expert_gate_up must be >= 1.
inline LogicalResult verifyRowsPerTile(Operation *op, int64_t rowsPerTile) {
  if (rowsPerTile < 1)
    return op->emitOpError() << "rows_per_tile must be >= 1, got " << rowsPerTile;
  return success();
}

inline bool hasStaticZeroDim(Value value) {
  return llvm::is_contained(memrefType(value).getShape(), 0);
}

/// Ops that would write nothing (a static zero extent) are erased.
template <typename OpTy>
LogicalResult eraseIfNoWork(OpTy op, PatternRewriter &rewriter, Value extent) {
  if (!hasStaticZeroDim(extent))
    return rewriter.notifyMatchFailure(op, "op has work to do");
  rewriter.eraseOp(op);
  return success();
}

} // namespace mlir::ember

#endif // EMBER_DIALECT_VERIFIERSUPPORT_H
