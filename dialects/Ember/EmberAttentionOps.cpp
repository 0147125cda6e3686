//===- EmberAttentionOps.cpp - verifiers of the attention ops ------------------------===//
#include "dialects/Ember/EmberDialect.h"
#include "dialects/Ember/VerifierSupport.h"

using namespace mlir;
using namespace mlir::ember;

LogicalResult RopeOp::verify() {
  MemRefType xType = memrefType(getX());
  if (xType.getRank() < 2)
    return emitOpError() << "x must have rank >= 2 ([T, ..., R]), got rank " << xType.getRank();
  if (failed(verifyRank(*this, getOut(), "out", xType.getRank())))
    return failure();
  for (int64_t dim = 0; dim < xType.getRank(); ++dim)
    if (failed(verifyDimsAgree(*this, getOut(), "out", dim, getX(), "x", dim)))
      return failure();
  if (failed(verifyRowCoordinates(*this, getPositions(), "positions", getX(), "x")))
    return failure();
  int64_t rotary = xType.getShape().back();
  if (ShapedType::isDynamic(rotary))
    return emitOpError() << "the rotary dim (last dim of x) must be static";
  if (rotary % 2 != 0)
    return emitOpError() << "the rotary dim (last dim of x) must be even, got " << rotary;
  if (int64_t(getInvFreq().size()) != rotary / 2)
    return emitOpError() << "inv_freq must have one entry per pair (" << rotary / 2 << "), got "
                         << getInvFreq().size();
  return success();
}

/// kv_b [H (Dn + Dv), C]: checks that its rows split into H heads of more
/// than `part` rows, where `part` is the head part the op does not use.
static LogicalResult verifyKvB(Operation *op, Value kvB, int64_t heads, int64_t part,
                               StringRef partName) {
  int64_t rows = memrefType(kvB).getDimSize(0);
  if (ShapedType::isDynamic(rows) || ShapedType::isDynamic(heads) || ShapedType::isDynamic(part))
    return success();
  if (rows % heads != 0 || rows / heads <= part)
    return op->emitOpError() << "kv_b has " << rows << " rows, expected heads (" << heads
                             << ") x (" << partName << " (" << part << ") + at least 1)";
  return success();
}

LogicalResult MlaAbsorbOp::verify() {
  Value q = getQNope(), kvB = getKvB(), out = getOut();
  if (failed(verifyRank(*this, q, "q_nope", 3)) || failed(verifyRank(*this, kvB, "kv_b", 2)) ||
      failed(verifyRank(*this, out, "out", 3)) ||
      failed(verifyBlockScales(*this, kvB, "kv_b", getKvBScale(), getWeightBlock())))
    return failure();
  if (failed(verifyDimsAgree(*this, out, "out", 0, q, "q_nope", 0)) ||
      failed(verifyDimsAgree(*this, out, "out", 1, q, "q_nope", 1)) ||
      failed(verifyDimsAgree(*this, out, "out", 2, kvB, "kv_b", 1)))
    return failure();
  MemRefType qType = memrefType(q);
  return verifyKvB(*this, kvB, qType.getDimSize(1), qType.getDimSize(2), "qk_nope_head_dim");
}

LogicalResult MlaAttentionOp::verify() {
  Value qLat = getQLat(), qRope = getQRope(), cache = getCache(), out = getOut();
  if (failed(verifyRank(*this, qLat, "q_lat", 3)) || failed(verifyRank(*this, qRope, "q_rope", 3)) ||
      failed(verifyRank(*this, cache, "cache", 3)) || failed(verifyRank(*this, out, "out", 3)) ||
      failed(verifyRowCoordinates(*this, getSlots(), "slots", qLat, "q_lat")))
    return failure();
  for (unsigned dim = 0; dim < 3; ++dim)
    if (failed(verifyDimsAgree(*this, out, "out", dim, qLat, "q_lat", dim)))
      return failure();
  if (failed(verifyDimsAgree(*this, qRope, "q_rope", 0, qLat, "q_lat", 0)) ||
      failed(verifyDimsAgree(*this, qRope, "q_rope", 1, qLat, "q_lat", 1)))
    return failure();
  int64_t latent = memrefType(qLat).getDimSize(2), rope = memrefType(qRope).getDimSize(2);
  int64_t row = memrefType(cache).getDimSize(2);
  if (ShapedType::isStatic(latent) && ShapedType::isStatic(rope) && ShapedType::isStatic(row) &&
      row != latent + rope)
    return emitOpError() << "cache rows hold " << row << " values, expected kv_lora (" << latent
                         << ") + rope (" << rope << ") = " << latent + rope;
  return success();
}

LogicalResult MlaUpValueOp::verify() {
  Value oLat = getOLat(), kvB = getKvB(), out = getOut();
  if (failed(verifyRank(*this, oLat, "o_lat", 3)) || failed(verifyRank(*this, kvB, "kv_b", 2)) ||
      failed(verifyRank(*this, out, "out", 3)) ||
      failed(verifyBlockScales(*this, kvB, "kv_b", getKvBScale(), getWeightBlock())))
    return failure();
  if (failed(verifyDimsAgree(*this, out, "out", 0, oLat, "o_lat", 0)) ||
      failed(verifyDimsAgree(*this, out, "out", 1, oLat, "o_lat", 1)) ||
      failed(verifyDimsAgree(*this, kvB, "kv_b", 1, oLat, "o_lat", 2)))
    return failure();
  MemRefType outType = memrefType(out);
  return verifyKvB(*this, kvB, outType.getDimSize(1), outType.getDimSize(2), "v_head_dim");
}
