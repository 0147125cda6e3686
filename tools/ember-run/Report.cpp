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
  const rt::ModelConfig &c = r.config;
  auto length = (long long)r.tokens.size();
  std::printf("model        %s\n", r.modelDir.c_str());
  std::printf("tokens       %lld\n", length);
  std::printf("hidden       %lld\n", (long long)c.hiddenSize);
  std::printf("tables (E)   %lld (N=%lld, K=%lld, width %lld)\n", (long long)c.numNgramTables(),
              (long long)c.embNeighborNum, (long long)c.embSplitNum, (long long)c.ngramTableWidth());
  std::printf("weights      %s (n-gram tables %s", rt::dtypeLowerName(r.dtype),
              r.zeroCopyTables ? "mapped, zero-copy" : "copied");
  if (r.generation)
    std::printf("; decoder %s mapped, %s copied", megabytes(r.mappedBytes).c_str(), megabytes(r.copiedBytes).c_str());
  std::printf(")\n");
  std::printf("artifact     %s (%s)\n", r.artifactPath.c_str(), r.artifactDescription.c_str());
  if (r.embeddings) {
    std::printf("run time     %.3f ms (n-gram embedding)\n", r.embeddingSeconds * 1e3);
    std::printf("embeddings   [%lld, %lld]  %s\n", length, (long long)c.hiddenSize, statistics(*r.embeddings).c_str());
    std::printf("ngram ids    [%lld, %lld]  %s\n", length, (long long)c.numNgramTables(),
                statistics(*r.ngramIds).c_str());
  }
  if (!r.generation)
    return;
  const rt::Generation &g = *r.generation;
  std::printf("context      %lld positions\n", (long long)r.context);
  std::printf("prefill      %.3f ms (%.1f tokens/s)\n", g.prefillSeconds * 1e3, g.prefillTokensPerSecond());
  std::printf("logits       [%lld, %lld]  %s\n", length, (long long)c.vocabSize, statistics(g.prefillLogits).c_str());
  std::printf("decode       %lld steps in %.3f s (%.1f tokens/s)\n", (long long)g.decodeTokens(), g.decodeSeconds,
              g.decodeTokensPerSecond());
  bool stoppedAtEos = !g.tokens.empty() && g.tokens.back() == c.eosTokenId;
  std::printf("generated    %zu tokens%s:", g.tokens.size(), stoppedAtEos ? " (stopped at EOS)" : "");
  for (int32_t token : g.tokens)
    std::printf(" %d", token);
  std::printf("\n");
}

nlohmann::json generationJson(const rt::Generation &g) {
  return {{"generated_ids", g.tokens},
          {"prompt_tokens", g.promptTokens},
          {"stats",
           {{"prefill_s", g.prefillSeconds},
            {"decode_s", g.decodeSeconds},
            {"decode_tokens_per_s", g.decodeTokensPerSecond()},
            {"prefill_tokens_per_s", g.prefillTokensPerSecond()}}}};
}

GenerationProgressLine::GenerationProgressLine(int64_t maxNewTokens, bool quiet)
    : maxNewTokens_(maxNewTokens), quiet_(quiet), start_(std::chrono::steady_clock::now()), lastPrint_(start_) {}

void GenerationProgressLine::operator()(int64_t generated) {
  auto now = std::chrono::steady_clock::now();
  if (quiet_ || now - start_ < std::chrono::seconds(1) || now - lastPrint_ < std::chrono::milliseconds(200))
    return;
  lastPrint_ = now;
  printed_ = true;
  std::fprintf(stderr, "\rgenerated %lld/%lld tokens, %.1f tokens/s", (long long)generated, (long long)maxNewTokens_,
               double(generated) / secondsSince(start_));
}

void GenerationProgressLine::finish() {
  if (printed_)
    std::fprintf(stderr, "\n");
}
