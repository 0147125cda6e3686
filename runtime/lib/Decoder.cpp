#include "ember/runtime/Decoder.h"

#include "ember/runtime/Error.h"
#include "ember/runtime/ModelAbi.h"
#include "ember/runtime/NgramEmbedding.h"

#include <algorithm>
#include <chrono>

namespace ember::rt {

static std::string packedName(const char *function) { return std::string(function) + kPackedSuffix; }

DecoderArtifact::DecoderArtifact(const std::string &path)
    : library_(path), prefill_(reinterpret_cast<PackedFn>(library_.symbol(packedName(kPrefillFunction)))),
      step_(reinterpret_cast<PackedFn>(library_.symbol(packedName(kStepFunction)))) {}

int64_t contextLimit(const ModelConfig &config, int64_t maxContext) {
  if (maxContext < 1)
    throw Error("--max-context must be at least 1, got " + std::to_string(maxContext));
  return std::min(config.maxPositionEmbeddings, maxContext);
}

static std::string contextLimitText(const ModelConfig &config, int64_t maxContext) {
  return "the context limit of " + std::to_string(contextLimit(config, maxContext)) + " (max_position_embeddings " +
         std::to_string(config.maxPositionEmbeddings) + ", --max-context " + std::to_string(maxContext) + ")";
}

void checkFitsContext(const ModelConfig &config, int64_t maxContext, int64_t promptTokens, int64_t maxNewTokens) {
  int64_t limit = contextLimit(config, maxContext);
  if (promptTokens > limit)
    throw Error("prompt of " + std::to_string(promptTokens) + " tokens exceeds " +
                contextLimitText(config, maxContext));
  int64_t positions = promptTokens + std::max<int64_t>(maxNewTokens - 1, 0);
  if (positions > limit)
    throw Error("prompt of " + std::to_string(promptTokens) + " tokens plus " + std::to_string(maxNewTokens) +
                " new tokens needs " + std::to_string(positions) + " positions, more than " +
                contextLimitText(config, maxContext));
}

Decoder::Decoder(const ModelConfig &config, const ModelWeights &weights, const std::string &artifactPath,
                 int64_t maxContext)
    : config_(config), artifact_(artifactPath), maxContext_(maxContext), context_(contextLimit(config, maxContext)),
      tokenTable_(size_t(context_), 0),
      kvCache_(size_t(kvCacheSublayers(config) * context_ * kvCacheRowWidth(config)), 0.0f) {
  for (const ModelWeights::Weight &weight : weights.weights())
    weightArgs_.addMemRef(weight.buffer.data(), weight.abi.shape);
}

DecoderOutput Decoder::prefill(const std::vector<int32_t> &tokens) {
  if (int64_t(tokens.size()) > context_)
    throw Error("prompt of " + std::to_string(tokens.size()) + " tokens exceeds " +
                contextLimitText(config_, maxContext_));
  return run(artifact_.prefill(), tokens, std::nullopt);
}

DecoderOutput Decoder::step(const std::vector<int32_t> &tokens, int64_t start) {
  if (start < 0 || start + int64_t(tokens.size()) > context_)
    throw Error("step of " + std::to_string(tokens.size()) + " tokens at position " + std::to_string(start) +
                " exceeds " + contextLimitText(config_, maxContext_));
  return run(artifact_.step(), tokens, start);
}

DecoderOutput Decoder::run(PackedFn function, const std::vector<int32_t> &tokens, std::optional<int64_t> start) {
  if (tokens.empty())
    throw Error("decoder: no tokens given (at least one is needed)");
  validateTokens(tokens, config_.vocabSize);
  auto count = int64_t(tokens.size());
  DecoderOutput output{std::vector<float>(size_t(count * config_.vocabSize)),
                       std::vector<float>(size_t(count * config_.hiddenSize))};
  PackedArgs args;
  args.addMemRef(tokens.data(), {count});
  args.addIndex(0); // slot
  if (start)        // ember_prefill has no start
    args.addIndex(*start);
  args.addMemRef(tokenTable_.data(), {1, context_});
  args.addMemRef(kvCache_.data(), {kvCacheSublayers(config_), 1, context_, kvCacheRowWidth(config_)});
  args.addMemRef(output.logits.data(), {count, config_.vocabSize});
  args.addMemRef(output.hidden.data(), {count, config_.hiddenSize});
  args.addAll(weightArgs_);
  function(args.data());
  return output;
}

int32_t greedyToken(const float *logits, int64_t count) {
  int64_t best = 0;
  for (int64_t i = 1; i < count; ++i)
    if (logits[i] > logits[best])
      best = i;
  return int32_t(best);
}

int64_t Generation::decodeTokens() const { return std::max<int64_t>(int64_t(tokens.size()) - 1, 0); }

double Generation::decodeTokensPerSecond() const {
  return decodeSeconds > 0 ? double(decodeTokens()) / decodeSeconds : 0.0;
}

double Generation::prefillTokensPerSecond() const {
  return prefillSeconds > 0 ? double(promptTokens) / prefillSeconds : 0.0;
}

static double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

Generation generateGreedy(Decoder &decoder, const std::vector<int32_t> &prompt, int64_t maxNewTokens,
                          const GenerationProgress &progress) {
  const ModelConfig &config = decoder.config();
  checkFitsContext(config, decoder.maxContext(), int64_t(prompt.size()), maxNewTokens);
  int64_t vocab = config.vocabSize;
  Generation result;
  result.promptTokens = int64_t(prompt.size());

  auto start = std::chrono::steady_clock::now();
  result.prefillLogits = decoder.prefill(prompt).logits;
  result.prefillSeconds = secondsSince(start);

  std::vector<float> row(result.prefillLogits.end() - vocab, result.prefillLogits.end());
  start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < maxNewTokens; ++i) {
    if (i > 0) // feed back the previous token at its position
      row = decoder.step({result.tokens.back()}, result.promptTokens + i - 1).logits;
    int32_t token = greedyToken(row.data(), vocab);
    result.tokens.push_back(token);
    result.chosenFrom.insert(result.chosenFrom.end(), row.begin(), row.end());
    if (progress)
      progress(int64_t(result.tokens.size()));
    if (token == config.eosTokenId)
      break;
  }
  result.decodeSeconds = secondsSince(start);
  return result;
}

} // namespace ember::rt
