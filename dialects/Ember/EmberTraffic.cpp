//===- EmberTraffic.cpp - TrafficOpInterface of the ember ops ---------------===//
//
// Bytes per kernel launch for the static traffic model (docs/performance.md).
// Ops that read all of every operand use the interface's default (from their
// memory effects); the ones here read part of an operand (a gather, the
// activated experts, the attended cache rows, half of kv_b) or name which
// operand is a weight, so the model knows it without looking at the graph.
//
//===----------------------------------------------------------------------===//
#include "dialects/Ember/EmberDialect.h"
#include "dialects/Ember/VerifierSupport.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::ember;

#include "dialects/Ember/EmberInterfaces.cpp.inc"

namespace {
constexpr TrafficClass kWeights = TrafficClass::Weights, kNgram = TrafficClass::Ngram,
                       kKv = TrafficClass::Kv, kActivations = TrafficClass::Activations;

/// A static dim of an operand (verifiers keep weight dims static).
int64_t dim(Value memref, unsigned index) { return memrefType(memref).getDimSize(index); }
} // namespace

llvm::StringRef mlir::ember::trafficClassName(TrafficClass cls) {
  switch (cls) {
  case TrafficClass::Weights: return "weights";
  case TrafficClass::Ngram: return "ngram";
  case TrafficClass::Kv: return "kv";
  case TrafficClass::Activations: return "activations";
  }
  llvm_unreachable("unknown traffic class");
}

int64_t TrafficBytes::total() const {
  int64_t sum = 0;
  for (unsigned cls = 0; cls < kNumTrafficClasses; ++cls)
    sum += read[cls] + written[cls];
  return sum;
}

TrafficBytes &TrafficBytes::operator+=(const TrafficBytes &other) {
  for (unsigned cls = 0; cls < kNumTrafficClasses; ++cls) {
    read[cls] += other.read[cls];
    written[cls] += other.written[cls];
  }
  return *this;
}

int64_t mlir::ember::elementBytes(Value memref) {
  return (memrefType(memref).getElementTypeBitWidth() + 7) / 8;
}

int64_t TrafficContext::numElements(Value memref) {
  int64_t count = 1;
  for (int64_t size : shape(memref))
    count *= size;
  return count;
}

TrafficContext::~TrafficContext() = default;

void mlir::ember::addTrafficFromEffects(Operation *op, TrafficContext &ctx) {
  auto effecting = dyn_cast<MemoryEffectOpInterface>(op);
  if (!effecting)
    return;
  SmallVector<MemoryEffects::EffectInstance> effects;
  effecting.getEffects(effects);
  for (const MemoryEffects::EffectInstance &effect : effects) {
    Value value = effect.getValue();
    if (!value || !isa<MemRefType>(value.getType()))
      continue;
    if (isa<MemoryEffects::Read>(effect.getEffect()))
      ctx.readAll(value);
    else if (isa<MemoryEffects::Write>(effect.getEffect()))
      ctx.writeAll(value);
  }
}

//===----------------------------------------------------------------------===//
// N-gram embedding
//===----------------------------------------------------------------------===//

void CacheWriteOp::addTraffic(TrafficContext &ctx) {
  ctx.readAll(getValues(), kActivations);
  ctx.readAll(getSlots(), kActivations);
  ctx.readAll(getPositions(), kActivations);
  ctx.write(getCache(), ctx.numElements(getValues()) * elementBytes(getCache()));
}

void NgramIdsOp::addTraffic(TrafficContext &ctx) {
  // The T new tokens and the N - 1 before them, from one row of the table.
  int64_t tokens = ctx.shape(getIds())[0] + getConfig().getN() - 1;
  ctx.read(getTable(), tokens * elementBytes(getTable()));
  ctx.readAll(getSlots(), kActivations);
  ctx.readAll(getPositions(), kActivations);
  ctx.writeAll(getIds(), kActivations);
}

void MultiTableGatherOp::addTraffic(TrafficContext &ctx) {
  // One row of width W per id.
  ctx.readAll(getIds(), kActivations);
  ctx.read(getTable(), ctx.numElements(getIds()) * dim(getTable(), 1) * elementBytes(getTable()),
           kNgram);
  ctx.writeAll(getOut(), kActivations);
}

void NgramCombineOp::addTraffic(TrafficContext &ctx) {
  ctx.readAll(getWord(), kActivations);
  ctx.readAll(getRows(), kActivations);
  ctx.readAll(getProjections(), kWeights);
  ctx.writeAll(getOut());
}

