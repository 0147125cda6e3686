//===- EmberFusedOps.cpp - verifiers of the fused ops ------------------------===//
#include "dialects/Ember/EmberDialect.h"
#include "dialects/Ember/VerifierSupport.h"

using namespace mlir;
using namespace mlir::ember;

/// swiglu's and norm_swiglu's shapes: x [T, D], both weights [F, D], out [T, F].
static LogicalResult verifySwiGluShapes(Operation *op, Value x, Value g, Value u, Value h) {
  for (auto [value, name] : {std::pair<Value, StringRef>{x, "x"}, {g, "gate_weight"}, {u, "up_weight"}, {h, "out"}})
    if (failed(verifyRank(op, value, name, 2)))
      return failure();
  return success(succeeded(verifyDimsAgree(op, u, "up_weight", 0, g, "gate_weight", 0)) &&
                 succeeded(verifyDimsAgree(op, u, "up_weight", 1, g, "gate_weight", 1)) &&
                 succeeded(verifyDimsAgree(op, x, "x", 1, g, "gate_weight", 1)) &&
                 succeeded(verifyDimsAgree(op, h, "out", 0, x, "x", 0)) &&
                 succeeded(verifyDimsAgree(op, h, "out", 1, g, "gate_weight", 0)));
}

/// Each SwiGLU weight with its block scales (verifyBlockScales).
static LogicalResult verifySwiGluScales(Operation *op, Value gate, Value gateScale, Value up, Value upScale,
                                        std::optional<ArrayRef<int64_t>> block) {
  return success(succeeded(verifyBlockScales(op, gate, "gate_weight", gateScale, block)) &&
                 succeeded(verifyBlockScales(op, up, "up_weight", upScale, block)));
}

LogicalResult SwiGluOp::verify() {
  if (failed(verifySwiGluScales(*this, getGateWeight(), getGateScale(), getUpWeight(), getUpScale(), getWeightBlock())))
    return failure();
  return verifySwiGluShapes(*this, getX(), getGateWeight(), getUpWeight(), getOut());
}

LogicalResult NgramEmbedOp::verify() {
  Value table = getTable(), embed = getEmbed(), tables = getTables(), proj = getProjections(),
        out = getOut();
  if (failed(verifyRank(*this, getTokens(), "tokens", 1)) ||
      failed(verifyRank(*this, table, "token table", 2)) ||
      failed(verifyDimsAgree(*this, getTokens(), "tokens", 0, out, "out", 0)) ||
      failed(verifyRowCoordinates(*this, getSlots(), "slots", out, "out")) ||
      failed(verifyRank(*this, embed, "embed", 2)) || failed(verifyRank(*this, tables, "tables", 2)) ||
      failed(verifyRank(*this, proj, "projections", 3)) || failed(verifyRank(*this, out, "out", 2)) ||
      failed(verifyDimsAgree(*this, out, "out", 1, embed, "embed", 1)) ||
      failed(verifyDimsAgree(*this, out, "out", 1, proj, "projections", 1)) ||
      failed(verifyDimsAgree(*this, tables, "tables", 1, proj, "projections", 2)))
    return failure();
  NgramConfigAttr config = getConfig();
  int64_t numTables = memrefType(proj).getDimSize(0);
  if (ShapedType::isStatic(numTables) && numTables != config.getNumTables())
    return emitOpError() << "projections dim 0 (" << numTables << ") must equal E = K*(N-1) = "
                         << config.getNumTables();
  int64_t rows = memrefType(tables).getDimSize(0);
  if (ShapedType::isStatic(rows) && rows != config.getTotalRows())
    return emitOpError() << "tables have " << rows << " rows but the n-gram tables need sum M_i = "
                         << config.getTotalRows();
  return success();
}

LogicalResult FusedRouterOp::verify() {
  Value u = getU(), classifier = getClassifier(), bias = getBias(), experts = getExperts(),
        weights = getWeights();
  for (auto [value, name, rank] : {std::tuple<Value, StringRef, int64_t>{u, "u", 2},
                                   {classifier, "classifier", 2},
                                   {bias, "bias", 1},
                                   {experts, "experts", 2},
                                   {weights, "weights", 2}})
    if (failed(verifyRank(*this, value, name, rank)))
      return failure();
  if (failed(verifyDimsAgree(*this, u, "u", 1, classifier, "classifier", 1)) ||
      failed(verifyDimsAgree(*this, experts, "experts", 0, u, "u", 0)) ||
      failed(verifyDimsAgree(*this, weights, "weights", 0, u, "u", 0)))
    return failure();
  return verifyRouterChoices(*this, getNRouted(), classifier, "classifier", 0, bias, experts,
                             weights);
}

