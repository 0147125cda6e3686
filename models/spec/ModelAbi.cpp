#include "ember/model/ModelAbi.h"

#include "ember/model/CheckpointNames.h"
#include "ember/model/Error.h"

#include <algorithm>
#include <cmath>

namespace ember {

namespace {

class WeightList {
public:
  void single(const std::string &name, Shape shape, bool alwaysF32 = false) {
    weights_.push_back({name, shape, alwaysF32, {{name, shape}}});
  }
  // Pieces laid back to back; `shape` is the whole argument's shape.
  void joined(const std::string &name, Shape shape, std::vector<AbiPiece> pieces) {
    weights_.push_back({name, std::move(shape), false, std::move(pieces)});
  }
  void markGathered() { weights_.back().gathered = true; }
  void markFp8Quantized() { weights_.back().fp8Quantized = true; }
  std::vector<AbiWeight> take() { return std::move(weights_); }

private:
  std::vector<AbiWeight> weights_;
};

} // namespace

// The 7 weights of one MLA sublayer, names under `prefix` ("...self_attn.0.").
static void addAttentionWeights(WeightList &list, const ModelConfig &c, const std::string &prefix) {
  int64_t D = c.hiddenSize, H = c.numAttentionHeads;
  list.single(prefix + "q_a_proj.weight", {c.qLoraRank, D});
  list.markFp8Quantized();
  list.single(prefix + "q_a_layernorm.weight", {c.qLoraRank});
  list.single(prefix + "q_b_proj.weight", {H * (c.qkNopeHeadDim + c.qkRopeHeadDim), c.qLoraRank});
  list.markFp8Quantized();
  list.single(prefix + "kv_a_proj_with_mqa.weight", {c.kvLoraRank + c.qkRopeHeadDim, D});
  list.markFp8Quantized();
  list.single(prefix + "kv_a_layernorm.weight", {c.kvLoraRank});
  list.single(prefix + "kv_b_proj.weight", {H * (c.qkNopeHeadDim + c.vHeadDim), c.kvLoraRank});
  list.markFp8Quantized();
  list.single(prefix + "o_proj.weight", {D, H * c.vHeadDim});
  list.markFp8Quantized();
}

// A dense SwiGLU's gate, up and down projections, names under `prefix`.
static void addMlpWeights(WeightList &list, const ModelConfig &c, const std::string &prefix) {
  list.single(prefix + "gate_proj.weight", {c.ffnHiddenSize, c.hiddenSize});
  list.markFp8Quantized();
  list.single(prefix + "up_proj.weight", {c.ffnHiddenSize, c.hiddenSize});
  list.markFp8Quantized();
  list.single(prefix + "down_proj.weight", {c.hiddenSize, c.ffnHiddenSize});
  list.markFp8Quantized();
}

// The FP8 weight format (ModelAbi.h): the quantized weights as F8E4M3, then
// their block scales.
static std::vector<AbiWeight> withFp8Scales(std::vector<AbiWeight> weights, const ModelConfig &c) {
  if (!c.fp8)
    throw Error(c.path + ": FP8 weights need the block size of quantization_config.weight_block_size, and the "
                         "config has no quantization_config");
  auto blocks = [&](const Shape &matrix) {
    return Shape{(matrix[0] + c.fp8->blockRows - 1) / c.fp8->blockRows,
                 (matrix[1] + c.fp8->blockCols - 1) / c.fp8->blockCols};
  };
  std::vector<AbiWeight> scales;
  for (AbiWeight &weight : weights) {
    if (!weight.fp8Quantized)
      continue;
    weight.fp8 = true;
    AbiWeight scale{fp8ScaleName(weight.name), {}, /*alwaysF32=*/true, {}};
    for (const AbiPiece &piece : weight.pieces)
      scale.pieces.push_back({fp8ScaleName(piece.name), blocks(piece.shape)});
    // One matrix, or the experts' stacked along a leading dim.
    scale.shape = scale.pieces.front().shape;
    if (weight.shape.size() == 3)
      scale.shape.insert(scale.shape.begin(), int64_t(weight.pieces.size()));
    scales.push_back(std::move(scale));
  }
  weights.insert(weights.end(), std::make_move_iterator(scales.begin()), std::make_move_iterator(scales.end()));
  return weights;
}

std::vector<AbiWeight> modelWeights(const ModelConfig &c, bool fp8) {
  WeightList list;
  int64_t D = c.hiddenSize, E = c.numNgramTables(), W = c.ngramTableWidth();
  int64_t R = c.nRoutedExperts, allExperts = c.nRoutedExperts + c.zeroExpertNum;

  list.single(kWordEmbeddingName, {c.vocabSize, D});
  list.markGathered();
  std::vector<AbiPiece> tables, projections;
  for (int64_t i = 0; i < E; ++i) {
    tables.push_back({ngramEmbedderName(i), {c.ngramTableRows(i), W}});
    projections.push_back({ngramPostProjName(i), {D, W}});
  }
  list.joined("model.ngram_embeddings.embedders.*.weight", {c.ngramTotalRows(), W}, tables);
  list.markGathered();
  list.joined("model.ngram_embeddings.post_projs.*.weight", {E, D, W}, projections);

  for (int64_t layer = 0; layer < c.numLayers; ++layer) {
    std::string prefix = "model.layers." + std::to_string(layer) + ".";
    for (const char *sub : {"0", "1"}) {
      list.single(prefix + "input_layernorm." + sub + ".weight", {D});
      list.single(prefix + "post_attention_layernorm." + sub + ".weight", {D});
      addAttentionWeights(list, c, prefix + "self_attn." + sub + ".");
      addMlpWeights(list, c, prefix + "mlps." + sub + ".");
    }
    list.single(prefix + "mlp.router.classifier.weight", {allExperts, D});
    list.single(prefix + "mlp.router.e_score_correction_bias", {allExperts}, /*alwaysF32=*/true);
    int64_t Fe = c.expertFfnHiddenSize;
    for (auto [proj, pieceShape] : {std::pair<const char *, Shape>{"gate_proj", {Fe, D}},
                                    std::pair<const char *, Shape>{"up_proj", {Fe, D}},
                                    std::pair<const char *, Shape>{"down_proj", {D, Fe}}}) {
      std::vector<AbiPiece> experts;
      for (int64_t e = 0; e < R; ++e)
        experts.push_back({prefix + "mlp.experts." + std::to_string(e) + "." + proj + ".weight", pieceShape});
      list.joined(prefix + "mlp.experts.*." + proj + ".weight", {R, pieceShape[0], pieceShape[1]}, experts);
      list.markFp8Quantized();
    }
  }
  list.single("model.norm.weight", {D});
  list.single("lm_head.weight", {c.vocabSize, D});
  return fp8 ? withFp8Scales(list.take(), c) : list.take();
}

std::vector<AbiWeight> mtpWeights(const ModelConfig &c, bool ownEmbedding, bool fp8) {
  WeightList list;
  int64_t D = c.hiddenSize;
  const std::string prefix = "model.mtp.layers.0.";
  list.single(ownEmbedding ? kMtpWordEmbeddingName : kWordEmbeddingName, {c.vocabSize, D});
  list.markGathered();
  list.single(prefix + "enorm.m.weight", {D});
  list.single(prefix + "hnorm.m.weight", {D});
  list.single(prefix + "eh_proj.weight", {D, 2 * D});
  list.single(prefix + "input_layernorm.weight", {D});
  addAttentionWeights(list, c, prefix + "self_attn.");
  list.single(prefix + "post_attention_layernorm.weight", {D});
  addMlpWeights(list, c, prefix + "transformer_layer.mlp.");
  list.single("model.mtp.norm.weight", {D});
  list.single("lm_head.weight", {c.vocabSize, D});
  return fp8 ? withFp8Scales(list.take(), c) : list.take();
}

namespace {

// DeepSeek-V2 YaRN helpers (HF modeling_deepseek.py), in double precision.
double yarnMscale(double scale, double mscale) {
  return scale <= 1 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

double yarnCorrectionDim(double rotations, double dim, double base, double maxPositions) {
  return dim * std::log(maxPositions / (rotations * 2 * M_PI)) / (2 * std::log(base));
}

} // namespace

std::vector<float> ropeInverseFrequencies(const ModelConfig &c) {
  int64_t dim = c.qkRopeHeadDim, pairs = dim / 2;
  std::vector<float> inverse(pairs);
  for (int64_t i = 0; i < pairs; ++i)
    inverse[i] = float(1.0 / std::pow(c.ropeTheta, double(2 * i) / double(dim)));
  if (!c.ropeScaling)
    return inverse;
  const RopeScaling &s = *c.ropeScaling;
  double low = std::floor(yarnCorrectionDim(s.betaFast, dim, c.ropeTheta, s.originalMaxPositionEmbeddings));
  double high = std::ceil(yarnCorrectionDim(s.betaSlow, dim, c.ropeTheta, s.originalMaxPositionEmbeddings));
  low = std::max(low, 0.0);
  high = std::min(high, double(dim - 1));
  if (low == high)
    high += 0.001;
  for (int64_t i = 0; i < pairs; ++i) {
    double ramp = std::clamp((double(i) - low) / (high - low), 0.0, 1.0);
    double extrapolationWeight = 1.0 - ramp;
    double extrapolated = inverse[i], interpolated = inverse[i] / s.factor;
    inverse[i] = float(interpolated * (1 - extrapolationWeight) + extrapolated * extrapolationWeight);
  }
  return inverse;
}

double ropeCosSinScale(const ModelConfig &c) {
  if (!c.ropeScaling)
    return 1.0;
  const RopeScaling &s = *c.ropeScaling;
  return yarnMscale(s.factor, s.mscale) / yarnMscale(s.factor, s.mscaleAllDim);
}

double attentionSoftmaxScale(const ModelConfig &c) {
  double scale = 1.0 / std::sqrt(double(c.qkNopeHeadDim + c.qkRopeHeadDim));
  if (c.ropeScaling && c.ropeScaling->mscaleAllDim != 0) {
    double m = yarnMscale(c.ropeScaling->factor, c.ropeScaling->mscaleAllDim);
    scale *= m * m;
  }
  return scale;
}

} // namespace ember
