//===- MtpGraph.cpp - the MTP drafter graph -------------------------------===//
//
// Emits the MTP block of docs/design.md §3 as `ember_mtp` (signature and weight
// order in ModelAbi.h), with the target's attention and MLP builders.
//
//===----------------------------------------------------------------------===//
#include "models/BodyBuilder.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace mlir::ember;

void mlir::ember::buildMtpFunction(OpBuilder &b, Location loc, const ::ember::ModelConfig &c,
                                   WeightType weightType) {
  OpBuilder::InsertionGuard guard(b);
  constexpr int64_t kDynamic = ShapedType::kDynamic;
  int64_t D = c.hiddenSize;
  Type f32 = b.getF32Type(), i32 = b.getI32Type();
  auto rowsType = MemRefType::get({kDynamic, D}, f32), rowIndexType = MemRefType::get({kDynamic}, i32);
  SmallVector<Type> inputs{
      rowIndexType, rowIndexType, rowIndexType, rowsType,
      MemRefType::get({1, kDynamic, kDynamic, ::ember::kvCacheRowWidth(c)}, f32),
      MemRefType::get({kDynamic, c.vocabSize}, f32), rowsType};
  // The types do not depend on which checkpoint tensor the word embedding is.
  std::vector<::ember::AbiWeight> abi =
      ::ember::mtpWeights(c, /*ownEmbedding=*/false, /*fp8=*/weightType == WeightType::FP8);
  llvm::append_range(inputs, weightTypes(b, abi, weightType));
  func::FuncOp func = createEntryFunction(b, loc, ::ember::kMtpFunction, inputs);
  ValueRange args = func.getArguments();
  Value tokens = args[0], slots = args[1], positions = args[2], hiddenIn = args[3], cache = args[4],
        logits = args[5], hiddenOut = args[6];
  // mtpWeights order: embedding, enorm, hnorm, eh_proj, input_layernorm,
  // 7 attention, post_attention_layernorm, 3 MLP, norm, lm_head.
  static_assert(::ember::kMtpWeightCount == 18, "the indices below follow mtpWeights");
  ValueRange w = args.slice(7, ::ember::kMtpWeightCount);
  Value embedding = w[0], enorm = w[1], hnorm = w[2], ehProj = w[3], inputNorm = w[4],
        postNorm = w[12], finalNorm = w[16], lmHead = w[17];
  ValueRange attentionWeights = w.slice(5, 7), mlpWeights = w.slice(13, 3);
  BodyBuilder body(b, loc, c, tokens);
  body.bindBlockScales(w, ArrayRef(abi).take_front(::ember::kMtpWeightCount),
                       args.drop_front(7 + ::ember::kMtpWeightCount));

  // 1. The ordinary word embedding: a one-table gather with ids [T, 1].
  SmallVector<ReassociationIndices> unitColumn{{0, 1}};
  Value ids = memref::ExpandShapeOp::create(
      b, loc, MemRefType::get({kDynamic, 1}, i32), tokens, unitColumn,
      ArrayRef<OpFoldResult>{body.count, b.getIndexAttr(1)});
  Value word = body.alloc({1, D});
  MultiTableGatherOp::create(b, loc, embedding, ids, word, b.getDenseI64ArrayAttr({0}),
                             NgramConfigAttr());
  SmallVector<ReassociationIndices> dropUnit{{0, 1}, {2}};
  Value word2d = memref::CollapseShapeOp::create(b, loc, word, dropUnit);

  // 2. x = eh_proj([enorm(e); hnorm(h)]): both norms straight into the halves.
  Value joined = body.alloc({2 * D});
  body.rmsNorm(word2d, enorm, body.lastDimSlice(joined, 0, D), c.rmsNormEps);
  body.rmsNorm(hiddenIn, hnorm, body.lastDimSlice(joined, D, D), c.rmsNormEps);
  Value x = body.alloc({D});
  body.linear(joined, ehProj, x);

  // 3. One dense layer on the MTP cache.
  Value normed = body.alloc({D});
  body.rmsNorm(x, inputNorm, normed, c.rmsNormEps);
  body.attention(normed, attentionWeights, body.sublayerCache(cache, 0), slots, positions, x);
  body.rmsNorm(x, postNorm, normed, c.rmsNormEps);
  body.mlp(normed, mlpWeights, x);

  // 4. Final norm and the shared lm_head.
  body.rmsNorm(x, finalNorm, hiddenOut, c.rmsNormEps);
  body.linear(hiddenOut, lmHead, logits);
  body.freeAll();
  func::ReturnOp::create(b, loc);
}
