#include "ember/model/Config.h"

#include "ember/model/Error.h"
#include "ember/model/JsonFields.h"
#include "ember/model/ModelAbi.h"
#include "ember/model/Parsing.h"

#include <cstdlib>
#include <filesystem>
#include <limits>
#include <optional>
#include <set>
#include <utility>

namespace ember {

using nlohmann::json;

namespace {

/// A size derived from config fields in int64, empty once a step overflowed
/// (a field raised past its default limit can make any product overflow);
/// `text` spells the expression in field names for messages.
struct DerivedSize {
  std::optional<int64_t> value;
  std::string text;
};

DerivedSize fieldSize(const char *name, int64_t value) { return {value, name}; }

DerivedSize operator*(const DerivedSize &a, const DerivedSize &b) {
  int64_t product;
  bool fits = a.value && b.value && !__builtin_mul_overflow(*a.value, *b.value, &product);
  return {fits ? std::optional(product) : std::nullopt, a.text + "*" + b.text};
}

DerivedSize operator+(const DerivedSize &a, const DerivedSize &b) {
  int64_t sum;
  bool fits = a.value && b.value && !__builtin_add_overflow(*a.value, *b.value, &sum);
  return {fits ? std::optional(sum) : std::nullopt, "(" + a.text + "+" + b.text + ")"};
}

// E, the number of n-gram tables.
DerivedSize ngramTablesOf(const ModelConfig &c) {
  return fieldSize("emb_split_num", c.embSplitNum) * fieldSize("(emb_neighbor_num-1)", c.embNeighborNum - 1);
}

// sum of m + 2i + 1 over the E tables i.
DerivedSize ngramTotalRowsOf(const ModelConfig &c) {
  DerivedSize tables = ngramTablesOf(c);
  DerivedSize vocab = fieldSize("ngram_vocab_size_ratio", c.ngramVocabSizeRatio) * fieldSize("vocab_size", c.vocabSize);
  return tables * vocab + tables * tables;
}

// Per layer: 2 sublayers x (2 norms + 7 attention + 3 MLP), the router's 2,
// and gate/up/down per routed expert. Besides: embed_tokens, the E tables
// and E projections, model.norm and lm_head.
DerivedSize checkpointTensorsOf(const ModelConfig &c) {
  DerivedSize tables = ngramTablesOf(c);
  return fieldSize("num_layers", c.numLayers) *
             (fieldSize("3", 3) * fieldSize("n_routed_experts", c.nRoutedExperts) + fieldSize("26", 26)) +
         fieldSize("2", 2) * tables + fieldSize("3", 3);
}

std::string describe(const DerivedSize &size) {
  return size.value ? std::to_string(*size.value) : "more than " + std::to_string(std::numeric_limits<int64_t>::max());
}

RopeScaling parseRopeScaling(const json &object, const std::string &source, const ConfigLimits &limits) {
  std::string where = source + ": rope_scaling";
  if (!object.is_object())
    throw Error(where + " must be an object or null, got " + object.dump());
  FieldReader fields(object, where, &limits);
  RopeScaling scaling;
  const char *typeKey = object.contains("type") ? "type" : "rope_type";
  const json &type = fields.field(typeKey);
  if (!type.is_string())
    throw Error(where + ": field '" + typeKey + "' must be a string, got " + type.dump());
  scaling.type = type.get<std::string>();
  scaling.factor = fields.positiveNumber("factor");
  if (object.contains("original_max_position_embeddings"))
    scaling.originalMaxPositionEmbeddings = fields.integer("original_max_position_embeddings", 1);
  auto optionalNumber = [&](const char *name, double &target) {
    if (object.contains(name))
      target = fields.number(name);
  };
  optionalNumber("beta_fast", scaling.betaFast);
  optionalNumber("beta_slow", scaling.betaSlow);
  optionalNumber("mscale", scaling.mscale);
  optionalNumber("mscale_all_dim", scaling.mscaleAllDim);
  scaling.raw = object;
  return scaling;
}

Fp8BlockQuantization parseQuantization(const json &object, const std::string &source, const ConfigLimits &limits) {
  std::string where = source + ": quantization_config";
  if (!object.is_object())
    throw Error(where + " must be an object, got " + object.dump());
  FieldReader fields(object, where, &limits);
  auto expectString = [&](const char *name, const char *expected, bool required) {
    if (!required && !object.contains(name))
      return;
    const json &value = fields.field(name);
    if (!value.is_string() || value.get<std::string>() != expected)
      throw Error(where + ": field '" + name + "' is " + value.dump() + "; ember reads only \"" + expected + "\"" +
                  (std::string(name) == "activation_scheme"
                       ? " (activations stay in f32; static activation scales are not supported)"
                       : " (block-scaled FP8 E4M3 weights)"));
  };
  expectString("quant_method", "fp8", true);
  expectString("fmt", "e4m3", false);
  expectString("activation_scheme", "dynamic", false);
  std::vector<int64_t> block = fields.integers("weight_block_size", 1);
  if (!object["weight_block_size"].is_array() || block.size() != 2)
    throw Error(where + ": field 'weight_block_size' must be [rows, cols], got " + object["weight_block_size"].dump());
  return {block[0], block[1]};
}

} // namespace

ConfigLimits ConfigLimits::defaults() {
  // Sizes: 2^24 for counts of rows (tokens, positions), 2^16 for widths, so
  // that a [rows, width, width] tensor's bytes stay below 2^63.
  constexpr int64_t kRows = int64_t(1) << 24, kWidth = int64_t(1) << 16;
  return ConfigLimits{{{"vocab_size", kRows},
                       {"hidden_size", kWidth},
                       {"num_layers", 1024},
                       {"num_attention_heads", 1024},
                       {"q_lora_rank", kWidth},
                       {"kv_lora_rank", kWidth},
                       {"qk_nope_head_dim", 4096},
                       {"qk_rope_head_dim", 4096},
                       {"v_head_dim", 4096},
                       {"ffn_hidden_size", kWidth * 4},
                       {"n_routed_experts", kWidth},
                       {"zero_expert_num", kWidth},
                       {"moe_topk", 1024},
                       {"expert_ffn_hidden_size", kWidth * 4},
                       {"max_position_embeddings", kRows},
                       {"original_max_position_embeddings", kRows},
                       {"emb_neighbor_num", 64},
                       {"emb_split_num", 64},
                       {"ngram_vocab_size_ratio", kRows},
                       {"bos_token_id", kRows},
                       {"eos_token_id", kRows},
                       {"weight_block_size", kWidth},
                       // Derived: a list of names that long takes seconds
                       // and gigabytes to build (1024 layers of 2^16 experts).
                       {"checkpoint_tensors", int64_t(1) << 20},
                       // Derived: every weight as f32, 16 TiB (the 68.5B
                       // LongCat-Flash-Lite needs 274 GB).
                       {"model_bytes", int64_t(1) << 44}}};
}

ConfigLimits ConfigLimits::fromEnvironment() {
  ConfigLimits limits = defaults();
  const char *text = std::getenv(kLimitsVariable);
  if (!text)
    return limits;
  std::string spec(text), where = std::string(kLimitsVariable) + "='" + text + "'";
  for (size_t start = 0; start <= spec.size();) {
    size_t end = std::min(spec.find(',', start), spec.size());
    std::string item = spec.substr(start, end - start);
    start = end + 1;
    if (item.empty())
      continue;
    size_t equals = item.find('=');
    std::string field = item.substr(0, equals);
    if (!limits.maxima.count(field)) {
      std::string known;
      for (const auto &[name, bound] : limits.maxima)
        known += (known.empty() ? "" : ", ") + name;
      throw Error(where + ": unknown field '" + field + "' (limits exist for " + known + ")");
    }
    const std::string value = equals == std::string::npos ? "" : item.substr(equals + 1);
    std::optional<int64_t> bound = parseWholeInteger(value);
    if (!bound || *bound < 1)
      throw Error(where + ": the limit of '" + field + "' must be a positive integer, got '" + value + "'");
    limits.maxima[field] = *bound;
  }
  return limits;
}

int64_t ConfigLimits::maximum(const std::string &field) const {
  auto found = maxima.find(field);
  return found == maxima.end() ? std::numeric_limits<int64_t>::max() : found->second;
}

ModelConfig ModelConfig::load(const std::string &path) { return fromJson(readJsonFile(path), path); }

ModelConfig ModelConfig::fromJson(const json &object, const std::string &source) {
  return fromJson(object, source, ConfigLimits::fromEnvironment());
}

ModelConfig ModelConfig::fromJson(const json &object, const std::string &source, const ConfigLimits &limits) {
  if (!object.is_object())
    throw Error(source + ": expected a JSON object, got " + object.dump());
  FieldReader fields(object, source, &limits);
  ModelConfig config;
  config.vocabSize = fields.integer("vocab_size", 1);
  config.hiddenSize = fields.integer("hidden_size", 1);
  config.numLayers = fields.integer("num_layers", 1);
  config.numAttentionHeads = fields.integer("num_attention_heads", 1);
  config.qLoraRank = fields.integer("q_lora_rank", 1);
  config.kvLoraRank = fields.integer("kv_lora_rank", 1);
  config.qkNopeHeadDim = fields.integer("qk_nope_head_dim", 1);
  config.qkRopeHeadDim = fields.integer("qk_rope_head_dim", 1);
  config.vHeadDim = fields.integer("v_head_dim", 1);
  config.ffnHiddenSize = fields.integer("ffn_hidden_size", 1);
  config.nRoutedExperts = fields.integer("n_routed_experts", 1);
  config.zeroExpertNum = fields.integer("zero_expert_num", 0);
  config.moeTopk = fields.integer("moe_topk", 1);
  config.expertFfnHiddenSize = fields.integer("expert_ffn_hidden_size", 1);
  config.routedScalingFactor = fields.number("routed_scaling_factor");
  config.rmsNormEps = fields.positiveNumber("rms_norm_eps");
  config.ropeTheta = fields.positiveNumber("rope_theta");
  config.maxPositionEmbeddings = fields.integer("max_position_embeddings", 1);
  if (object.contains("rope_scaling") && !object["rope_scaling"].is_null())
    config.ropeScaling = parseRopeScaling(object["rope_scaling"], source, limits);
  config.embNeighborNum = fields.integer("emb_neighbor_num", 2);
  config.embSplitNum = fields.integer("emb_split_num", 1);
  config.ngramVocabSizeRatio = fields.integer("ngram_vocab_size_ratio", 1);
  config.bosTokenId = fields.integer("bos_token_id", 0);
  std::vector<int64_t> eosTokenIds = fields.integers("eos_token_id", 0);
  config.eosTokenId = eosTokenIds.front();
  config.moreEosTokenIds.assign(eosTokenIds.begin() + 1, eosTokenIds.end());
  config.mlaScaleQLora = fields.boolean("mla_scale_q_lora");
  config.mlaScaleKvLora = fields.boolean("mla_scale_kv_lora");
  config.normTopkProb = fields.boolean("norm_topk_prob");
  config.routerBias = fields.boolean("router_bias");
  config.tieWordEmbeddings = fields.boolean("tie_word_embeddings");
  if (object.contains("quantization_config") && !object["quantization_config"].is_null())
    config.fp8 = parseQuantization(object["quantization_config"], source, limits);
  config.raw = object;
  config.path = source;

  auto fail = [&](const std::string &message) { throw Error(source + ": " + message); };
  // Every size below is computed with overflow checks, and divisibility is
  // checked only once the divisor is known to be a sane size.
  auto require = [&](const DerivedSize &size) {
    if (!size.value)
      fail(size.text + " overflows int64");
    return *size.value;
  };
  DerivedSize hidden = fieldSize("hidden_size", config.hiddenSize);
  DerivedSize heads = fieldSize("num_attention_heads", config.numAttentionHeads);
  DerivedSize tablesSize = ngramTablesOf(config);
  int64_t tables = require(tablesSize);
  if (tables > config.hiddenSize || config.hiddenSize % tables != 0)
    fail("field 'hidden_size' (" + std::to_string(config.hiddenSize) +
         ") must be divisible by emb_split_num*(emb_neighbor_num-1) = " + std::to_string(tables));
  std::vector<std::pair<const char *, int64_t>> tokenIds{{"bos_token_id", config.bosTokenId}};
  for (int64_t id : eosTokenIds)
    tokenIds.emplace_back("eos_token_id", id);
  for (auto [name, id] : tokenIds) {
    if (id >= config.vocabSize)
      fail(std::string("field '") + name + "' (" + std::to_string(id) + ") must be < vocab_size (" +
           std::to_string(config.vocabSize) + ")");
  }
  if (config.qkRopeHeadDim % 2 != 0)
    fail("field 'qk_rope_head_dim' (" + std::to_string(config.qkRopeHeadDim) + ") must be even: RoPE rotates pairs");
  if (config.ropeScaling) {
    if (config.ropeScaling->type != "yarn")
      fail("rope_scaling: type '" + config.ropeScaling->type + "' is not supported (only 'yarn')");
    if (config.ropeScaling->originalMaxPositionEmbeddings == 0)
      fail("rope_scaling: missing field 'original_max_position_embeddings' (YaRN needs it)");
  }
  int64_t allExperts = require(fieldSize("n_routed_experts", config.nRoutedExperts) +
                               fieldSize("zero_expert_num", config.zeroExpertNum));
  if (config.moeTopk > allExperts)
    fail("field 'moe_topk' (" + std::to_string(config.moeTopk) + ") must be <= n_routed_experts + zero_expert_num (" +
         std::to_string(allExperts) + ")");
  // Table-local ids are int32 (docs/design.md §2); the largest table has m + 2E - 1 rows.
  DerivedSize ngramVocab =
      fieldSize("ngram_vocab_size_ratio", config.ngramVocabSizeRatio) * fieldSize("vocab_size", config.vocabSize);
  DerivedSize largestTable = ngramVocab + fieldSize("2", 2) * tablesSize + fieldSize("-1", -1); // m + 2E - 1
  if (!largestTable.value || *largestTable.value > std::numeric_limits<int32_t>::max())
    fail("ngram_vocab_size_ratio*vocab_size (" + std::to_string(config.ngramVocabSizeRatio) + "*" +
         std::to_string(config.vocabSize) + ") is too large: n-gram ids must fit in int32");
  // The extents modelWeights() derives from two or more fields.
  require(ngramTotalRowsOf(config));
  require(heads *
          (fieldSize("qk_nope_head_dim", config.qkNopeHeadDim) + fieldSize("qk_rope_head_dim", config.qkRopeHeadDim)));
  require(heads * (fieldSize("qk_nope_head_dim", config.qkNopeHeadDim) + fieldSize("v_head_dim", config.vHeadDim)));
  require(fieldSize("kv_lora_rank", config.kvLoraRank) + fieldSize("qk_rope_head_dim", config.qkRopeHeadDim));
  require(fieldSize("2", 2) * hidden);
  DerivedSize tensors = checkpointTensorsOf(config);
  if (!tensors.value || *tensors.value > limits.maximum("checkpoint_tensors"))
    fail("the config names " + describe(tensors) + " checkpoint tensors (num_layers " +
         std::to_string(config.numLayers) + " x (3 x n_routed_experts " + std::to_string(config.nRoutedExperts) +
         " + 26) + 2 x " + std::to_string(tables) + " n-gram tables + 3), beyond ember's limit of " +
         std::to_string(limits.maximum("checkpoint_tensors")) + " (raise it with " + kLimitsVariable +
         "=checkpoint_tensors=N)");
  // Every tensor's bytes and their sum, as f32 (the widest dtype). Every
  // layer has the same shapes, so the list of one layer gives the sum
  // without listing thousands of layers.
  ModelConfig oneLayer = config;
  oneLayer.numLayers = 1;
  DerivedSize layerBytes{0, "a layer's bytes"}, otherBytes{0, "the other weights' bytes"};
  for (const AbiWeight &weight : modelWeights(oneLayer)) {
    DerivedSize bytes = fieldSize("4", 4) *
                        DerivedSize{elementCount(weight.shape, source + ": tensor '" + weight.name + "'"), weight.name};
    DerivedSize &sum = weight.name.rfind("model.layers.", 0) == 0 ? layerBytes : otherBytes;
    sum.value = (DerivedSize{sum.value, ""} + bytes).value; // the text stays short
  }
  DerivedSize modelBytes = otherBytes + fieldSize("num_layers", config.numLayers) * layerBytes;
  if (!modelBytes.value || *modelBytes.value > limits.maximum("model_bytes"))
    fail("the model's weights need " + describe(modelBytes) + " bytes as f32, beyond ember's limit of " +
         std::to_string(limits.maximum("model_bytes")) + " (raise it with " + kLimitsVariable + "=model_bytes=N)");
  return config;
}

std::vector<int64_t> ModelConfig::ngramRowOffsets() const {
  std::vector<int64_t> offsets;
  int64_t next = 0;
  for (int64_t table = 0; table < numNgramTables(); ++table) {
    offsets.push_back(next);
    next += ngramTableRows(table);
  }
  return offsets;
}

int64_t ModelConfig::ngramTotalRows() const { return *ngramTotalRowsOf(*this).value; }

int64_t ModelConfig::checkpointTensorCount() const { return *checkpointTensorsOf(*this).value; }

std::string resolvePresetPath(const std::string &preset, const std::string &presetsDir) {
  namespace fs = std::filesystem;
  if (preset.find('/') != std::string::npos || fs::path(preset).extension() == ".json") {
    if (!fs::exists(preset))
      throw Error(preset + ": preset file not found");
    return preset;
  }
  fs::path path = fs::path(presetsDir) / (preset + ".json");
  if (fs::exists(path))
    return path.string();
  std::error_code ec;
  std::set<std::string> names;
  for (const auto &item : fs::directory_iterator(presetsDir, ec))
    if (item.path().extension() == ".json")
      names.insert(item.path().stem().string());
  std::string available;
  for (const std::string &name : names)
    available += (available.empty() ? "" : ", ") + name;
  throw Error("unknown preset '" + preset + "' (presets in " + presetsDir + ": " +
              (available.empty() ? "none" : available) + ")");
}

} // namespace ember
