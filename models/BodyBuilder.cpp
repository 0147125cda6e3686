//===- BodyBuilder.cpp - shared pieces of the model graphs ----------------===//
//
// docs/design.md §3's sublayers as ember ops on memrefs.
//
//===----------------------------------------------------------------------===//
#include "models/BodyBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include <cmath>

using namespace mlir;
using namespace mlir::ember;

namespace {
constexpr int64_t kDynamic = ShapedType::kDynamic;
constexpr double kLatentNormEps = 1e-6; // q_a_layernorm / kv_a_layernorm (docs/design.md §3)
} // namespace

BodyBuilder::BodyBuilder(OpBuilder &b, Location loc, const ::ember::ModelConfig &config, Value tokenRows)
    : b(b), loc(loc), c(config), count(memref::DimOp::create(b, loc, tokenRows, 0)) {}

void BodyBuilder::bindBlockScales(ValueRange weights, ArrayRef<::ember::AbiWeight> abi, ValueRange scales) {
  auto scale = scales.begin();
  for (auto [weight, entry] : llvm::zip_equal(weights, abi))
    if (entry.fp8) {
      assert(scale != scales.end() && "a block-scale argument per FP8 weight");
      blockScales[weight] = *scale++;
    }
  assert(scale == scales.end() && "no block-scale argument left over");
}

DenseI64ArrayAttr BodyBuilder::blockOf(Value weight) const {
  if (!scaleOf(weight) || !c.fp8)
    return nullptr;
  return b.getDenseI64ArrayAttr({c.fp8->blockRows, c.fp8->blockCols});
}

Value BodyBuilder::alloc(ArrayRef<int64_t> trailing, Type element, Value rows) {
  SmallVector<int64_t> shape{kDynamic};
  shape.append(trailing.begin(), trailing.end());
  auto type = MemRefType::get(shape, element ? element : b.getF32Type());
  Value buffer = memref::AllocOp::create(b, loc, type, ValueRange{rows ? rows : count});
  buffers.push_back(buffer);
  return buffer;
}

void BodyBuilder::freeAll() {
  for (Value buffer : buffers)
    memref::DeallocOp::create(b, loc, buffer);
  buffers.clear();
}

/// The sizes of every dim of `source` (static ones as attributes).
static SmallVector<OpFoldResult> dimSizes(OpBuilder &b, Location loc, Value source) {
  auto type = cast<MemRefType>(source.getType());
  SmallVector<OpFoldResult> sizes;
  for (int64_t dim = 0; dim < type.getRank(); ++dim)
    sizes.push_back(type.isDynamicDim(dim) ? OpFoldResult(memref::DimOp::create(b, loc, source, dim).getResult())
                                           : b.getIndexAttr(type.getDimSize(dim)));
  return sizes;
}

Value BodyBuilder::lastDimSlice(Value source, int64_t offset, int64_t size) {
  int64_t rank = cast<MemRefType>(source.getType()).getRank();
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)), strides(rank, b.getIndexAttr(1));
  SmallVector<OpFoldResult> sizes = dimSizes(b, loc, source);
  offsets.back() = b.getIndexAttr(offset);
  sizes.back() = b.getIndexAttr(size);
  return memref::SubViewOp::create(b, loc, source, offsets, sizes, strides);
}

Value BodyBuilder::sublayerCache(Value cache, int64_t sublayer) {
  auto type = cast<MemRefType>(cache.getType());
  assert(type.getRank() == 4 && "a [sublayers, slots, context, W] cache");
  int64_t width = type.getDimSize(3);
  SmallVector<OpFoldResult> offsets{b.getIndexAttr(sublayer), b.getIndexAttr(0), b.getIndexAttr(0),
                                    b.getIndexAttr(0)},
      sizes{b.getIndexAttr(1), memref::DimOp::create(b, loc, cache, 1).getResult(),
            memref::DimOp::create(b, loc, cache, 2).getResult(), b.getIndexAttr(width)},
      strides(4, b.getIndexAttr(1));
  auto viewType = memref::SubViewOp::inferRankReducedResultType({kDynamic, kDynamic, width}, type, offsets,
                                                                sizes, strides);
  return memref::SubViewOp::create(b, loc, cast<MemRefType>(viewType), cache, offsets, sizes, strides);
}

void BodyBuilder::rmsNorm(Value x, Value weight, Value out, double eps, double scale) {
  RmsNormOp::create(b, loc, x, weight, out, b.getF32FloatAttr(eps), b.getF32FloatAttr(scale));
}

void BodyBuilder::linear(Value x, Value weight, Value out, bool accumulate) {
  LinearOp::create(b, loc, x, weight, scaleOf(weight), out, accumulate, blockOf(weight));
}

void BodyBuilder::mlp(Value x, ValueRange weights, Value residual) {
  Value gate = alloc({c.ffnHiddenSize}), up = alloc({c.ffnHiddenSize});
  linear(x, weights[0], gate);
  linear(x, weights[1], up);
  SiluMulOp::create(b, loc, gate, up, gate);
  linear(gate, weights[2], residual, /*accumulate=*/true);
}

