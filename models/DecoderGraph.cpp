//===- DecoderGraph.cpp - the LongCat-Flash-Lite decoder graph ------------===//
//
// Emits DESIGN.md 1.3 as ember ops on memrefs. The argument order is
// ModelAbi.h's (shared with the runtime); shapes come from config.json.
//
//===----------------------------------------------------------------------===//
#include "models/DecoderGraph.h"

#include "ember/runtime/ModelAbi.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Verifier.h"

#include <cmath>

using namespace mlir;
using namespace mlir::ember;
namespace rt = ::ember::rt;

namespace {

constexpr int64_t kDynamic = ShapedType::kDynamic;
constexpr llvm::StringLiteral kLayerFunction = "ember_shortcut_layer";
constexpr double kLatentNormEps = 1e-6; // q_a_layernorm / kv_a_layernorm (DESIGN.md 1.3)

/// Emits one function body: temporaries are [T, ...] allocations freed when
/// the body ends.
class BodyBuilder {
public:
  /// `tokenRows`: any memref whose dim 0 is T.
  BodyBuilder(OpBuilder &b, Location loc, const rt::ModelConfig &config, Value tokenRows)
      : b(b), loc(loc), c(config), count(memref::DimOp::create(b, loc, tokenRows, 0)) {}

  /// A [rows, trailing...] buffer (rows defaults to T; f32 by default).
  Value alloc(ArrayRef<int64_t> trailing, Type element = {}, Value rows = {}) {
    SmallVector<int64_t> shape{kDynamic};
    shape.append(trailing.begin(), trailing.end());
    auto type = MemRefType::get(shape, element ? element : b.getF32Type());
    Value buffer = memref::AllocOp::create(b, loc, type, ValueRange{rows ? rows : count});
    buffers.push_back(buffer);
    return buffer;
  }
  void freeAll() {
    for (Value buffer : buffers)
      memref::DeallocOp::create(b, loc, buffer);
    buffers.clear();
  }

