//===- EmberMoeOps.cpp - verifiers of the moe ops ------------------------===//
#include "dialects/Ember/EmberDialect.h"
#include "dialects/Ember/VerifierSupport.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::ember;

LogicalResult mlir::ember::verifyOperandRanks(
    Operation *op, std::initializer_list<std::tuple<Value, StringRef, int64_t>> operands) {
  for (auto [value, name, rank] : operands)
    if (failed(verifyRank(op, value, name, rank)))
      return failure();
  return success();
}

LogicalResult mlir::ember::verifyTopK(Operation *op, Value experts) {
  int64_t k = memrefType(experts).getDimSize(1);
  if (ShapedType::isStatic(k) && k < 1)
    return op->emitOpError() << "experts dim 1 (k) must be >= 1, got " << k;
  return success();
}

LogicalResult mlir::ember::verifyAssignmentDim(Operation *op, Value value, StringRef name,
                                               unsigned dim, Value experts) {
  int64_t count = memrefType(value).getDimSize(dim);
  int64_t tokens = memrefType(experts).getDimSize(0);
  int64_t k = memrefType(experts).getDimSize(1);
  if (ShapedType::isDynamic(count) || ShapedType::isDynamic(k) || k < 1)
    return success();
  if (ShapedType::isStatic(tokens)) {
    if (count != tokens * k)
      return op->emitOpError() << name << " dim " << dim << " (" << count
                               << ") must equal T*k = experts dim 0 * dim 1 (" << tokens << " * "
                               << k << " = " << tokens * k << ")";
    return success();
  }
  if (count % k != 0)
    return op->emitOpError() << name << " dim " << dim << " (" << count
                             << ") must be a multiple of k = experts dim 1 (" << k << ")";
  return success();
}

LogicalResult mlir::ember::verifyGroupedRowsDim(Operation *op, Value value, StringRef name,
                                                Value experts, int64_t numRouted,
                                                int64_t rowsPerTile) {
  int64_t count = memrefType(value).getDimSize(0);
  int64_t tokens = memrefType(experts).getDimSize(0), k = memrefType(experts).getDimSize(1);
  if (ShapedType::isDynamic(count) || ShapedType::isDynamic(tokens) || ShapedType::isDynamic(k))
    return success();
  int64_t assignments = tokens * k;
  int64_t needed = assignments + std::min(assignments, numRouted) * (rowsPerTile - 1);
  if (count >= needed)
    return success();
  InFlightDiagnostic diag = op->emitOpError()
                            << name << " dim 0 (" << count << ") must be at least T*k";
  if (rowsPerTile > 1)
    diag << " + min(T*k, n_routed) * (rows_per_tile - 1) = " << assignments << " + min("
         << assignments << ", " << numRouted << ") * " << rowsPerTile - 1;
  return diag << " = " << needed;
}

LogicalResult mlir::ember::verifyRouterChoices(Operation *op, uint64_t nRouted, Value scores,
                                               StringRef scoresName, unsigned expertDim,
                                               Value bias, Value experts, Value weights) {
  if (failed(verifyNumRouted(op, nRouted)) ||
      failed(verifyDimsAgree(op, bias, "bias", 0, scores, scoresName, expertDim)) ||
      failed(verifyDimsAgree(op, weights, "weights", 1, experts, "experts", 1)))
    return failure();
  // k is whichever of experts/weights dim 1 is static (they agree if both are).
  Value topk = ShapedType::isStatic(memrefType(experts).getDimSize(1)) ? experts : weights;
  StringRef topkName = topk == experts ? "experts" : "weights";
  int64_t k = memrefType(topk).getDimSize(1);
  // R+Z is whichever of scores dim `expertDim` / bias dim 0 is static.
  int64_t numExperts = memrefType(scores).getDimSize(expertDim);
  std::string numExpertsFrom = (scoresName + " dim " + Twine(expertDim)).str();
  if (ShapedType::isDynamic(numExperts)) {
    numExperts = memrefType(bias).getDimSize(0);
    numExpertsFrom = "bias dim 0";
  }
  if (ShapedType::isStatic(k) && k < 1)
    return op->emitOpError() << topkName << " dim 1 (k) must be >= 1, got " << k;
  if (ShapedType::isDynamic(numExperts))
    return success();
  if (static_cast<int64_t>(nRouted) > numExperts)
    return op->emitOpError() << "n_routed (" << nRouted
                             << ") must be <= the number of experts R+Z (" << numExperts << ", "
                             << numExpertsFrom << ")";
  if (ShapedType::isStatic(k) && k > numExperts)
    return op->emitOpError() << topkName << " dim 1 (k = " << k
                             << ") must be <= the number of experts R+Z (" << numExperts << ", "
                             << numExpertsFrom << ")";
  return success();
}

//===----------------------------------------------------------------------===//
// RouterTopkOp
//===----------------------------------------------------------------------===//

LogicalResult RouterTopkOp::verify() {
  Value logits = getLogits(), bias = getBias(), experts = getExperts(), weights = getWeights();
  if (failed(verifyOperandRanks(*this, {{logits, "logits", 2},
                                 {bias, "bias", 1},
                                 {experts, "experts", 2},
                                 {weights, "weights", 2}})) ||
      failed(verifyDimsAgree(*this, experts, "experts", 0, logits, "logits", 0)) ||
      failed(verifyDimsAgree(*this, weights, "weights", 0, logits, "logits", 0)))
    return failure();
  return verifyRouterChoices(*this, getNRouted(), logits, "logits", 1, bias, experts, weights);
}

LogicalResult RouterTopkOp::fold(FoldAdaptor, SmallVectorImpl<OpFoldResult> &) {
  return memref::foldMemRefCast(*this);
}