void BodyBuilder::attention(Value x, ValueRange w, Value cache, Value slots, Value positions,
                            Value residual) {
  int64_t D = c.hiddenSize, H = c.numAttentionHeads, nope = c.qkNopeHeadDim,
          rope = c.qkRopeHeadDim, latent = c.kvLoraRank;
  double qScale = c.mlaScaleQLora ? std::sqrt(double(D) / double(c.qLoraRank)) : 1.0;
  double kvScale = c.mlaScaleKvLora ? std::sqrt(double(D) / double(latent)) : 1.0;
  auto inverseFrequencies = b.getDenseF32ArrayAttr(::ember::ropeInverseFrequencies(c));
  auto ropeScale = b.getF32FloatAttr(::ember::ropeCosSinScale(c));

  // 1. Query: q_b(RMSNorm(q_a x)) as [T, H, nope + rope], rotary part in place.
  Value qa = alloc({c.qLoraRank});
  linear(x, w[0], qa);
  rmsNorm(qa, w[1], qa, kLatentNormEps, qScale);
  Value q = alloc({H * (nope + rope)});
  linear(qa, w[2], q);
  SmallVector<ReassociationIndices> splitHeads{{0}, {1, 2}};
  Value q3 = memref::ExpandShapeOp::create(
      b, loc, MemRefType::get({kDynamic, H, nope + rope}, b.getF32Type()), q, splitHeads,
      ArrayRef<OpFoldResult>{memref::DimOp::create(b, loc, q, 0).getResult(), b.getIndexAttr(H),
                             b.getIndexAttr(nope + rope)});
  Value qNope = lastDimSlice(q3, 0, nope), qRope = lastDimSlice(q3, nope, rope);
  RopeOp::create(b, loc, qRope, positions, qRope, inverseFrequencies, ropeScale);

  // 2. Latent: [c_kv | k_rope] of the new rows, normed and rotated in place,
  //    then into the cache at each row's slot and position.
  Value compressed = alloc({latent + rope});
  linear(x, w[3], compressed);
  Value latentPart = lastDimSlice(compressed, 0, latent), ropePart = lastDimSlice(compressed, latent, rope);
  rmsNorm(latentPart, w[4], latentPart, kLatentNormEps, kvScale);
  RopeOp::create(b, loc, ropePart, positions, ropePart, inverseFrequencies, ropeScale);
  CacheWriteOp::create(b, loc, compressed, cache, slots, positions);

  // 3. Absorbed attention on the latent cache, then values and o_proj.
  Value qLatent = alloc({H, latent});
  MlaAbsorbOp::create(b, loc, qNope, w[5], scaleOf(w[5]), qLatent, blockOf(w[5]));
  Value attended = alloc({H, latent});
  MlaAttentionOp::create(b, loc, qLatent, qRope, cache, slots, positions, attended,
                         b.getF32FloatAttr(::ember::attentionSoftmaxScale(c)));
  Value values = alloc({H, c.vHeadDim});
  MlaUpValueOp::create(b, loc, attended, w[5], scaleOf(w[5]), values, blockOf(w[5]));
  Value flat = memref::CollapseShapeOp::create(b, loc, values, splitHeads);
  linear(flat, w[6], residual, /*accumulate=*/true);
}

std::tuple<Value, Value, Value> BodyBuilder::moe(Value u, ValueRange w) {
  int64_t k = c.moeTopk, allExperts = c.nRoutedExperts + c.zeroExpertNum;
  auto routed = b.getI64IntegerAttr(c.nRoutedExperts);
  Value logits = alloc({allExperts});
  linear(u, w[0], logits);
  Value experts = alloc({k}, b.getI32Type()), weights = alloc({k});
  RouterTopkOp::create(b, loc, logits, w[1], experts, weights, routed,
                       b.getF32FloatAttr(c.routedScalingFactor));
  // Assignment-indexed buffers [T k, ...].
  Value assignments = arith::MulIOp::create(b, loc, count, arith::ConstantIndexOp::create(b, loc, k));
  Value order = alloc({}, b.getI32Type(), assignments);
  MoeDispatchOp::create(b, loc, experts, order, routed);
  Value hidden = alloc({c.expertFfnHiddenSize}, {}, assignments);
  ExpertGateUpOp::create(b, loc, u, w[2], w[3], scaleOf(w[2]), scaleOf(w[3]), experts, order, hidden,
                         /*rows_per_tile=*/1, blockOf(w[2]));
  Value outputs = alloc({c.hiddenSize}, {}, assignments);
  ExpertDownOp::create(b, loc, hidden, w[4], scaleOf(w[4]), experts, order, outputs, blockOf(w[4]));
  return {experts, weights, outputs};
}

SmallVector<Type> mlir::ember::weightTypes(OpBuilder &b, ArrayRef<::ember::AbiWeight> weights,
                                           WeightType weightType) {
  SmallVector<Type> types;
  for (const ::ember::AbiWeight &weight : weights)
    types.push_back(MemRefType::get(weight.shape, weight.alwaysF32 ? b.getF32Type()
                                                  : weight.fp8     ? Type(b.getType<Float8E4M3FNType>())
                                                                   : weightElementType(b, weightType)));
  return types;
}
