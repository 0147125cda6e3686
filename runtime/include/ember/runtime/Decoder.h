#pragma once

#include "ember/runtime/Config.h"
#include "ember/runtime/ModelWeights.h"
#include "ember/runtime/PackedArgs.h"
#include "ember/runtime/SharedLibrary.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace ember::rt {

using PackedFn = void (*)(void **args);

// The decoder entry points of a compiled artifact: ember_prefill_packed and
// ember_step_packed (arguments as ModelAbi.h lists them).
class DecoderArtifact {
public:
  explicit DecoderArtifact(const std::string &path);

  const std::string &path() const { return library_.path(); }
  PackedFn prefill() const { return prefill_; }
  PackedFn step() const { return step_; }

private:
  SharedLibrary library_;
  PackedFn prefill_;
  PackedFn step_;
};

inline constexpr int64_t kDefaultMaxContext = 4096;

// Positions a sequence may use: min(max_position_embeddings, maxContext).
int64_t contextLimit(const ModelConfig &config, int64_t maxContext);
// Throws unless a prompt of `promptTokens` plus `maxNewTokens` generated ones
// fits the context (the last generated token is never fed back, so it needs
// no position): "prompt of 5000 tokens exceeds the context limit of 4096
// (max_position_embeddings ..., --max-context ...)".
void checkFitsContext(const ModelConfig &config, int64_t maxContext, int64_t promptTokens, int64_t maxNewTokens);

struct DecoderOutput {
  std::vector<float> logits; // [T, V]
  std::vector<float> hidden; // [T, D], final (post model.norm) hidden state
};

// One sequence (slot 0) of the compiled decoder (`weights` must outlive it) with its N-gram token table
// int32 [1, context] and latent KV cache f32 [2L, 1, context, kv_lora + rope].
// Going back to an earlier position needs no undo: the next call there
// overwrites the table and cache.
class Decoder {
public:
  Decoder(const ModelConfig &config, const ModelWeights &weights, const std::string &artifactPath,
          int64_t maxContext = kDefaultMaxContext);

  // The prompt at positions [0, T).
  DecoderOutput prefill(const std::vector<int32_t> &tokens);
  // `tokens` at positions [start, start + T); earlier positions are history.
  DecoderOutput step(const std::vector<int32_t> &tokens, int64_t start);

  const ModelConfig &config() const { return config_; }
  int64_t context() const { return context_; }
  int64_t maxContext() const { return maxContext_; }

private:
  DecoderOutput run(PackedFn function, const std::vector<int32_t> &tokens, std::optional<int64_t> start);

  ModelConfig config_;
  DecoderArtifact artifact_;
  int64_t maxContext_, context_;
  std::vector<int32_t> tokenTable_;
  std::vector<float> kvCache_;
  PackedArgs weightArgs_; // views of the ModelWeights buffers, built once
};

// Index of the largest of `count` values, the lowest one on ties.
int32_t greedyToken(const float *logits, int64_t count);

struct Generation {
  std::vector<int32_t> tokens;      // generated, EOS included
  std::vector<float> chosenFrom;    // [tokens, V]: row i = logits token i was chosen from
  std::vector<float> prefillLogits; // [T, V]
  int64_t promptTokens = 0;
  double prefillSeconds = 0, decodeSeconds = 0;
  int64_t decodeTokens() const; // tokens from step calls: all but the first
  double decodeTokensPerSecond() const;
  double prefillTokensPerSecond() const;
};

// Called after each generated token with the count so far.
using GenerationProgress = std::function<void(int64_t generated)>;

// Greedy decoding: prefill the prompt, then feed back each chosen token until
// maxNewTokens are generated or one equals eos_token_id. maxNewTokens 0 runs
// the prefill only.
Generation generateGreedy(Decoder &decoder, const std::vector<int32_t> &prompt, int64_t maxNewTokens,
                          const GenerationProgress &progress = {});

} // namespace ember::rt