//===----------------------------------------------------------------------===//
// MoeDispatchOp
//===----------------------------------------------------------------------===//

LogicalResult MoeDispatchOp::verify() {
  Value experts = getExperts(), order = getOrder();
  if (failed(verifyOperandRanks(*this, {{experts, "experts", 2}, {order, "order", 1}})) ||
      failed(verifyNumRouted(*this, getNRouted())) || failed(verifyTopK(*this, experts)))
    return failure();
  return verifyAssignmentDim(*this, order, "order", 0, experts);
}

LogicalResult MoeDispatchOp::fold(FoldAdaptor, SmallVectorImpl<OpFoldResult> &) {
  return memref::foldMemRefCast(*this);
}

//===----------------------------------------------------------------------===//
// ExpertGateUpOp
//===----------------------------------------------------------------------===//

LogicalResult ExpertGateUpOp::verify() {
  Value x = getX(), gate = getGate(), up = getUp(), experts = getExperts(), order = getOrder(),
        h = getH();
  if (failed(verifyOperandRanks(*this, {{x, "x", 2},
                                        {gate, "gate", 3},
                                        {up, "up", 3},
                                        {experts, "experts", 2},
                                        {order, "order", 1},
                                        {h, "h", 2}})) ||
      failed(verifyTopK(*this, experts)) || failed(verifyRowsPerTile(*this, getRowsPerTile())) ||
      failed(verifyBlockScales(*this, gate, "gate", getGateScale(), getWeightBlock())) ||
      failed(verifyBlockScales(*this, up, "up", getUpScale(), getWeightBlock())))
    return failure();
  return success(succeeded(verifyDimsAgree(*this, up, "up", 0, gate, "gate", 0)) &&
                 succeeded(verifyDimsAgree(*this, up, "up", 1, gate, "gate", 1)) &&
                 succeeded(verifyDimsAgree(*this, up, "up", 2, gate, "gate", 2)) &&
                 succeeded(verifyDimsAgree(*this, gate, "gate", 2, x, "x", 1)) &&
                 succeeded(verifyDimsAgree(*this, h, "h", 1, gate, "gate", 1)) &&
                 succeeded(verifyDimsAgree(*this, experts, "experts", 0, x, "x", 0)) &&
                 succeeded(verifyDimsAgree(*this, h, "h", 0, order, "order", 0)) &&
                 succeeded(verifyGroupedRowsDim(*this, order, "order", experts, 0, 1)));
}

LogicalResult ExpertGateUpOp::fold(FoldAdaptor, SmallVectorImpl<OpFoldResult> &) {
  return memref::foldMemRefCast(*this);
}

//===----------------------------------------------------------------------===//
// ExpertDownOp
//===----------------------------------------------------------------------===//

LogicalResult ExpertDownOp::verify() {
  Value h = getH(), down = getDown(), experts = getExperts(), order = getOrder(), y = getY();
  if (failed(verifyOperandRanks(
          *this, {{h, "h", 2}, {down, "down", 3}, {experts, "experts", 2}, {order, "order", 1}, {y, "y", 2}})) ||
      failed(verifyTopK(*this, experts)) ||
      failed(verifyBlockScales(*this, down, "down", getDownScale(), getWeightBlock())))
    return failure();
  return success(succeeded(verifyDimsAgree(*this, down, "down", 2, h, "h", 1)) &&
                 succeeded(verifyDimsAgree(*this, y, "y", 1, down, "down", 1)) &&
                 succeeded(verifyDimsAgree(*this, h, "h", 0, order, "order", 0)) &&
                 succeeded(verifyDimsAgree(*this, y, "y", 0, order, "order", 0)) &&
                 succeeded(verifyAssignmentDim(*this, order, "order", 0, experts)) &&
                 succeeded(verifyAssignmentDim(*this, h, "h", 0, experts)) &&
                 succeeded(verifyAssignmentDim(*this, y, "y", 0, experts)));
}

LogicalResult ExpertDownOp::fold(FoldAdaptor, SmallVectorImpl<OpFoldResult> &) {
  return memref::foldMemRefCast(*this);
}

//===----------------------------------------------------------------------===//
// MoeCombineOp
//===----------------------------------------------------------------------===//

LogicalResult MoeCombineOp::verify() {
  Value x = getX(), y = getY(), experts = getExperts(), weights = getWeights(), out = getOut();
  if (failed(verifyOperandRanks(*this, {{x, "x", 2},
                                 {y, "y", 2},
                                 {experts, "experts", 2},
                                 {weights, "weights", 2},
                                 {out, "out", 2}})) ||
      failed(verifyNumRouted(*this, getNRouted())) || failed(verifyTopK(*this, experts)))
    return failure();
  return success(succeeded(verifyDimsAgree(*this, out, "out", 0, x, "x", 0)) &&
                 succeeded(verifyDimsAgree(*this, out, "out", 1, x, "x", 1)) &&
                 succeeded(verifyDimsAgree(*this, y, "y", 1, x, "x", 1)) &&
                 succeeded(verifyDimsAgree(*this, experts, "experts", 0, x, "x", 0)) &&
                 succeeded(verifyDimsAgree(*this, weights, "weights", 0, experts, "experts", 0)) &&
                 succeeded(verifyDimsAgree(*this, weights, "weights", 1, experts, "experts", 1)) &&
                 succeeded(verifyAssignmentDim(*this, y, "y", 0, experts)));
}

LogicalResult MoeCombineOp::fold(FoldAdaptor, SmallVectorImpl<OpFoldResult> &) {
  return memref::foldMemRefCast(*this);
}
