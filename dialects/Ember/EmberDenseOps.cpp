//===- EmberDenseOps.cpp - verifiers of the dense ops ------------------------===//
#include "dialects/Ember/EmberDialect.h"
#include "dialects/Ember/VerifierSupport.h"

using namespace mlir;
using namespace mlir::ember;

/// Every operand must have `rank`; stops at the first that does not.
static LogicalResult verifyRanks(Operation *op, ArrayRef<std::pair<Value, StringRef>> operands,
                                 int64_t rank) {
  for (auto [value, name] : operands)
    if (failed(verifyRank(op, value, name, rank)))
      return failure();
  return success();
}

LogicalResult mlir::ember::verifyBlockScales(Operation *op, Value weight, StringRef weightName, Value scale,
                                             std::optional<ArrayRef<int64_t>> block) {
  MemRefType type = memrefType(weight);
  if (!isa<Float8E4M3FNType>(type.getElementType())) {
    if (scale || block)
      return op->emitOpError() << "weight_scale and weight_block apply to an f8E4M3FN " << weightName << " only, got "
                               << type.getElementType();
    return success();
  }
  if (!scale || !block)
    return op->emitOpError() << "an f8E4M3FN " << weightName << " needs weight_scale and weight_block";
  if (block->size() != 2u || (*block)[0] < 1 || (*block)[1] < 1)
    return op->emitOpError() << "weight_block must be [rows, cols], both >= 1";
  int64_t rank = type.getRank();
  if (failed(verifyRank(op, scale, "weight_scale", rank)))
    return failure();
  for (int64_t dim = 0; dim < rank; ++dim) {
    int64_t size = type.getDimSize(dim), actual = memrefType(scale).getDimSize(dim);
    int64_t blockSize = dim < rank - 2 ? 1 : (*block)[dim - (rank - 2)];
    if (ShapedType::isDynamic(size) || ShapedType::isDynamic(actual))
      continue;
    int64_t expected = llvm::divideCeil(size, blockSize);
    if (actual != expected)
      return op->emitOpError() << "weight_scale dim " << dim << " (" << actual << ") must be ceil(" << weightName
                               << " dim " << dim << " (" << size << ") / " << blockSize << ") = " << expected;
  }
  return success();
}

LogicalResult LinearOp::verify() {
  Value x = getX(), w = getWeight(), y = getOut();
  if (failed(verifyRanks(*this, {{x, "x"}, {w, "weight"}, {y, "out"}}, 2)) ||
      failed(verifyBlockScales(*this, w, "weight", getWeightScale(), getWeightBlock())))
    return failure();
  return success(succeeded(verifyDimsAgree(*this, x, "x", 1, w, "weight", 1)) &&
                 succeeded(verifyDimsAgree(*this, y, "out", 0, x, "x", 0)) &&
                 succeeded(verifyDimsAgree(*this, y, "out", 1, w, "weight", 0)));
}

LogicalResult RmsNormOp::verify() {
  Value x = getX(), w = getWeight(), y = getOut();
  if (failed(verifyRmsNormInput(*this, x, w, "weight", getEps().convertToDouble())) ||
      failed(verifyRank(*this, y, "out", 2)))
    return failure();
  return success(succeeded(verifyDimsAgree(*this, y, "out", 0, x, "x", 0)) &&
                 succeeded(verifyDimsAgree(*this, y, "out", 1, x, "x", 1)));
}

LogicalResult SiluMulOp::verify() {
  Value g = getGate(), u = getUp(), h = getOut();
  if (failed(verifyRanks(*this, {{g, "gate"}, {u, "up"}, {h, "out"}}, 2)))
    return failure();
  return success(succeeded(verifyDimsAgree(*this, u, "up", 0, g, "gate", 0)) &&
                 succeeded(verifyDimsAgree(*this, u, "up", 1, g, "gate", 1)) &&
                 succeeded(verifyDimsAgree(*this, h, "out", 0, g, "gate", 0)) &&
                 succeeded(verifyDimsAgree(*this, h, "out", 1, g, "gate", 1)));
}