LogicalResult NormLinearOp::verify() {
  Value x = getX(), w = getWeight(), y = getOut();
  if (failed(verifyRmsNormInput(*this, x, getNormWeight(), "norm_weight", getEps().convertToDouble())) ||
      failed(verifyRank(*this, w, "weight", 2)) || failed(verifyRank(*this, y, "out", 2)) ||
      failed(verifyBlockScales(*this, w, "weight", getWeightScale(), getWeightBlock())))
    return failure();
  return success(succeeded(verifyDimsAgree(*this, x, "x", 1, w, "weight", 1)) &&
                 succeeded(verifyDimsAgree(*this, y, "out", 0, x, "x", 0)) &&
                 succeeded(verifyDimsAgree(*this, y, "out", 1, w, "weight", 0)));
}

LogicalResult NormSwiGluOp::verify() {
  Value x = getX(), g = getGateWeight(), u = getUpWeight(), h = getOut();
  if (failed(verifyRmsNormInput(*this, x, getNormWeight(), "norm_weight", getEps().convertToDouble())) ||
      failed(verifySwiGluScales(*this, g, getGateScale(), u, getUpScale(), getWeightBlock())))
    return failure();
  return verifySwiGluShapes(*this, x, g, u, h);
}

LogicalResult MoeGroupOp::verify() {
  Value experts = getExperts(), order = getOrder(), rows = getRows(), counts = getCounts();
  if (failed(verifyOperandRanks(*this, {{experts, "experts", 2},
                                        {order, "order", 1},
                                        {rows, "rows", 1},
                                        {counts, "counts", 1}})) ||
      failed(verifyNumRouted(*this, getNRouted())) || failed(verifyTopK(*this, experts)) ||
      failed(verifyRowsPerTile(*this, getRowsPerTile())))
    return failure();
  auto numRouted = static_cast<int64_t>(getNRouted());
  int64_t keys = memrefType(counts).getDimSize(0);
  // Static, so that the counting kernel never writes past it.
  if (keys != numRouted + 1) {
    InFlightDiagnostic diag = emitOpError() << "counts dim 0 (";
    if (ShapedType::isDynamic(keys))
      diag << "?";
    else
      diag << keys;
    return diag << ") must equal n_routed + 1 (" << numRouted + 1 << ")";
  }
  return success(succeeded(verifyAssignmentDim(*this, rows, "rows", 0, experts)) &&
                 succeeded(verifyGroupedRowsDim(*this, order, "order", experts, numRouted,
                                                getRowsPerTile())));
}

LogicalResult ExpertDownCombineOp::verify() {
  Value x = getX(), h = getH(), down = getDown(), experts = getExperts(), weights = getWeights(),
        rows = getRows(), out = getOut();
  if (failed(verifyOperandRanks(*this, {{x, "x", 2},
                                        {h, "h", 2},
                                        {down, "down", 3},
                                        {experts, "experts", 2},
                                        {weights, "weights", 2},
                                        {rows, "rows", 1},
                                        {out, "out", 2}})) ||
      failed(verifyNumRouted(*this, getNRouted())) || failed(verifyTopK(*this, experts)) ||
      failed(verifyBlockScales(*this, down, "down", getDownScale(), getWeightBlock())))
    return failure();
  // Real experts (id < n_routed) index down: it must hold exactly them.
  int64_t numRouted = memrefType(down).getDimSize(0);
  if (ShapedType::isStatic(numRouted) && numRouted != static_cast<int64_t>(getNRouted()))
    return emitOpError() << "down dim 0 (" << numRouted << ") must equal n_routed ("
                         << static_cast<int64_t>(getNRouted()) << ")";
  return success(succeeded(verifyDimsAgree(*this, out, "out", 0, x, "x", 0)) &&
                 succeeded(verifyDimsAgree(*this, out, "out", 1, x, "x", 1)) &&
                 succeeded(verifyDimsAgree(*this, down, "down", 1, x, "x", 1)) &&
                 succeeded(verifyDimsAgree(*this, down, "down", 2, h, "h", 1)) &&
                 succeeded(verifyDimsAgree(*this, experts, "experts", 0, x, "x", 0)) &&
                 succeeded(verifyDimsAgree(*this, weights, "weights", 0, experts, "experts", 0)) &&
                 succeeded(verifyDimsAgree(*this, weights, "weights", 1, experts, "experts", 1)) &&
                 succeeded(verifyAssignmentDim(*this, rows, "rows", 0, experts)) &&
                 succeeded(verifyGroupedRowsDim(*this, h, "h", experts, 0, 1)));
}