  /// `source[:, ..., offset:offset+size]` along the last dim.
  Value lastDimSlice(Value source, int64_t offset, int64_t size) {
    auto type = cast<MemRefType>(source.getType());
    int64_t rank = type.getRank();
    SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)), sizes, strides(rank, b.getIndexAttr(1));
    for (int64_t dim = 0; dim < rank; ++dim)
      sizes.push_back(type.isDynamicDim(dim) ? OpFoldResult(memref::DimOp::create(b, loc, source, dim).getResult())
                                             : b.getIndexAttr(type.getDimSize(dim)));
    offsets.back() = b.getIndexAttr(offset);
    sizes.back() = b.getIndexAttr(size);
    return memref::SubViewOp::create(b, loc, source, offsets, sizes, strides);
  }

  void rmsNorm(Value x, Value weight, Value out, double eps, double scale = 1.0) {
    RmsNormOp::create(b, loc, x, weight, out, b.getF32FloatAttr(eps), b.getF32FloatAttr(scale));
  }
  void linear(Value x, Value weight, Value out, bool accumulate = false) {
    LinearOp::create(b, loc, x, weight, out, accumulate);
  }

  /// r += down(silu(gate x) * up x).
  void mlp(Value x, ValueRange weights, Value residual) {
    Value gate = alloc({c.ffnHiddenSize}), up = alloc({c.ffnHiddenSize});
    linear(x, weights[0], gate);
    linear(x, weights[1], up);
    SiluMulOp::create(b, loc, gate, up, gate);
    linear(gate, weights[2], residual, /*accumulate=*/true);
  }

  /// r += o_proj(MLA(x)); writes this sublayer's latent rows into `cache`
  /// [S, kv_lora + rope] at start.. first. Weights: q_a, q_a_layernorm, q_b,
  /// kv_a, kv_a_layernorm, kv_b, o_proj.
  void attention(Value x, ValueRange w, Value cache, Value start, Value residual) {
    int64_t D = c.hiddenSize, H = c.numAttentionHeads, nope = c.qkNopeHeadDim,
            rope = c.qkRopeHeadDim, latent = c.kvLoraRank;
    double qScale = c.mlaScaleQLora ? std::sqrt(double(D) / double(c.qLoraRank)) : 1.0;
    double kvScale = c.mlaScaleKvLora ? std::sqrt(double(D) / double(latent)) : 1.0;
    auto inverseFrequencies = b.getDenseF32ArrayAttr(rt::ropeInverseFrequencies(c));
    auto ropeScale = b.getF32FloatAttr(rt::ropeCosSinScale(c));

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
    RopeOp::create(b, loc, qRope, start, qRope, inverseFrequencies, ropeScale);

    // 2. Latent: [c_kv | k_rope] of the new tokens straight into the cache.
    Value compressed = alloc({latent + rope});
    linear(x, w[3], compressed);
    SmallVector<OpFoldResult> rowOffsets{start, b.getIndexAttr(0)}, rowSizes{count, b.getIndexAttr(latent + rope)},
        unit(2, b.getIndexAttr(1));
    Value newRows = memref::SubViewOp::create(b, loc, cache, rowOffsets, rowSizes, unit);
    rmsNorm(lastDimSlice(compressed, 0, latent), w[4], lastDimSlice(newRows, 0, latent),
            kLatentNormEps, kvScale);
    RopeOp::create(b, loc, lastDimSlice(compressed, latent, rope), start,
                   lastDimSlice(newRows, latent, rope), inverseFrequencies, ropeScale);

    // 3. Absorbed attention on the latent cache, then values and o_proj.
    Value qLatent = alloc({H, latent});
    MlaAbsorbOp::create(b, loc, qNope, w[5], qLatent);
    Value attended = alloc({H, latent});
    MlaAttentionOp::create(b, loc, qLatent, qRope, cache, start, attended,
                           b.getF32FloatAttr(rt::attentionSoftmaxScale(c)));
    Value values = alloc({H, c.vHeadDim});
    MlaUpValueOp::create(b, loc, attended, w[5], values);
    Value flat = memref::CollapseShapeOp::create(b, loc, values, splitHeads);
    linear(flat, w[6], residual, /*accumulate=*/true);
  }

  /// The routed experts of u: returns (experts, weights, per-assignment
  /// outputs) for moe_combine. Weights: classifier, bias, gate, up, down.
  std::tuple<Value, Value, Value> moe(Value u, ValueRange w) {
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
    ExpertGateUpOp::create(b, loc, u, w[2], w[3], experts, order, hidden);
    Value outputs = alloc({c.hiddenSize}, {}, assignments);
    ExpertDownOp::create(b, loc, hidden, w[4], experts, order, outputs);
    return {experts, weights, outputs};
  }

  OpBuilder &b;
  Location loc;
  const rt::ModelConfig &c;
  Value count; // T: the row count of every temporary

private:
  SmallVector<Value> buffers;
};

Type abiElementType(OpBuilder &b, const rt::AbiWeight &weight, WeightType weightType) {
  return weight.alwaysF32 ? b.getF32Type() : weightElementType(b, weightType);
}

SmallVector<Type> weightTypes(OpBuilder &b, ArrayRef<rt::AbiWeight> weights, WeightType weightType) {
  SmallVector<Type> types;
  for (const rt::AbiWeight &weight : weights)
    types.push_back(MemRefType::get(weight.shape, abiElementType(b, weight, weightType)));
  return types;
}

/// One layer's two sublayers of the KV cache, [2, S, C+R], as a strided view
/// of the [2L, slots, S, C+R] cache.
MemRefType layerCacheType(OpBuilder &b, const rt::ModelConfig &c) {
  return MemRefType::get({2, kDynamic, rt::kvCacheRowWidth(c)}, b.getF32Type(),
                         StridedLayoutAttr::get(b.getContext(), kDynamic, {kDynamic, kDynamic, 1}));
}

