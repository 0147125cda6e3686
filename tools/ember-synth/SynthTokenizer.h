#pragma once

#include "ember/model/Config.h"

#include <nlohmann/json.hpp>

namespace ember::synth {

// A byte-level BPE tokenizer.json for the config's vocabulary: BOS and the
// EOS ids as special tokens at the config's ids, the 256 byte characters,
// merges learned from a built-in English text (most frequent pair first),
// and "<|reserved_N|>" special tokens for the ids left over, so every id the
// model can generate decodes. GPT-2's pre-tokenizer and decoder; a
// TemplateProcessing post-processor adds BOS. Throws when the vocabulary
// cannot hold the bytes and the special tokens.
nlohmann::ordered_json synthTokenizer(const ember::ModelConfig &config);

// The tokenizer_config.json beside it: its BOS and EOS tokens and ember's own
// chat template (numbered "[Round N] USER:... ASSISTANT:..." turns).
nlohmann::ordered_json synthTokenizerConfig(const ember::ModelConfig &config);

} // namespace ember::synth
