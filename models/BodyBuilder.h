//===- BodyBuilder.h - shared pieces of the model graphs --------*- C++ -*-===//
//
// The sublayer builders (attention, MLP, MoE, norms) that both the target
// decoder (DecoderGraph.cpp) and the MTP drafter (MtpGraph.cpp) emit, so
// each sublayer is written once.
//
//===----------------------------------------------------------------------===//
#ifndef EMBER_MODELS_BODYBUILDER_H
#define EMBER_MODELS_BODYBUILDER_H

#include "models/NgramGraph.h"

#include "ember/model/Config.h"
#include "ember/model/ModelAbi.h"

#include <tuple>

namespace mlir::ember {

/// Emits one function body: temporaries are [T, ...] allocations freed by
/// freeAll().
class BodyBuilder {
public:
  /// `tokenRows`: any memref whose dim 0 is T.
  BodyBuilder(OpBuilder &b, Location loc, const ::ember::ModelConfig &config, Value tokenRows);

  /// A [rows, trailing...] buffer (rows defaults to T; f32 by default).
  Value alloc(ArrayRef<int64_t> trailing, Type element = {}, Value rows = {});
  void freeAll();

  /// The FP8 weight format (ModelAbi.h): `scales[i]` holds the block scales
  /// of the i-th weight of `weights` whose AbiWeight is fp8; the ops given
  /// such a weight take them.
  void bindBlockScales(ValueRange weights, ArrayRef<::ember::AbiWeight> abi, ValueRange scales);

  /// `source[:, ..., offset:offset+size]` along the last dim.
  Value lastDimSlice(Value source, int64_t offset, int64_t size);
  /// `cache[sublayer, :, :, :]`: one attention sublayer's [slots, context, W]
  /// rows of a [sublayers, slots, context, W] cache.
  Value sublayerCache(Value cache, int64_t sublayer);

  void rmsNorm(Value x, Value weight, Value out, double eps, double scale = 1.0);
  void linear(Value x, Value weight, Value out, bool accumulate = false);

  /// r += down(silu(gate x) * up x) (ffn_hidden_size). Weights: gate, up, down.
  void mlp(Value x, ValueRange weights, Value residual);

  /// r += o_proj(MLA(x)); first writes the latent row of each row t into
  /// `cache` [slots, S, kv_lora + rope] at [slots[t], positions[t]]. Weights:
  /// q_a, q_a_layernorm, q_b, kv_a, kv_a_layernorm, kv_b, o_proj.
  void attention(Value x, ValueRange weights, Value cache, Value slots, Value positions, Value residual);

  /// The routed experts of u: returns (experts, weights, per-assignment
  /// outputs) for moe_combine. Weights: classifier, bias, gate, up, down.
  std::tuple<Value, Value, Value> moe(Value u, ValueRange weights);

  OpBuilder &b;
  Location loc;
  const ::ember::ModelConfig &c;
  Value count; // T: the row count of every temporary

private:
  /// The block scales of `weight` and the config's weight_block_size; null
  /// for a weight without them.
  Value scaleOf(Value weight) const { return blockScales.lookup(weight); }
  DenseI64ArrayAttr blockOf(Value weight) const;

  SmallVector<Value> buffers;
  llvm::DenseMap<Value, Value> blockScales;
};

/// The memref types of ABI weight arguments (AbiWeight::alwaysF32 ones are
/// f32 whatever the weight dtype).
SmallVector<Type> weightTypes(OpBuilder &b, ArrayRef<::ember::AbiWeight> weights,
                              WeightType weightType);

/// Adds `ember_mtp` (ModelAbi.h) to the module at b's insertion point.
void buildMtpFunction(OpBuilder &b, Location loc, const ::ember::ModelConfig &config,
                      WeightType weightType);

} // namespace mlir::ember

#endif // EMBER_MODELS_BODYBUILDER_H
