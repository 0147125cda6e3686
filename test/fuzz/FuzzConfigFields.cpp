// libFuzzer: structured configs. The tiny preset's JSON with its integer
// fields replaced by 64-bit values from the input (most of them near
// limits, products and zero), through validation and first use, so the
// checked arithmetic sees the values raw JSON rarely reaches. Every other
// input raises every field's limit to INT64_MAX (as EMBER_CONFIG_LIMITS
// can), so the products themselves must be overflow-checked; the derived
// tensor-count limit stays, since first use lists every tensor.

#include "FuzzSupport.h"

#include "ember/model/Config.h"
#include "ember/model/Parsing.h"

#include <nlohmann/json.hpp>

#include <cstring>

static ember::ConfigLimits raisedLimits() {
  ember::ConfigLimits limits = ember::ConfigLimits::defaults();
  for (auto &[field, maximum] : limits.maxima)
    if (field != "checkpoint_tensors")
      maximum = INT64_MAX;
  return limits;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const nlohmann::json tiny = nlohmann::json::parse(ember::readFile(EMBER_TINY_PRESET));
  static const ember::ConfigLimits defaults = ember::ConfigLimits::defaults(), raised = raisedLimits();
  const ember::ConfigLimits &limits = size > 0 && data[0] & 0x80 ? raised : defaults;
  nlohmann::json config = tiny;
  for (auto &[key, value] : config.items()) {
    if (!value.is_number_integer() || size < 9)
      continue;
    int64_t raw;
    std::memcpy(&raw, data + 1, sizeof raw);
    // The selector byte keeps most fields ordinary, so one or two odd ones
    // get past the checks before them.
    switch (data[0] % 4) {
    case 0:
      value = raw;
      break;
    case 1:
      value = raw % 4096;
      break;
    case 2:
      value = int64_t(1) << (uint64_t(raw) % 64);
      break;
    default:
      break;
    }
    data += 9;
    size -= 9;
  }
  ember::fuzz::expectOnlyErrors([&] { ember::fuzz::useConfig(ember::ModelConfig::fromJson(config, "fuzz", limits)); });
  return 0;
}
