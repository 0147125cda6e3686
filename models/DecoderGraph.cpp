//===- DecoderGraph.cpp - the LongCat-Flash-Lite decoder graph ------------===//
//
// Emits docs/design.md §3 as ember ops on memrefs. The argument order is
// ModelAbi.h's (shared with the runtime); shapes come from config.json.
//
//===----------------------------------------------------------------------===//
#include "models/DecoderGraph.h"
#include "models/BodyBuilder.h"

#include "ember/model/ModelAbi.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Verifier.h"

using namespace mlir;
using namespace mlir::ember;

namespace {

constexpr int64_t kDynamic = ShapedType::kDynamic;
constexpr llvm::StringLiteral kLayerFunction = "ember_shortcut_layer";

/// One layer's two sublayers of the KV cache, [2, slots, S, C+R], as a
/// strided view of the [2L, slots, S, C+R] cache.
MemRefType layerCacheType(OpBuilder &b, const ::ember::ModelConfig &c) {
  int64_t width = ::ember::kvCacheRowWidth(c);
  return MemRefType::get({2, kDynamic, kDynamic, width}, b.getF32Type(),
                         StridedLayoutAttr::get(b.getContext(), kDynamic, {kDynamic, kDynamic, width, 1}));
}

/// The argument types ModelAbi.h gives every entry point.
struct AbiTypes {
  AbiTypes(OpBuilder &b, const ::ember::ModelConfig &c, WeightType weightType)
      : abi(::ember::modelWeights(c, weightType == WeightType::FP8)),
        rowIndex(MemRefType::get({kDynamic}, b.getI32Type())),
        tokenTable(MemRefType::get({kDynamic, kDynamic}, b.getI32Type())),
        kvCache(MemRefType::get({::ember::kvCacheSublayers(c), kDynamic, kDynamic, ::ember::kvCacheRowWidth(c)},
                                b.getF32Type())),
        logits(MemRefType::get({kDynamic, c.vocabSize}, b.getF32Type())),
        rows(MemRefType::get({kDynamic, c.hiddenSize}, b.getF32Type())), weights(weightTypes(b, abi, weightType)),
        scales(weightType == WeightType::FP8 ? ::ember::kFp8ScalesPerLayer * c.numLayers : 0) {}
  std::vector<::ember::AbiWeight> abi;          // modelWeights(config), block scales last in the FP8 format
  MemRefType rowIndex;                          // tokens, slots, positions [T]
  MemRefType tokenTable, kvCache, logits, rows; // rows: embeddings, hidden [T, D]
  SmallVector<Type> weights;                    // of abi
  int64_t scales;                               // the block-scale arguments at the end of abi

