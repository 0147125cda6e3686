// What ember-run reports: the human summary, the --json line and the
// progress line of long generations.
#pragma once

#include "ember/model/Config.h"
#include "ember/model/DType.h"
#include "ember/runtime/Decoder.h"
#include "ember/runtime/Generate.h"
#include "ember/runtime/Tokenizer.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

struct Report {
  std::string modelDir;
  const ember::ModelConfig &config;
  const std::vector<std::vector<int32_t>> &prompts;
  std::string backend;
  ember::DType dtype = ember::DType::F32;
  ember::rt::Decoder::WeightBytes weightBytes; // the decoder's weights, by where they are
  size_t dequantizedBytes = 0;                 // of those, what FP8 block-scaled weights became
  bool zeroCopyTables = false;
  std::string artifactPath, artifactDescription;
  int64_t context = 0;
  ember::rt::GraphCounts graphs; // the decoder's calls run as CUDA graphs
  double loadSeconds = 0; // from the start to a ready decoder: config, weights, artifact (compiled on a miss)
  std::optional<ember::rt::BatchGeneration> generation; // absent with --embeddings-only
  ember::rt::GenerationOptions options;
  const ember::rt::Generation &first() const { return generation->sequences.front(); }
  std::optional<std::vector<float>> embeddings;    // [T, D] when computed
  std::optional<std::vector<int32_t>> ngramIds;    // [T, E] when computed
  double embeddingSeconds = 0;
  const ember::rt::Tokenizer *tokenizer = nullptr; // decodes the generated ids when the model has one
  // A sequence's generated text (special tokens left out); null without a tokenizer.
  nlohmann::json text(const ember::rt::Generation &sequence) const; // cut before its stop string
};

void printSummary(const Report &report);

// {"generated_ids": [...], "prompt_tokens": T, "sequences": [...], "stats": {...}}.
nlohmann::json generationJson(const Report &report);

// "speculative mtp: acceptance 0.61 (...), mean accepted length 2.8, ..."
std::string speculationLine(const Report &report);

double secondsSince(std::chrono::steady_clock::time_point start);
