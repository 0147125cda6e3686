#include "ember/runtime/Config.h"

#include "ember/runtime/AtomicFile.h"
#include "ember/runtime/Error.h"

#include <filesystem>
#include <limits>
#include <set>
#include <utility>

namespace ember::rt {

using nlohmann::json;

namespace {

// Typed field access with messages naming the config file and field.
class FieldReader {
public:
  FieldReader(const json &object, const std::string &source) : object_(object), source_(source) {}

  const json &field(const std::string &name) const {
    if (!object_.contains(name))
      throw Error(source_ + ": missing field '" + name + "'");
    return object_[name];
  }
  int64_t integer(const std::string &name, int64_t minimum) const {
    const json &value = field(name);
    if (!value.is_number_integer() ||
        (value.is_number_unsigned() && value.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max())))
      throw Error(source_ + ": field '" + name + "' must be an integer, got " + value.dump());
    int64_t result = value.get<int64_t>();
    if (result < minimum)
      throw Error(source_ + ": field '" + name + "' must be >= " + std::to_string(minimum) + ", got " +
                  std::to_string(result));
    return result;
  }
  double number(const std::string &name) const {
    const json &value = field(name);
    if (!value.is_number())
      throw Error(source_ + ": field '" + name + "' must be a number, got " + value.dump());
    return value.get<double>();
  }
  double positiveNumber(const std::string &name) const {
    double result = number(name);
    if (!(result > 0))
      throw Error(source_ + ": field '" + name + "' must be > 0, got " + field(name).dump());
    return result;
  }
  bool boolean(const std::string &name) const {
    const json &value = field(name);
    if (!value.is_boolean())
      throw Error(source_ + ": field '" + name + "' must be a boolean, got " + value.dump());
    return value.get<bool>();
  }

private:
  const json &object_;
  const std::string &source_;
};

RopeScaling parseRopeScaling(const json &object, const std::string &source) {
  std::string where = source + ": rope_scaling";
  if (!object.is_object())
    throw Error(where + " must be an object or null, got " + object.dump());
  FieldReader fields(object, where);
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

} // namespace

ModelConfig ModelConfig::load(const std::string &path) {
  json parsed;
  try {
    parsed = json::parse(readFile(path));
  } catch (const json::exception &e) {
    throw Error(path + ": invalid JSON: " + e.what());
  }
  return fromJson(parsed, path);
}

ModelConfig ModelConfig::fromJson(const json &object, const std::string &source) {
  if (!object.is_object())
    throw Error(source + ": expected a JSON object, got " + object.dump());
  FieldReader fields(object, source);
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
    config.ropeScaling = parseRopeScaling(object["rope_scaling"], source);
  config.embNeighborNum = fields.integer("emb_neighbor_num", 2);
  config.embSplitNum = fields.integer("emb_split_num", 1);
  config.ngramVocabSizeRatio = fields.integer("ngram_vocab_size_ratio", 1);
  config.bosTokenId = fields.integer("bos_token_id", 0);
  config.eosTokenId = fields.integer("eos_token_id", 0);
  config.mlaScaleQLora = fields.boolean("mla_scale_q_lora");
  config.mlaScaleKvLora = fields.boolean("mla_scale_kv_lora");
  config.normTopkProb = fields.boolean("norm_topk_prob");
  config.routerBias = fields.boolean("router_bias");
  config.tieWordEmbeddings = fields.boolean("tie_word_embeddings");
  config.raw = object;
  config.path = source;

  auto fail = [&](const std::string &message) { throw Error(source + ": " + message); };
  int64_t tables = config.numNgramTables();
  if (config.hiddenSize % tables != 0)
    fail("field 'hidden_size' (" + std::to_string(config.hiddenSize) +
         ") must be divisible by emb_split_num*(emb_neighbor_num-1) = " + std::to_string(tables));
  for (auto [name, id] : {std::pair<const char *, int64_t>{"bos_token_id", config.bosTokenId},
                          std::pair<const char *, int64_t>{"eos_token_id", config.eosTokenId}}) {
    if (id >= config.vocabSize)
      fail(std::string("field '") + name + "' (" + std::to_string(id) + ") must be < vocab_size (" +
           std::to_string(config.vocabSize) + ")");
  }
  if (config.qkRopeHeadDim % 2 != 0)
    fail("field 'qk_rope_head_dim' (" + std::to_string(config.qkRopeHeadDim) +
         ") must be even: RoPE rotates pairs");
  if (config.ropeScaling) {
    if (config.ropeScaling->type != "yarn")
      fail("rope_scaling: type '" + config.ropeScaling->type + "' is not supported (only 'yarn')");
    if (config.ropeScaling->originalMaxPositionEmbeddings == 0)
      fail("rope_scaling: missing field 'original_max_position_embeddings' (YaRN needs it)");
  }
  if (config.moeTopk > config.nRoutedExperts + config.zeroExpertNum)
    fail("field 'moe_topk' (" + std::to_string(config.moeTopk) + ") must be <= n_routed_experts + zero_expert_num (" +
         std::to_string(config.nRoutedExperts + config.zeroExpertNum) + ")");
  // Table-local ids are int32 (DESIGN.md §1.2); the largest table has m + 2E - 1 rows.
  if (config.ngramVocabSizeRatio > std::numeric_limits<int32_t>::max() / config.vocabSize ||
      config.ngramTableRows(tables - 1) > std::numeric_limits<int32_t>::max())
    fail("ngram_vocab_size_ratio*vocab_size (" + std::to_string(config.ngramVocabSizeRatio) + "*" +
         std::to_string(config.vocabSize) + ") is too large: n-gram ids must fit in int32");
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

int64_t ModelConfig::ngramTotalRows() const {
  int64_t tables = numNgramTables();
  return tables * ngramVocab() + tables * tables; // sum of m + 2i + 1 over i < E
}

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

} // namespace ember::rt