/// @ember_shortcut_layer(r [T, D], start, cache [2, S, C+R],
/// 29 layer weights): one shortcut layer of DESIGN.md 1.3 on r in place.
void buildLayerFunction(OpBuilder &b, Location loc, const rt::ModelConfig &c,
                        ArrayRef<Type> layerWeightTypes, Type residualType,
                        MemRefType cacheType) {
  OpBuilder::InsertionGuard guard(b);
  SmallVector<Type> inputs{residualType, b.getIndexType(), cacheType};
  inputs.append(layerWeightTypes.begin(), layerWeightTypes.end());
  auto func = func::FuncOp::create(b, loc, kLayerFunction, b.getFunctionType(inputs, {}));
  func.setPrivate();
  b.setInsertionPointToStart(func.addEntryBlock());
  Value r = func.getArgument(0), start = func.getArgument(1), cache = func.getArgument(2);
  ValueRange w = func.getArguments().drop_front(3);
  BodyBuilder body(b, loc, c, r);
  auto sublayerCache = [&](int64_t sublayer) {
    Value rows = memref::DimOp::create(b, loc, cache, 1);
    SmallVector<OpFoldResult> offsets{b.getIndexAttr(sublayer), b.getIndexAttr(0), b.getIndexAttr(0)},
        sizes{b.getIndexAttr(1), rows, b.getIndexAttr(rt::kvCacheRowWidth(c))},
        strides(3, b.getIndexAttr(1));
    auto type = memref::SubViewOp::inferRankReducedResultType(
        {kDynamic, rt::kvCacheRowWidth(c)}, cacheType, offsets, sizes, strides);
    return memref::SubViewOp::create(b, loc, cast<MemRefType>(type), cache, offsets, sizes, strides)
        .getResult();
  };
  // Per sublayer s: w[12 s + 0..1] norms, w[12 s + 2..8] attention, w[12 s + 9..11] MLP.
  auto sub = [&](int64_t s, int64_t index, int64_t count) { return w.slice(12 * s + index, count); };
  ValueRange moeWeights = w.slice(24, 5);
  Value normed = body.alloc({c.hiddenSize}), u = body.alloc({c.hiddenSize});

  // r += MLA_0(RMSNorm(r)); u = RMSNorm(r); s = MoE(u); r += MLP_0(u)
  body.rmsNorm(r, sub(0, 0, 1)[0], normed, c.rmsNormEps);
  body.attention(normed, sub(0, 2, 7), sublayerCache(0), start, r);
  body.rmsNorm(r, sub(0, 1, 1)[0], u, c.rmsNormEps);
  auto [experts, weights, outputs] = body.moe(u, moeWeights);
  body.mlp(u, sub(0, 9, 3), r);
  // r += MLA_1(RMSNorm(r)); r = r + MLP_1(RMSNorm(r)) + s
  body.rmsNorm(r, sub(1, 0, 1)[0], normed, c.rmsNormEps);
  body.attention(normed, sub(1, 2, 7), sublayerCache(1), start, r);
  body.rmsNorm(r, sub(1, 1, 1)[0], normed, c.rmsNormEps);
  body.mlp(normed, sub(1, 9, 3), r);
  MoeCombineOp::create(b, loc, u, outputs, experts, weights, r, b.getI64IntegerAttr(c.nRoutedExperts));
  body.freeAll();
  func::ReturnOp::create(b, loc);
}

} // namespace

namespace {

/// ember_step(tokens, slot, start, token_table, kv_cache, logits, hidden,
/// weights...): DESIGN.md 1.3 for T new tokens at positions start.. .
void buildStepFunction(OpBuilder &b, Location loc, const rt::ModelConfig &c,
                       NgramConfigAttr ngram, ArrayRef<Type> weights) {
  OpBuilder::InsertionGuard guard(b);
  Type index = b.getIndexType(), f32 = b.getF32Type(), i32 = b.getI32Type();
  auto tokensType = MemRefType::get({kDynamic}, i32);
  auto residualType = MemRefType::get({kDynamic, c.hiddenSize}, f32);
  SmallVector<Type> inputs{tokensType,
                           index,
                           index,
                           MemRefType::get({kDynamic, kDynamic}, i32),
                           MemRefType::get({rt::kvCacheSublayers(c), kDynamic, kDynamic,
                                            rt::kvCacheRowWidth(c)}, f32),
                           MemRefType::get({kDynamic, c.vocabSize}, f32),
                           residualType};
  inputs.append(weights.begin(), weights.end());
  auto func = func::FuncOp::create(b, loc, rt::kStepFunction, b.getFunctionType(inputs, {}));
  func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(), b.getUnitAttr());
  b.setInsertionPointToStart(func.addEntryBlock());
  ValueRange args = func.getArguments();
  Value tokens = args[0], slot = args[1], start = args[2], tokenTable = args[3], cache = args[4],
        logits = args[5], hidden = args[6];
  ValueRange w = args.drop_front(7);
  BodyBuilder body(b, loc, c, tokens);

  // 1. The N-gram cache learns the new tokens; the embedding reads it back.
  NgramCacheWriteOp::create(b, loc, tokens, tokenTable, slot, start);
  Value r = body.alloc({c.hiddenSize});
  Value ids = body.alloc({c.numNgramTables()}, i32);
  buildNgramEmbedding(b, loc, ngram, tokenTable, slot, start, w[0], w[1], w[2], ids, r);

