#include "ember/runtime/GenerationConfig.h"

#include "ember/runtime/Error.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace ember::rt {

GenerationConfig readGenerationConfig(const std::string &modelDir) {
  GenerationConfig config;
  std::string path = (std::filesystem::path(modelDir) / "generation_config.json").string();
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return config;
  config.path = path;
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception &error) {
    throw Error(path + ": not JSON: " + error.what());
  }
  if (!json.is_object())
    throw Error(path + ": expected a JSON object");
  auto fail = [&](const char *field, const std::string &expected) -> Error {
    return Error(path + ": field '" + field + "' must be " + expected + ", got " + json[field].dump());
  };
  auto present = [&](const char *field) { return json.contains(field) && !json[field].is_null(); };
  auto number = [&](const char *field, double low, double high, std::optional<double> &out) {
    if (!present(field))
      return;
    if (!json[field].is_number() || json[field].get<double>() < low || json[field].get<double>() > high)
      throw fail(field, "a number in [" + std::to_string(low) + ", " + std::to_string(high) + "]");
    out = json[field].get<double>();
  };
  auto integer = [&](const nlohmann::json &value, const char *field) {
    if (!value.is_number_integer() || value.get<int64_t>() < 0)
      throw fail(field, "a non-negative integer (or a list of them)");
    return value.get<int64_t>();
  };
  if (present("do_sample")) {
    if (!json["do_sample"].is_boolean())
      throw fail("do_sample", "true or false");
    config.doSample = json["do_sample"].get<bool>();
  }
  number("temperature", 0, 1e6, config.temperature);
  number("top_p", 0, 1, config.topP);
  number("min_p", 0, 1, config.minP);
  if (present("top_k"))
    config.topK = integer(json["top_k"], "top_k");
  if (present("max_new_tokens"))
    config.maxNewTokens = integer(json["max_new_tokens"], "max_new_tokens");
  if (present("eos_token_id")) {
    const nlohmann::json &eos = json["eos_token_id"];
    if (eos.is_array())
      for (const nlohmann::json &id : eos)
        config.eosTokenIds.push_back(integer(id, "eos_token_id"));
    else
      config.eosTokenIds.push_back(integer(eos, "eos_token_id"));
  }
  return config;
}

} // namespace ember::rt