//===----------------------------------------------------------------------===//
// Dense
//===----------------------------------------------------------------------===//

void LinearOp::addTraffic(TrafficContext &ctx) {
  ctx.readAll(getX(), kActivations);
  ctx.readAll(getWeight(), kWeights);
  if (Value scale = getWeightScale())
    ctx.readAll(scale, kWeights);
  if (getAccumulate())
    ctx.readAll(getOut());
  ctx.writeAll(getOut());
}

void RmsNormOp::addTraffic(TrafficContext &ctx) {
  ctx.readAll(getX(), kActivations);
  ctx.readAll(getWeight(), kWeights);
  ctx.writeAll(getOut()); // the KV cache for the new tokens' c_kv
}

void NgramEmbedOp::addTraffic(TrafficContext &ctx) {
  // ngram_ids + both gathers + ngram_combine without their intermediates:
  // the table's N - 1 + T tokens, T word rows, T * E n-gram rows, the
  // projections whole, and the embeddings written (and the rows' tokens,
  // slots and positions).
  int64_t tokens = ctx.shape(getOut())[0], tables = dim(getProjections(), 0);
  for (Value rowOperand : {getTokens(), getSlots(), getPositions()})
    ctx.readAll(rowOperand, kActivations);
  ctx.read(getTable(), (tokens + getConfig().getN() - 1) * elementBytes(getTable()));
  ctx.read(getEmbed(), tokens * dim(getEmbed(), 1) * elementBytes(getEmbed()), kNgram);
  ctx.read(getTables(), tokens * tables * dim(getTables(), 1) * elementBytes(getTables()), kNgram);
  ctx.readAll(getProjections(), kWeights);
  ctx.writeAll(getOut());
}

void SwiGluOp::addTraffic(TrafficContext &ctx) {
  ctx.readAll(getX(), kActivations);
  ctx.readAll(getGateWeight(), kWeights);
  ctx.readAll(getUpWeight(), kWeights);
  for (Value scale : {getGateScale(), getUpScale()})
    if (scale)
      ctx.readAll(scale, kWeights);
  ctx.writeAll(getOut());
}

void NormLinearOp::addTraffic(TrafficContext &ctx) {
  // rms_norm + linear without the normalized [T, D] in between.
  ctx.readAll(getX(), kActivations);
  ctx.readAll(getNormWeight(), kWeights);
  ctx.readAll(getWeight(), kWeights);
  if (Value scale = getWeightScale())
    ctx.readAll(scale, kWeights);
  if (getAccumulate())
    ctx.readAll(getOut());
  ctx.writeAll(getOut());
}

void NormSwiGluOp::addTraffic(TrafficContext &ctx) {
  ctx.readAll(getX(), kActivations);
  ctx.readAll(getNormWeight(), kWeights);
  ctx.readAll(getGateWeight(), kWeights);
  ctx.readAll(getUpWeight(), kWeights);
  for (Value scale : {getGateScale(), getUpScale()})
    if (scale)
      ctx.readAll(scale, kWeights);
  ctx.writeAll(getOut());
}

//===----------------------------------------------------------------------===//
// MLA attention
//===----------------------------------------------------------------------===//

void MlaAbsorbOp::addTraffic(TrafficContext &ctx) {
  // Only the key half of kv_b: rows h (Dn + Dv) + n, n < Dn.
  Value qNope = getQNope(), kvB = getKvB();
  ctx.readAll(qNope, kActivations);
  ctx.read(kvB, dim(qNope, 1) * dim(qNope, 2) * dim(kvB, 1) * elementBytes(kvB), kWeights);
  if (Value scale = getKvBScale())
    ctx.readAll(scale, kWeights);
  ctx.writeAll(getOut());
}

void MlaAttentionOp::addTraffic(TrafficContext &ctx) {
  // Causal: the T new tokens of S sequences attend to their sequences' P
  // cached rows each and to the T new ones.
  Value cache = getCache();
  ctx.readAll(getQLat(), kActivations);
  ctx.readAll(getQRope(), kActivations);
  ctx.readAll(getSlots(), kActivations);
  ctx.readAll(getPositions(), kActivations);
  int64_t rows = ctx.sequences * ctx.position + ctx.shape(getQLat())[0];
  ctx.read(cache, rows * dim(cache, 2) * elementBytes(cache), kKv);
  ctx.writeAll(getOut());
}

