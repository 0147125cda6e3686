// libFuzzer: config.json as raw bytes, through ModelConfig validation and
// what every tool computes from a valid config first (the weight list, the
// per-sequence state for one slot).

#include "FuzzSupport.h"

#include "ember/model/Config.h"

#include <nlohmann/json.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  nlohmann::json json = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded())
    return 0; // not JSON: the JSON library's business, not ember's
  ember::fuzz::expectOnlyErrors([&] { ember::fuzz::useConfig(ember::ModelConfig::fromJson(json, "fuzz")); });
  return 0;
}
