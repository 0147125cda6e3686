#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ember {

// Upper bounds on a config's integer fields. A field above its bound is
// refused as it is read, naming the field and the bound, before any size is
// computed from it, so an absurd model fails up front instead of running out
// of memory or disk. Whatever the bounds, every size fromJson derives (the
// n-gram geometry, a tensor's elements and bytes, their sum as the derived
// limit "model_bytes") is computed with overflow checks, and a product that
// overflows int64 is an error naming its fields.
// The defaults are far above LongCat-Flash-Lite's sizes; the environment
// variable EMBER_CONFIG_LIMITS="field=N,field=N" raises (or lowers) them,
// for ember-compile, ember-run and ember-synth alike.
struct ConfigLimits {
  std::map<std::string, int64_t> maxima;
  static ConfigLimits defaults();
  // The defaults with EMBER_CONFIG_LIMITS applied; a malformed value or an
  // unknown field is an error naming it.
  static ConfigLimits fromEnvironment();
  int64_t maximum(const std::string &field) const;
};

// rope_scaling (YaRN in the real model). Missing YaRN parameters take the
// DeepSeek-V2 defaults; `raw` keeps the object as written.
struct RopeScaling {
  std::string type; // "type" or, in newer configs, "rope_type"
  double factor = 1.0;
  int64_t originalMaxPositionEmbeddings = 0;
  double betaFast = 32.0;
  double betaSlow = 1.0;
  double mscale = 1.0;
  double mscaleAllDim = 0.0;
  nlohmann::json raw;
};

// quantization_config of an FP8 release (the DeepSeek-V3 format): linear
// weights stored F8_E4M3, each `<name>` with `<name>_scale_inv` of shape
// [ceil(out / blockRows), ceil(in / blockCols)], the factor every value of
// its block of blockRows x blockCols is multiplied by. Activations are not
// quantized by ember ("dynamic" is the only activation scheme accepted).
struct Fp8BlockQuantization {
  int64_t blockRows = 0;
  int64_t blockCols = 0;
};

// HF config.json of LongCat-Flash-Lite (docs/design.md §1). Every key is
// required except rope_scaling and quantization_config.
struct ModelConfig {
  int64_t vocabSize = 0;
  int64_t hiddenSize = 0;
  int64_t numLayers = 0;
  int64_t numAttentionHeads = 0;
  int64_t qLoraRank = 0;
  int64_t kvLoraRank = 0;
  int64_t qkNopeHeadDim = 0;
  int64_t qkRopeHeadDim = 0;
  int64_t vHeadDim = 0;
  int64_t ffnHiddenSize = 0;
  int64_t nRoutedExperts = 0;
  int64_t zeroExpertNum = 0;
  int64_t moeTopk = 0;
  int64_t expertFfnHiddenSize = 0;
  double routedScalingFactor = 0;
  double rmsNormEps = 0;
  double ropeTheta = 0;
  int64_t maxPositionEmbeddings = 0;
  std::optional<RopeScaling> ropeScaling;
  int64_t embNeighborNum = 0; // N: largest n-gram order
  int64_t embSplitNum = 0;    // K: tables per order
  int64_t ngramVocabSizeRatio = 0;
  int64_t bosTokenId = 0;
  // eos_token_id, an integer or a list: the first id is the n-gram segment
  // boundary; it and the others each end a generation.
  int64_t eosTokenId = 0;
  std::vector<int64_t> moreEosTokenIds;
  bool isEos(int64_t id) const {
    return id == eosTokenId || std::find(moreEosTokenIds.begin(), moreEosTokenIds.end(), id) != moreEosTokenIds.end();
  }
  bool mlaScaleQLora = false;
  bool mlaScaleKvLora = false;
  bool normTopkProb = false;
  bool routerBias = false;
  bool tieWordEmbeddings = false;
  std::optional<Fp8BlockQuantization> fp8; // quantization_config, when present
  nlohmann::json raw;
  std::string path; // where it was loaded from (for messages)

  // Reads and validates against ConfigLimits::fromEnvironment(); errors
  // read "<path>: field '<f>' ...".
  static ModelConfig load(const std::string &path);
  // Same, from already-parsed JSON; `source` names it in messages.
  static ModelConfig fromJson(const nlohmann::json &json, const std::string &source);
  static ModelConfig fromJson(const nlohmann::json &json, const std::string &source, const ConfigLimits &limits);

  // N-gram embedding geometry (docs/design.md §2).
  int64_t numNgramTables() const { return embSplitNum * (embNeighborNum - 1); } // E
  int64_t ngramVocab() const { return ngramVocabSizeRatio * vocabSize; }          // m
  int64_t ngramTableRows(int64_t table) const { return ngramVocab() + 2 * table + 1; } // M_i
  int64_t ngramTableWidth() const { return hiddenSize / numNgramTables(); }         // D/E
  // Exclusive prefix sums of M_i: row offset of table i in the concatenation.
  std::vector<int64_t> ngramRowOffsets() const;
  int64_t ngramTotalRows() const; // sum of M_i (of a config fromJson accepted)
  // Tensors in the checkpoint modelWeights() lists (the MTP layer aside):
  // one per routed expert and projection in every layer, so it is bounded
  // as the derived limit "checkpoint_tensors" (of a config fromJson accepted).
  int64_t checkpointTensorCount() const;
};

// A tool's --preset argument as a file path: a value containing '/' or ending
// in .json is a file; anything else is <presetsDir>/<name>.json. Unknown names
// throw, listing the presets available.
std::string resolvePresetPath(const std::string &preset, const std::string &presetsDir);

} // namespace ember