  // 2. The shortcut layers, each on its two sublayers' rows of this slot's cache.
  auto cacheType = cast<MemRefType>(cache.getType());
  for (int64_t layer = 0; layer < c.numLayers; ++layer) {
    Value context = memref::DimOp::create(b, loc, cache, 2);
    SmallVector<OpFoldResult> offsets{b.getIndexAttr(2 * layer), slot, b.getIndexAttr(0), b.getIndexAttr(0)},
        sizes{b.getIndexAttr(2), b.getIndexAttr(1), context, b.getIndexAttr(rt::kvCacheRowWidth(c))},
        strides(4, b.getIndexAttr(1));
    auto viewType = memref::SubViewOp::inferRankReducedResultType(
        {2, kDynamic, rt::kvCacheRowWidth(c)}, cacheType, offsets, sizes, strides);
    Value view = memref::SubViewOp::create(b, loc, cast<MemRefType>(viewType), cache, offsets,
                                           sizes, strides);
    SmallVector<Value> operands{r, start, memref::CastOp::create(b, loc, layerCacheType(b, c), view)};
    llvm::append_range(operands, w.slice(3 + rt::kWeightsPerLayer * layer, rt::kWeightsPerLayer));
    func::CallOp::create(b, loc, kLayerFunction, TypeRange{}, operands);
  }

  // 3. Final norm and the untied lm_head.
  ValueRange head = w.take_back(2);
  body.rmsNorm(r, head[0], hidden, c.rmsNormEps);
  body.linear(hidden, head[1], logits);
  body.freeAll();
  func::ReturnOp::create(b, loc);
}

/// ember_prefill: ember_step at start 0 (same kernels, one signature less).
void buildPrefillFunction(OpBuilder &b, Location loc, func::FuncOp step) {
  OpBuilder::InsertionGuard guard(b);
  SmallVector<Type> inputs(step.getArgumentTypes());
  inputs.erase(inputs.begin() + 2);
  auto func = func::FuncOp::create(b, loc, rt::kPrefillFunction, b.getFunctionType(inputs, {}));
  func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(), b.getUnitAttr());
  b.setInsertionPointToStart(func.addEntryBlock());
  SmallVector<Value> operands(func.getArguments());
  operands.insert(operands.begin() + 2, arith::ConstantIndexOp::create(b, loc, 0));
  func::CallOp::create(b, loc, step, operands);
  func::ReturnOp::create(b, loc);
}

} // namespace

NgramGraphSpec mlir::ember::ngramSpecOf(const rt::ModelConfig &config, WeightType weightType) {
  NgramGraphSpec spec;
  spec.vocab = config.vocabSize;
  spec.hidden = config.hiddenSize;
  spec.neighborNum = config.embNeighborNum;
  spec.splitNum = config.embSplitNum;
  spec.ngramVocab = config.ngramVocab();
  spec.eos = config.eosTokenId;
  spec.weightType = weightType;
  return spec;
}

OwningOpRef<ModuleOp> mlir::ember::buildDecoderModule(MLIRContext &context,
                                                      const rt::ModelConfig &config,
                                                      WeightType weightType) {
  Location loc = FileLineColLoc::get(&context, config.path.empty() ? "config" : config.path, 0, 0);
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  NgramGraphSpec spec = ngramSpecOf(config, weightType);
  if (failed(addNgramEmbeddingFunctions(*module, spec)))
    return nullptr;
  NgramConfigAttr ngram = ngramConfigOf(context, spec);

  OpBuilder b(&context);
  b.setInsertionPointToEnd(module->getBody());
  std::vector<rt::AbiWeight> abi = rt::modelWeights(config);
  SmallVector<Type> weights = weightTypes(b, abi, weightType);
  buildLayerFunction(b, loc, config, ArrayRef<Type>(weights).slice(3, rt::kWeightsPerLayer),
                     MemRefType::get({kDynamic, config.hiddenSize}, b.getF32Type()),
                     layerCacheType(b, config));
  buildStepFunction(b, loc, config, ngram, weights);
  auto step = module->lookupSymbol<func::FuncOp>(rt::kStepFunction);
  buildPrefillFunction(b, loc, step);
  if (failed(verify(*module)))
    return nullptr;
  return module;
}