void MlaUpValueOp::addTraffic(TrafficContext &ctx) {
  // Only the value half of kv_b: rows h (Dn + Dv) + Dn + v, v < Dv.
  Value out = getOut(), kvB = getKvB();
  ctx.readAll(getOLat(), kActivations);
  ctx.read(kvB, dim(out, 1) * dim(out, 2) * dim(kvB, 1) * elementBytes(kvB), kWeights);
  if (Value scale = getKvBScale())
    ctx.readAll(scale, kWeights);
  ctx.writeAll(out);
}

//===----------------------------------------------------------------------===//
// MoE
//===----------------------------------------------------------------------===//

void RouterTopkOp::addTraffic(TrafficContext &ctx) {
  ctx.readAll(getLogits(), kActivations);
  ctx.readAll(getBias(), kWeights);
  ctx.writeAll(getExperts());
  ctx.writeAll(getWeights());
}

namespace {
/// The bytes of the experts the T k assignments of `experts` [T, k] can
/// activate: at worst all distinct, so min(T k, R) of the R stacked
/// [R, ...] expert matrices.
int64_t activatedExpertBytes(TrafficContext &ctx, Value experts, Value stacked) {
  int64_t activated = std::min(ctx.numElements(experts), dim(stacked, 0));
  return activated * ctx.bytesOf(stacked) / dim(stacked, 0);
}

/// The T k assignment rows of the activations `h` [rows, F]: moe_group's
/// padding rows are neither written nor read.
int64_t assignmentRowBytes(TrafficContext &ctx, Value experts, Value h) {
  return ctx.numElements(experts) * dim(h, 1) * elementBytes(h);
}

void readRouting(TrafficContext &ctx, Value experts, Value order) {
  ctx.readAll(experts, kActivations);
  ctx.readAll(order, kActivations);
}
} // namespace

int64_t MoeGroupOp::getKernelCount() { return getRowsPerTile() == 1 ? 1 : 2; }

void MoeGroupOp::addTraffic(TrafficContext &ctx) {
  // Padded: kernel 1 reads the choices and writes the counts; kernel 2
  // reads both. Either way every row of order (padding included) and of
  // rows is written.
  ctx.readAll(getExperts(), kActivations);
  ctx.writeAll(getCounts(), kActivations);
  if (getKernelCount() == 2) {
    ctx.readAll(getExperts(), kActivations);
    ctx.readAll(getCounts(), kActivations);
  }
  ctx.writeAll(getOrder(), kActivations);
  ctx.writeAll(getRows(), kActivations);
}

void ExpertGateUpOp::addTraffic(TrafficContext &ctx) {
  ctx.readAll(getX(), kActivations);
  ctx.read(getGate(), activatedExpertBytes(ctx, getExperts(), getGate()), kWeights);
  ctx.read(getUp(), activatedExpertBytes(ctx, getExperts(), getUp()), kWeights);
  for (Value scale : {getGateScale(), getUpScale()})
    if (scale)
      ctx.read(scale, activatedExpertBytes(ctx, getExperts(), scale), kWeights);
  readRouting(ctx, getExperts(), getOrder());
  // Every assignment row when no assignment picks a zero expert.
  ctx.write(getH(), assignmentRowBytes(ctx, getExperts(), getH()));
}

void ExpertDownOp::addTraffic(TrafficContext &ctx) {
  ctx.readAll(getH(), kActivations);
  ctx.read(getDown(), activatedExpertBytes(ctx, getExperts(), getDown()), kWeights);
  if (Value scale = getDownScale())
    ctx.read(scale, activatedExpertBytes(ctx, getExperts(), scale), kWeights);
  readRouting(ctx, getExperts(), getOrder());
  ctx.writeAll(getY());
}

void ExpertDownCombineOp::addTraffic(TrafficContext &ctx) {
  // expert_down + moe_combine without the [T*k, D] expert outputs: down's
  // activated experts, h and the routing (rows in place of order), then
  // combine's x, weights and the residual read and written.
  ctx.readAll(getX(), kActivations);
  ctx.read(getH(), assignmentRowBytes(ctx, getExperts(), getH()), kActivations);
  ctx.read(getDown(), activatedExpertBytes(ctx, getExperts(), getDown()), kWeights);
  if (Value scale = getDownScale())
    ctx.read(scale, activatedExpertBytes(ctx, getExperts(), scale), kWeights);
  readRouting(ctx, getExperts(), getRows());
  ctx.readAll(getWeights(), kActivations);
  ctx.readAll(getOut());
  ctx.writeAll(getOut());
}
