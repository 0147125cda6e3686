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
