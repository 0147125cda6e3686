// ember-run's input: the prompts (token ids, text, or a conversation
// rendered by the model's chat template), the tokenizer they need and the
// stop strings.
#pragma once

#include "ember/runtime/CommandLine.h"
#include "ember/runtime/Tokenizer.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

// Whether the prompt is text (--prompt, --prompt-file or --messages): it
// needs the model's tokenizer, and a single sequence streams its text.
bool hasTextPrompt(const ember::rt::CommandLine &args);

// DIR/tokenizer.json: required for a text prompt or stop strings; otherwise
// used when it is there to decode the generated ids (with a note when it
// cannot be read).
std::optional<ember::rt::Tokenizer> loadTokenizer(const std::string &modelDir, bool required, bool quiet);

// The prompts as token ids. Checks that exactly one prompt flag is given and
// that --chat, --system and --messages are used together as they must be.
// Text is encoded as HF's tokenizer(text) does (with the post-processor's
// BOS); a conversation is rendered by DIR's chat template and encoded
// without it, as apply_chat_template(tokenize=True) does (the template
// writes its own).
std::vector<std::vector<int32_t>> readPrompts(const ember::rt::CommandLine &args, const std::string &modelDir,
                                              const ember::rt::Tokenizer *tokenizer);

// --stop: one string, or a JSON list of them.
std::vector<std::string> stopStrings(const ember::rt::CommandLine &args);
