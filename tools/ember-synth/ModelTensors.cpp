#include "ModelTensors.h"

#include "ember/model/CheckpointNames.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace ember::synth {

namespace {

// Collects tensors with the scales that keep activations O(1): linear
// weights [out, in] ~ N(0, 1/sqrt(in)) (so n-gram projections get
// 1/sqrt(D/E)), embeddings and n-gram rows ~ 0.5 N(0, 1), norm weights
// ~ 1 + 0.05 N(0, 1), router bias ~ 0.01 N(0, 1).
class TensorList {
public:
  TensorList(const ModelConfig &config, DType dtype) : config_(config), dtype_(dtype) {}

  void linear(const std::string &name, int64_t out, int64_t in) {
    add(name, {out, in}, 0.0, 1.0 / std::sqrt(double(in)), dtype_);
  }
  // A linear weight the FP8 release quantizes.
  void quantizable(const std::string &name, int64_t out, int64_t in) {
    linear(name, out, in);
    if (!config_.fp8)
      return;
    SynthTensor weight = tensors_.back();
    tensors_.back().spec.dtype = DType::F8E4M3;
    tensors_.back().fp8 = SynthTensor::Fp8Source{name, {out, in}, false};
    auto [blockRows, blockCols] = *config_.fp8;
    add(fp8ScaleName(name), {(out + blockRows - 1) / blockRows, (in + blockCols - 1) / blockCols}, weight.mean,
        weight.stddev, DType::F32);
    tensors_.back().fp8 = SynthTensor::Fp8Source{name, {out, in}, true};
  }
  void norm(const std::string &name, int64_t size) { add(name, {size}, 1.0, 0.05, dtype_); }
  void embedding(const std::string &name, int64_t rows, int64_t width) { add(name, {rows, width}, 0.0, 0.5, dtype_); }
  // The router's selection bias stays F32 whatever the weight dtype, as in HF.
  void routerBias(const std::string &name, int64_t size) { add(name, {size}, 0.0, 0.01, DType::F32); }

  // q_a/q_b/kv_a/kv_b/o projections and their latent norms.
  void attention(const std::string &prefix) {
    const ModelConfig &c = config_;
    int64_t D = c.hiddenSize, H = c.numAttentionHeads;
    quantizable(prefix + "q_a_proj.weight", c.qLoraRank, D);
    norm(prefix + "q_a_layernorm.weight", c.qLoraRank);
    quantizable(prefix + "q_b_proj.weight", H * (c.qkNopeHeadDim + c.qkRopeHeadDim), c.qLoraRank);
    quantizable(prefix + "kv_a_proj_with_mqa.weight", c.kvLoraRank + c.qkRopeHeadDim, D);
    norm(prefix + "kv_a_layernorm.weight", c.kvLoraRank);
    quantizable(prefix + "kv_b_proj.weight", H * (c.qkNopeHeadDim + c.vHeadDim), c.kvLoraRank);
    quantizable(prefix + "o_proj.weight", D, H * c.vHeadDim);
  }

  void swiglu(const std::string &prefix, int64_t hidden) {
    quantizable(prefix + "gate_proj.weight", hidden, config_.hiddenSize);
    quantizable(prefix + "up_proj.weight", hidden, config_.hiddenSize);
    quantizable(prefix + "down_proj.weight", config_.hiddenSize, hidden);
  }

  void keepWithPrevious() { tensors_.back().keepWithPrevious = true; }

  std::vector<SynthTensor> take() { return std::move(tensors_); }

private:
  void add(const std::string &name, ember::Shape shape, double mean, double stddev, DType dtype) {
    tensors_.push_back({{name, dtype, std::move(shape)}, mean, stddev});
  }

  const ModelConfig &config_;
  DType dtype_;
  std::vector<SynthTensor> tensors_;
};

std::string layerPrefix(int64_t layer) { return "model.layers." + std::to_string(layer) + "."; }

} // namespace

std::vector<SynthTensor> modelTensors(const ModelConfig &config, DType dtype) {
  TensorList list(config, dtype);
  int64_t D = config.hiddenSize, E = config.numNgramTables();
  int64_t experts = config.nRoutedExperts + config.zeroExpertNum;

  for (int64_t layer = 0; layer < config.numLayers; ++layer)
    list.routerBias(layerPrefix(layer) + "mlp.router.e_score_correction_bias", experts);

  list.embedding(ember::kWordEmbeddingName, config.vocabSize, D);
  for (int64_t i = 0; i < E; ++i) {
    list.embedding(ember::ngramEmbedderName(i), config.ngramTableRows(i), config.ngramTableWidth());
    if (i > 0)
      list.keepWithPrevious();
  }
  for (int64_t i = 0; i < E; ++i) {
    list.linear(ember::ngramPostProjName(i), D, config.ngramTableWidth());
    if (i > 0)
      list.keepWithPrevious();
  }

  for (int64_t layer = 0; layer < config.numLayers; ++layer) {
    std::string prefix = layerPrefix(layer);
    for (const char *sub : {"0", "1"}) {
      list.norm(prefix + "input_layernorm." + sub + ".weight", D);
      list.norm(prefix + "post_attention_layernorm." + sub + ".weight", D);
      list.attention(prefix + "self_attn." + sub + ".");
      list.swiglu(prefix + "mlps." + sub + ".", config.ffnHiddenSize);
    }
    list.linear(prefix + "mlp.router.classifier.weight", experts, D);
    for (int64_t expert = 0; expert < config.nRoutedExperts; ++expert)
      list.swiglu(prefix + "mlp.experts." + std::to_string(expert) + ".", config.expertFfnHiddenSize);
  }
  list.norm("model.norm.weight", D);
  list.linear("lm_head.weight", config.vocabSize, D);

  const std::string mtp = "model.mtp.layers.0.";
  list.linear(mtp + "eh_proj.weight", D, 2 * D);
  for (const char *name : {"enorm.m", "hnorm.m", "input_layernorm", "post_attention_layernorm"})
    list.norm(mtp + name + ".weight", D);
  list.attention(mtp + "self_attn.");
  list.swiglu(mtp + "transformer_layer.mlp.", config.ffnHiddenSize);
  list.norm("model.mtp.norm.weight", D);
  std::vector<SynthTensor> tensors = list.take();
  std::stable_sort(tensors.begin(), tensors.end(), [](const SynthTensor &a, const SynthTensor &b) {
    return dtypeSize(a.spec.dtype) > dtypeSize(b.spec.dtype);
  });
  return tensors;
}

} // namespace ember::synth
