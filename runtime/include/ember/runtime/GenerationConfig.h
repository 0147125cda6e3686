#pragma once

// A model folder's generation_config.json (HF): the defaults a generation
// takes when the command line does not say.

#include "ember/model/Config.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ember::rt {

struct GenerationConfig {
  std::string path; // "" when the folder has none
  // HF samples only with do_sample; its temperature defaults to 1 then.
  bool doSample = false;
  std::optional<double> temperature, topP, minP, repetitionPenalty;
  std::optional<int64_t> topK, maxNewTokens;
  std::vector<int64_t> eosTokenIds; // eos_token_id, an integer or a list
  // The temperature a run takes without --temperature: 0 (greedy) unless
  // do_sample.
  double defaultTemperature() const { return doSample ? temperature.value_or(1.0) : 0.0; }
};

// Reads <modelDir>/generation_config.json; an absent file gives the empty
// config. A field of the wrong type or range is an error naming the file
// and the field; fields ember does not use are ignored.
GenerationConfig readGenerationConfig(const std::string &modelDir);

// Adds generation's eos_token_id values to the ids `config` stops at;
// throws, naming the file, for one not below vocab_size.
void addEosTokens(const GenerationConfig &generation, ModelConfig &config);

} // namespace ember::rt