  /// Layer 0's weights (every layer's have the same types), and the types
  /// of its block scales.
  ArrayRef<::ember::AbiWeight> layerWeights() const {
    return ArrayRef(abi).slice(::ember::kEmbeddingWeights, ::ember::kWeightsPerLayer);
  }
  ArrayRef<Type> layerTypes() const {
    return ArrayRef(weights).slice(::ember::kEmbeddingWeights, ::ember::kWeightsPerLayer);
  }
  ArrayRef<Type> layerScaleTypes() const {
    return ArrayRef(weights).take_back(scales).take_front(scales ? ::ember::kFp8ScalesPerLayer : 0);
  }
};

/// @ember_shortcut_layer(r [T, D], slots [T], positions [T],
/// cache [2, slots, S, C+R], 29 layer weights[, their block scales]): one
/// shortcut layer of docs/design.md §3 on r in place.
void buildLayerFunction(OpBuilder &b, Location loc, const ::ember::ModelConfig &c, const AbiTypes &types,
                        MemRefType cacheType) {
  OpBuilder::InsertionGuard guard(b);
  SmallVector<Type> inputs{types.rows, types.rowIndex, types.rowIndex, cacheType};
  llvm::append_range(inputs, types.layerTypes());
  llvm::append_range(inputs, types.layerScaleTypes());
  auto func = func::FuncOp::create(b, loc, kLayerFunction, b.getFunctionType(inputs, {}));
  func.setPrivate();
  b.setInsertionPointToStart(func.addEntryBlock());
  Value r = func.getArgument(0), slots = func.getArgument(1), positions = func.getArgument(2),
        cache = func.getArgument(3);
  ValueRange w = func.getArguments().slice(4, ::ember::kWeightsPerLayer);
  BodyBuilder body(b, loc, c, r);
  body.bindBlockScales(w, types.layerWeights(), func.getArguments().drop_front(4 + ::ember::kWeightsPerLayer));
  auto sublayerCache = [&](int64_t sublayer) { return body.sublayerCache(cache, sublayer); };
  // Per sublayer s: w[12 s + 0..1] norms, w[12 s + 2..8] attention, w[12 s + 9..11] MLP.
  auto sub = [&](int64_t s, int64_t index, int64_t count) { return w.slice(12 * s + index, count); };
  ValueRange moeWeights = w.slice(24, 5);
  Value normed = body.alloc({c.hiddenSize}), u = body.alloc({c.hiddenSize});

  // r += MLA_0(RMSNorm(r)); u = RMSNorm(r); s = MoE(u); r += MLP_0(u)
  body.rmsNorm(r, sub(0, 0, 1)[0], normed, c.rmsNormEps);
  body.attention(normed, sub(0, 2, 7), sublayerCache(0), slots, positions, r);
  body.rmsNorm(r, sub(0, 1, 1)[0], u, c.rmsNormEps);
  auto [experts, weights, outputs] = body.moe(u, moeWeights);
  body.mlp(u, sub(0, 9, 3), r);
  // r += MLA_1(RMSNorm(r)); r = r + MLP_1(RMSNorm(r)) + s
  body.rmsNorm(r, sub(1, 0, 1)[0], normed, c.rmsNormEps);
  body.attention(normed, sub(1, 2, 7), sublayerCache(1), slots, positions, r);
  body.rmsNorm(r, sub(1, 1, 1)[0], normed, c.rmsNormEps);
  body.mlp(normed, sub(1, 9, 3), r);
  MoeCombineOp::create(b, loc, u, outputs, experts, weights, r, b.getI64IntegerAttr(c.nRoutedExperts));
  body.freeAll();
  func::ReturnOp::create(b, loc);
}

/// ember_embed(tokens, slots, positions, token_table, embeddings, 3
/// embedding weights): the N-gram cache learns the new tokens; the embedding
/// reads it back.
func::FuncOp buildEmbedFunction(OpBuilder &b, Location loc, const ::ember::ModelConfig &c,
                                NgramConfigAttr ngram, const AbiTypes &types) {
  OpBuilder::InsertionGuard guard(b);
  SmallVector<Type> inputs{types.rowIndex, types.rowIndex, types.rowIndex, types.tokenTable, types.rows};
  llvm::append_range(inputs, ArrayRef<Type>(types.weights).take_front(::ember::kEmbeddingWeights));
  func::FuncOp func = createEntryFunction(b, loc, ::ember::kEmbedFunction, inputs);
  ValueRange args = func.getArguments();
  Value tokens = args[0], slots = args[1], positions = args[2], tokenTable = args[3],
        embeddings = args[4];
  ValueRange w = args.drop_front(5);
  BodyBuilder body(b, loc, c, tokens);
  CacheWriteOp::create(b, loc, tokens, tokenTable, slots, positions);
  Value ids = body.alloc({c.numNgramTables()}, b.getI32Type());
  buildNgramEmbedding(b, loc, ngram, tokens, tokenTable, slots, positions, w[0], w[1], w[2], ids, embeddings);
  body.freeAll();
  func::ReturnOp::create(b, loc);
  return func;
}

/// ember_forward(embeddings, slots, positions, kv_cache, logits, hidden,
/// layer weights..., norm, lm_head): the shortcut layers on a fresh residual
/// stream (embeddings is only read), the final norm and the untied lm_head.
func::FuncOp buildForwardFunction(OpBuilder &b, Location loc, const ::ember::ModelConfig &c,
                                  const AbiTypes &types) {
  OpBuilder::InsertionGuard guard(b);
  SmallVector<Type> inputs{types.rows, types.rowIndex, types.rowIndex, types.kvCache, types.logits, types.rows};
  llvm::append_range(inputs, ArrayRef<Type>(types.weights).drop_front(::ember::kEmbeddingWeights));
  func::FuncOp func = createEntryFunction(b, loc, ::ember::kForwardFunction, inputs);
  ValueRange args = func.getArguments();
  Value embeddings = args[0], slots = args[1], positions = args[2], cache = args[3], logits = args[4],
        hidden = args[5];
  ValueRange w = args.drop_front(6);
  BodyBuilder body(b, loc, c, embeddings);
  Value r = body.alloc({c.hiddenSize});
  memref::CopyOp::create(b, loc, embeddings, r);

  // The shortcut layers, each on its two sublayers of the cache.
  Value slotCount = memref::DimOp::create(b, loc, cache, 1), context = memref::DimOp::create(b, loc, cache, 2);
  for (int64_t layer = 0; layer < c.numLayers; ++layer) {
    SmallVector<OpFoldResult> offsets{b.getIndexAttr(2 * layer), b.getIndexAttr(0), b.getIndexAttr(0),
                                      b.getIndexAttr(0)},
        sizes{b.getIndexAttr(2), slotCount, context, b.getIndexAttr(::ember::kvCacheRowWidth(c))},
        strides(4, b.getIndexAttr(1));
    Value view = memref::SubViewOp::create(b, loc, cache, offsets, sizes, strides);
    SmallVector<Value> operands{r, slots, positions, memref::CastOp::create(b, loc, layerCacheType(b, c), view)};
    llvm::append_range(operands, w.slice(::ember::kWeightsPerLayer * layer, ::ember::kWeightsPerLayer));
    if (types.scales)
      llvm::append_range(
          operands, w.take_back(types.scales).slice(::ember::kFp8ScalesPerLayer * layer, ::ember::kFp8ScalesPerLayer));
    auto call = func::CallOp::create(b, loc, kLayerFunction, TypeRange{}, operands);
    // Where the diagnostic build's NaN checks say they are (checkpoint names).
    call->setAttr("ember.scope", b.getStringAttr("model.layers." + std::to_string(layer)));
  }

  ValueRange head = w.slice(::ember::kWeightsPerLayer * c.numLayers, 2); // the block scales follow
  body.rmsNorm(r, head[0], hidden, c.rmsNormEps);
  body.linear(hidden, head[1], logits);
  body.freeAll();
  func::ReturnOp::create(b, loc);
  return func;
}

/// ember_step(tokens, slots, positions, token_table, kv_cache, logits,
/// hidden, weights...): ember_embed then ember_forward, docs/design.md §3 for
/// T new tokens, row t of sequence slots[t] at positions[t].
void buildStepFunction(OpBuilder &b, Location loc, const ::ember::ModelConfig &c, const AbiTypes &types,
                       func::FuncOp embed, func::FuncOp forward) {
  OpBuilder::InsertionGuard guard(b);
  SmallVector<Type> inputs{types.rowIndex, types.rowIndex, types.rowIndex, types.tokenTable, types.kvCache,
                           types.logits, types.rows};
  llvm::append_range(inputs, types.weights);
  func::FuncOp func = createEntryFunction(b, loc, ::ember::kStepFunction, inputs);
  ValueRange args = func.getArguments();
  Value tokens = args[0], slots = args[1], positions = args[2], tokenTable = args[3], cache = args[4],
        logits = args[5], hidden = args[6];
  ValueRange w = args.drop_front(7);
  BodyBuilder body(b, loc, c, tokens);
  Value embeddings = body.alloc({c.hiddenSize});
  SmallVector<Value> embedOperands{tokens, slots, positions, tokenTable, embeddings};
  llvm::append_range(embedOperands, w.take_front(::ember::kEmbeddingWeights));
  func::CallOp::create(b, loc, embed, embedOperands);
  SmallVector<Value> forwardOperands{embeddings, slots, positions, cache, logits, hidden};
  llvm::append_range(forwardOperands, w.drop_front(::ember::kEmbeddingWeights));
  func::CallOp::create(b, loc, forward, forwardOperands);
  body.freeAll();
  func::ReturnOp::create(b, loc);
}

} // namespace

NgramGraphSpec mlir::ember::ngramSpecOf(const ::ember::ModelConfig &config, WeightType weightType) {
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
                                                      const ::ember::ModelConfig &config,
                                                      WeightType weightType) {
  Location loc = FileLineColLoc::get(&context, config.path.empty() ? "config" : config.path, 0, 0);
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  NgramGraphSpec spec = ngramSpecOf(config, weightType);
  if (failed(addNgramEmbeddingFunctions(*module, spec)))
    return nullptr;
  NgramConfigAttr ngram = ngramConfigOf(context, spec);

  OpBuilder b(&context);
  b.setInsertionPointToEnd(module->getBody());
  AbiTypes types(b, config, weightType);
  buildLayerFunction(b, loc, config, types, layerCacheType(b, config));
  func::FuncOp embed = buildEmbedFunction(b, loc, config, ngram, types);
  func::FuncOp forward = buildForwardFunction(b, loc, config, types);
  buildStepFunction(b, loc, config, types, embed, forward);
  buildMtpFunction(b, loc, config, weightType);
  if (failed(verify(*module)))
    return nullptr;
  return module;
}
