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

LogicalResult LinearOp::verify() {
  Value x = getX(), w = getWeight(), y = getOut();
  if (failed(verifyRanks(*this, {{x, "x"}, {w, "weight"}, {y, "out"}}, 2)))
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
