// What ember-run reports: the human summary, the --json line and the
// progress line of long generations.
#pragma once

#include "ember/runtime/Config.h"
#include "ember/runtime/DType.h"
#include "ember/runtime/Decoder.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

struct Report {
  std::string modelDir;
  const ember::rt::ModelConfig &config;
  const std::vector<int32_t> &tokens;
  ember::rt::DType dtype = ember::rt::DType::F32;
  size_t mappedBytes = 0, copiedBytes = 0; // decoder weights
  bool zeroCopyTables = false;
  std::string artifactPath, artifactDescription;
  int64_t context = 0;
  std::optional<ember::rt::Generation> generation; // absent with --embeddings-only
  std::optional<std::vector<float>> embeddings;    // [T, D] when computed
  std::optional<std::vector<int32_t>> ngramIds;    // [T, E] when computed
  double embeddingSeconds = 0;
};

void printSummary(const Report &report);

// {"generated_ids": [...], "prompt_tokens": T, "stats": {...}}.
nlohmann::json generationJson(const ember::rt::Generation &generation);

double secondsSince(std::chrono::steady_clock::time_point start);

// "generated i/N tokens, x tok/s" on stderr, rewritten in place, once a
// generation has run for a second.
class GenerationProgressLine {
public:
  GenerationProgressLine(int64_t maxNewTokens, bool quiet);
  void operator()(int64_t generated);
  void finish(); // ends the line if one was printed

private:
  int64_t maxNewTokens_;
  bool quiet_, printed_ = false;
  std::chrono::steady_clock::time_point start_, lastPrint_;
};
