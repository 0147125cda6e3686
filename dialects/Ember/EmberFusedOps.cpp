//===- EmberFusedOps.cpp - verifiers of the fused ops ------------------------===//
#include "dialects/Ember/EmberDialect.h"
#include "dialects/Ember/VerifierSupport.h"

using namespace mlir;
using namespace mlir::ember;

LogicalResult SwiGluOp::verify() {
  Value x = getX(), g = getGateWeight(), u = getUpWeight(), h = getOut();
  for (auto [value, name] : {std::pair<Value, StringRef>{x, "x"}, {g, "gate_weight"}, {u, "up_weight"}, {h, "out"}})
    if (failed(verifyRank(*this, value, name, 2)))
      return failure();
  return success(succeeded(verifyDimsAgree(*this, u, "up_weight", 0, g, "gate_weight", 0)) &&
                 succeeded(verifyDimsAgree(*this, u, "up_weight", 1, g, "gate_weight", 1)) &&
                 succeeded(verifyDimsAgree(*this, x, "x", 1, g, "gate_weight", 1)) &&
                 succeeded(verifyDimsAgree(*this, h, "out", 0, x, "x", 0)) &&
                 succeeded(verifyDimsAgree(*this, h, "out", 1, g, "gate_weight", 0)));
}
