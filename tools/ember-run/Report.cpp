#include "Report.h"

#include <cmath>
#include <cstdio>

using namespace ember;

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

template <typename T> static std::string statistics(const std::vector<T> &values) {
  double sum = 0, maxAbs = 0;
  for (T value : values) {
    sum += double(value);
    maxAbs = std::max(maxAbs, std::fabs(double(value)));
  }
  char text[96];
  std::snprintf(text, sizeof text, "mean %.6g  max|x| %.6g", values.empty() ? 0.0 : sum / values.size(), maxAbs);
  return text;
}

static std::string megabytes(size_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MB", double(bytes) / 1e6);
  return text;
}

void printSummary(const Report &r) {
  const ember::ModelConfig &c = r.config;
  auto length = (long long)r.prompts.front().size();
  std::printf("model        %s\n", r.modelDir.c_str());
  std::printf("tokens       %lld%s\n", length,
              r.prompts.size() > 1 ? (" (first of " + std::to_string(r.prompts.size()) + " prompts)").c_str() : "");
  std::printf("hidden       %lld\n", (long long)c.hiddenSize);
  std::printf("tables (E)   %lld (N=%lld, K=%lld, width %lld)\n", (long long)c.numNgramTables(),
              (long long)c.embNeighborNum, (long long)c.embSplitNum, (long long)c.ngramTableWidth());
  std::printf("weights      %s (n-gram tables %s", ember::dtypeLowerName(r.dtype),
              r.zeroCopyTables ? "mapped, zero-copy" : "copied");
  if (r.generation)
    std::printf("; decoder %s mapped, copied: %s device-placed, %s host-placed",
                megabytes(r.weightBytes.mapped).c_str(), megabytes(r.weightBytes.device).c_str(),
                megabytes(r.weightBytes.host).c_str());
  if (r.dequantizedBytes)
    std::printf("; %s of it dequantized from FP8 blocks of %lldx%lld at load", megabytes(r.dequantizedBytes).c_str(),
                (long long)c.fp8->blockRows, (long long)c.fp8->blockCols);
  std::printf(")\n");
  std::printf("artifact     %s (%s)\n", r.artifactPath.c_str(), r.artifactDescription.c_str());
  if (r.graphs.captured)
    std::printf("cuda graphs  %lld captured, %lld calls launched as one\n", (long long)r.graphs.captured,
                (long long)r.graphs.launched);
  if (r.embeddings) {
    std::printf("run time     %.3f ms (n-gram embedding)\n", r.embeddingSeconds * 1e3);
    std::printf("embeddings   [%lld, %lld]  %s\n", length, (long long)c.hiddenSize, statistics(*r.embeddings).c_str());
    std::printf("ngram ids    [%lld, %lld]  %s\n", length, (long long)c.numNgramTables(),
                statistics(*r.ngramIds).c_str());
  }
  if (!r.generation)
    return;
  const rt::BatchGeneration &g = *r.generation;
  std::printf("backend      %s\n", r.backend.c_str());
  std::printf("context      %lld positions, %zu sequence%s\n", (long long)r.context, g.sequences.size(),
              g.sequences.size() == 1 ? "" : "s");
  std::printf("load         %.3f s (config, weights, artifact, decoder)\n", r.loadSeconds);
  std::printf("prefill      %.3f ms (%.1f tokens/s)\n", g.prefillSeconds * 1e3, g.prefillTokensPerSecond());
  std::printf("first token  %.3f ms after the start of generation\n", r.first().firstTokenSeconds * 1e3);
  std::printf("logits       [%lld, %lld]  %s\n", length, (long long)c.vocabSize,
              statistics(r.first().prefillLogits).c_str());
  std::printf("decode       %lld tokens in %.3f s (%.1f tokens/s)\n", (long long)g.decodeTokens(), g.decodeSeconds,
              g.decodeTokensPerSecond());
  if (r.options.drafter != rt::DrafterKind::None)
    std::printf("speculation  %s\n", speculationLine(r).c_str());
  for (const rt::Generation &sequence : g.sequences) {
    bool stoppedAtEos = !sequence.tokens.empty() && c.isEos(sequence.tokens.back());
    std::string why = stoppedAtEos                   ? " (stopped at EOS)"
                      : !sequence.stopString.empty() ? " (stopped at a stop string)"
                                                     : "";
    std::printf("generated    %zu tokens%s:", sequence.tokens.size(), why.c_str());
    for (int32_t token : sequence.tokens)
      std::printf(" %d", token);
    std::printf("\n");
    if (r.tokenizer)
      std::printf("text         %s\n",
                  r.text(sequence).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  }
}

nlohmann::json Report::text(const rt::Generation &sequence) const {
  if (!tokenizer)
    return nlohmann::json();
  return rt::generatedText(*tokenizer, sequence);
}

std::string speculationLine(const Report &r) {
  const rt::BatchGeneration &g = *r.generation;
  char text[256];
  std::snprintf(text, sizeof text,
                "speculative %s, %lld draft steps: acceptance %.3f (%lld of %lld drafts), mean accepted length %.2f, "
                "%.3f target forwards per token, %.1f tokens/s",
                rt::drafterName(r.options.drafter), (long long)r.options.draftSteps, g.stats.acceptanceRate(),
                (long long)g.stats.acceptedTokens, (long long)g.stats.draftedTokens, g.stats.meanAcceptedLength(),
                g.targetForwardsPerToken(), g.decodeTokensPerSecond());
  return text;
}

nlohmann::json generationJson(const Report &r) {
  const rt::BatchGeneration &g = *r.generation;
  nlohmann::json sequences = nlohmann::json::array();
  for (const rt::Generation &sequence : g.sequences)
    sequences.push_back({{"prompt_tokens", sequence.promptTokens},
                         {"generated_ids", sequence.tokens},
                         {"text", r.text(sequence)},
                         {"finish_reason", sequence.finishReason},
                         {"time_to_first_token_s", sequence.firstTokenSeconds},
                         {"logprobs", r.options.logprobs ? nlohmann::json(sequence.logprobs) : nlohmann::json()}});
  // Without a drafter there are no drafts: the speculation figures are null.
  bool speculative = r.options.drafter != rt::DrafterKind::None;
  auto ifSpeculative = [&](nlohmann::json value) { return speculative ? value : nlohmann::json(); };
  return {{"generated_ids", r.first().tokens},
          {"text", r.text(r.first())},
          {"finish_reason", r.first().finishReason},
          {"prompt_tokens", r.first().promptTokens},
          {"sequences", sequences},
          {"stats",
           {{"load_s", r.loadSeconds},
            {"time_to_first_token_s", r.first().firstTokenSeconds},
            {"prefill_s", g.prefillSeconds},
            {"decode_s", g.decodeSeconds},
            {"steps", g.steps},
            {"weight_bytes",
             {{"mapped", r.weightBytes.mapped},
              {"device", r.weightBytes.device},
              {"host", r.weightBytes.host},
              {"dequantized_fp8", r.dequantizedBytes}}},
            {"cuda_graphs", {{"captured", r.graphs.captured}, {"launched", r.graphs.launched}}},
            {"decode_tokens_per_s", g.decodeTokensPerSecond()},
            {"prefill_tokens_per_s", g.prefillTokensPerSecond()},
            {"speculative", rt::drafterName(r.options.drafter)},
            {"draft_steps", ifSpeculative(r.options.draftSteps)},
            {"target_forwards", g.stats.targetForwards},
            {"target_forwards_per_token", g.targetForwardsPerToken()},
            {"drafted_tokens", g.stats.draftedTokens},
            {"accepted_tokens", g.stats.acceptedTokens},
            {"acceptance_rate", ifSpeculative(g.stats.acceptanceRate())},
            {"mean_accepted_length", ifSpeculative(g.stats.meanAcceptedLength())}}}};
}
