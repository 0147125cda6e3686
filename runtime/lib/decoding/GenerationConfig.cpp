#include "ember/runtime/GenerationConfig.h"

#include "ember/model/Error.h"
#include "ember/model/JsonFields.h"
#include "ember/model/Parsing.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace ember::rt {

GenerationConfig readGenerationConfig(const std::string &modelDir) {
  GenerationConfig config;
  std::string path = (std::filesystem::path(modelDir) / "generation_config.json").string();
  if (!std::filesystem::exists(path))
    return config;
  config.path = path;
  nlohmann::json json = readJsonFile(path);
  if (!json.is_object())
    throw Error(path + ": expected a JSON object");
  FieldReader fields(json, path);
  auto present = [&](const char *field) { return json.contains(field) && !json[field].is_null(); };
  auto numberUpTo = [&](const char *field, double high, std::optional<double> &out) {
    if (!present(field))
      return;
    double value = fields.number(field);
    if (!(value >= 0 && value <= high))
      throw Error(path + ": field '" + field + "' must be in [0, " + nlohmann::json(high).dump() + "], got " +
                  json[field].dump());
    out = value;
  };
  if (present("do_sample"))
    config.doSample = fields.boolean("do_sample");
  numberUpTo("temperature", 1e6, config.temperature);
  numberUpTo("top_p", 1, config.topP);
  numberUpTo("min_p", 1, config.minP);
  if (present("repetition_penalty")) {
    config.repetitionPenalty = fields.number("repetition_penalty");
    if (!(*config.repetitionPenalty > 0))
      throw Error(path + ": field 'repetition_penalty' must be > 0 (1: none), got " + json["repetition_penalty"].dump());
  }
  if (present("top_k"))
    config.topK = fields.integer("top_k", 0);
  if (present("max_new_tokens"))
    config.maxNewTokens = fields.integer("max_new_tokens", 0);
  if (present("eos_token_id"))
    config.eosTokenIds = fields.integers("eos_token_id", 0);
  return config;
}

void addEosTokens(const GenerationConfig &generation, ModelConfig &config) {
  for (int64_t eos : generation.eosTokenIds) {
    if (eos >= config.vocabSize)
      throw Error(generation.path + ": eos_token_id " + std::to_string(eos) + " is not below vocab_size " +
                  std::to_string(config.vocabSize));
    if (!config.isEos(eos))
      config.moreEosTokenIds.push_back(eos);
  }
}

} // namespace ember::rt
