// Complete model checkpoints for tests, written from modelWeights() itself.
#pragma once

#include "ember/model/Config.h"
#include "ember/model/ModelAbi.h"

#include "TestSupport.h"

#include <functional>

namespace ember::rt::test {

// Every dimension tiny: V=16, D=6, one layer, N=3/K=1 (E=2 tables of width
// 3), n-gram ratio 1, 2+1 experts, eos 2, max_position_embeddings 64.
inline ModelConfig microConfig() {
  nlohmann::json config = ModelConfig::load(std::string(EMBER_PRESETS_DIR) + "/tiny.json").raw;
  for (auto [key, value] : std::vector<std::pair<const char *, int64_t>>{{"vocab_size", 16},
                                                                         {"hidden_size", 6},
                                                                         {"num_layers", 1},
                                                                         {"num_attention_heads", 1},
                                                                         {"q_lora_rank", 2},
                                                                         {"kv_lora_rank", 2},
                                                                         {"qk_nope_head_dim", 2},
                                                                         {"qk_rope_head_dim", 2},
                                                                         {"v_head_dim", 2},
                                                                         {"ffn_hidden_size", 4},
                                                                         {"n_routed_experts", 2},
                                                                         {"zero_expert_num", 1},
                                                                         {"moe_topk", 1},
                                                                         {"expert_ffn_hidden_size", 2},
                                                                         {"emb_neighbor_num", 3},
                                                                         {"emb_split_num", 1},
                                                                         {"ngram_vocab_size_ratio", 1},
                                                                         {"max_position_embeddings", 64}})
    config[key] = value;
  return ModelConfig::fromJson(config, "micro");
}

// Every piece of modelWeights(config) in call order, back to back: values
// 0, 1, 2, ... (exact in bf16/f16 at these sizes), except each router bias,
// which is f32 with element 0 = `bias`; then, withMtp, the MTP block's own
// tensors (mtpWeights shares the word embedding and lm_head).
inline std::vector<TensorData> modelTensors(const ModelConfig &config, DType dtype, float bias = 0,
                                            bool withMtp = false) {
  std::vector<TensorData> tensors;
  std::vector<AbiWeight> weights = modelWeights(config);
  if (withMtp)
    for (AbiWeight &weight : mtpWeights(config, /*ownEmbedding=*/false))
      if (weight.name.rfind("model.mtp.", 0) == 0)
        weights.push_back(std::move(weight));
  for (const AbiWeight &weight : weights)
    for (const AbiPiece &piece : weight.pieces) {
      if (!weight.alwaysF32) {
        tensors.push_back(iotaTensor(piece.name, dtype, piece.shape));
        continue;
      }
      std::vector<float> values(size_t(piece.shape[0]), 0.0f);
      values[0] = bias;
      tensors.push_back(tensorFrom(piece.name, DType::F32, piece.shape, values));
    }
  return tensors;
}

} // namespace ember::rt::test
