// ember-bench ngram: the compiled CPU n-gram embedding on random in-memory
// weights against a memcpy of the same number of bytes.

#include "BenchSupport.h"

#include "ember/runtime/ArtifactCache.h"
#include "ember/runtime/CommandLine.h"
#include "ember/model/Error.h"
#include "ember/runtime/NgramEmbedding.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iostream>

namespace ember::bench {

namespace {

// The embedding weights of a config, generated in memory, with the views
// NgramWeights takes.
struct InMemoryWeights {
  std::vector<std::byte> wordEmbedding, tables, projections;
  rt::TensorView wordEmbeddingView, tablesView, projectionsView;

  InMemoryWeights(const ember::ModelConfig &config, ember::DType dtype, uint64_t seed) {
    int64_t hidden = config.hiddenSize, width = config.ngramTableWidth();
    ember::Shape wordShape = {config.vocabSize, hidden};
    ember::Shape tablesShape = {config.ngramTotalRows(), width};
    ember::Shape projectionsShape = {config.numNgramTables() * hidden, width};
    wordEmbedding = randomTensorBytes(wordShape[0] * wordShape[1], dtype, seed);
    tables = randomTensorBytes(tablesShape[0] * tablesShape[1], dtype, seed + 1);
    projections = randomTensorBytes(projectionsShape[0] * projectionsShape[1], dtype, seed + 2);
    wordEmbeddingView = {"word_embedding", dtype, wordShape, wordEmbedding.data(), wordEmbedding.size(), "<memory>"};
    tablesView = {"ngram_tables", dtype, tablesShape, tables.data(), tables.size(), "<memory>"};
    projectionsView = {"ngram_projections", dtype, projectionsShape, projections.data(), projections.size(),
                       "<memory>"};
  }
};

// Bytes one embedding call touches: T gathered rows of every table and of the
// word embedding, the projections once, and the float output.
uint64_t bytesPerCall(const ember::ModelConfig &config, int64_t tokens, ember::DType dtype) {
  uint64_t tables = config.numNgramTables(), hidden = config.hiddenSize, width = config.ngramTableWidth();
  uint64_t elementSize = ember::dtypeSize(dtype);
  return tokens * (tables * width + hidden) * elementSize + tables * hidden * width * elementSize +
         tokens * hidden * sizeof(float);
}

void printSummary(const SummaryReporter &reporter, const std::string &embeddingName, const std::string &memcpyName) {
  const auto *embedding = reporter.find(embeddingName);
  const auto *copy = reporter.find(memcpyName);
  if (embedding)
    std::printf("ngram embedding: %.4g tokens/s, %.4g GB/s", counter(*embedding, "tokens"),
                counter(*embedding, "bytes_per_second") / 1e9);
  if (embedding && copy)
    std::printf("; ");
  if (copy)
    std::printf("memcpy of the same bytes: %.4g GB/s", counter(*copy, "bytes_per_second") / 1e9);
  if (embedding && copy)
    std::printf("; ratio embedding/memcpy = %.4g",
                counter(*embedding, "bytes_per_second") / counter(*copy, "bytes_per_second"));
  if (embedding || copy)
    std::printf("\n");
}

// Source and destination of the baseline; each far larger than any L3 so
// that, with the offset advancing every iteration, copies come from DRAM.
constexpr size_t kColdBufferBytes = size_t(256) << 20;

} // namespace

int ngramMain(int argc, char **argv) {
  rt::CommandLine args(argc, argv, {"--preset", "--tokens", "--dtype", "--seed", "--cache-dir", "--presets-dir"},
                       {}); // --help never gets here: benchmark::Initialize handles it
  std::string presetPath =
      ember::resolvePresetPath(args.required("--preset"), args.value("--presets-dir", EMBER_PRESETS_DIR));
  args.required("--tokens");
  int64_t tokens = args.integer("--tokens", 0);
  if (tokens < 1)
    throw Error("--tokens must be at least 1");
  ember::DType dtype = ember::parseDTypeLower(args.value("--dtype", "bf16"));
  auto seed = uint64_t(args.integer("--seed", 1));
  ember::ModelConfig config = ember::ModelConfig::load(presetPath);
  if (tokens > config.maxPositionEmbeddings)
    throw Error("--tokens " + std::to_string(tokens) + " exceeds the preset's max_position_embeddings (" +
                std::to_string(config.maxPositionEmbeddings) + ")");

  rt::ArtifactCache cache(rt::resolveCacheDir(args.value("--cache-dir", "")), rt::defaultCompilerPath());
  if (!cache.isCached(config, dtype))
    std::cerr << "compiling n-gram embedding for " << presetPath << " (cache miss) ..." << std::flush;
  rt::ArtifactCache::Artifact artifact = cache.getOrCompile(config, presetPath, dtype);
  if (!artifact.cacheHit)
    std::fprintf(stderr, " done in %.2f s\n", artifact.compileSeconds);

  InMemoryWeights memory(config, dtype, seed);
  rt::NgramEmbeddingRunner runner(
      config, rt::NgramWeights(config, memory.wordEmbeddingView, memory.tablesView, memory.projectionsView),
      artifact.path);
  std::vector<int32_t> prompt = randomPrompt(config, tokens, seed, /*withEos=*/true);
  std::vector<float> embeddings(size_t(tokens * config.hiddenSize));
  std::vector<int32_t> ids(size_t(tokens * config.numNgramTables()));
  runner.run(prompt, embeddings.data(), ids.data()); // errors surface here, not inside the benchmark

  uint64_t bytes = bytesPerCall(config, tokens, dtype);
  std::printf("preset %s: V=%lld D=%lld E=%lld (N=%lld, K=%lld) width %lld, %s, n-gram tables %.1f MB\n",
              presetPath.c_str(), (long long)config.vocabSize, (long long)config.hiddenSize,
              (long long)config.numNgramTables(), (long long)config.embNeighborNum, (long long)config.embSplitNum,
              (long long)config.ngramTableWidth(), ember::dtypeLowerName(dtype), memory.tables.size() / 1e6);
  std::printf("%lld tokens, %.3f MB touched per call; artifact %s\n", (long long)tokens, bytes / 1e6,
              artifact.path.c_str());

  std::string suffix = "/" + std::to_string(tokens);
  std::string embeddingName = "ngram_embedding" + suffix, memcpyName = "memcpy_baseline" + suffix;
  benchmark::RegisterBenchmark(embeddingName.c_str(), [&](benchmark::State &state) {
    for (auto _ : state) {
      runner.run(prompt, embeddings.data(), ids.data());
    }
    state.counters["tokens"] = benchmark::Counter(double(tokens * state.iterations()), benchmark::Counter::kIsRate);
    state.SetBytesProcessed(int64_t(bytes) * state.iterations());
  })->UseRealTime();

  size_t bufferBytes = std::max(kColdBufferBytes, 2 * size_t(bytes));
  std::vector<std::byte> source(bufferBytes, std::byte{1}), destination(bufferBytes);
  size_t step = (bytes + 63) / 64 * 64; // cache-line aligned, like fresh allocations
  benchmark::RegisterBenchmark(memcpyName.c_str(), [&](benchmark::State &state) {
    size_t offset = 0;
    for (auto _ : state) {
      std::memcpy(destination.data() + offset, source.data() + offset, bytes);
      benchmark::ClobberMemory(); // keep the copy: its result is never read
      offset = offset + step + bytes <= bufferBytes ? offset + step : 0;
    }
    state.counters["tokens"] = benchmark::Counter(double(tokens * state.iterations()), benchmark::Counter::kIsRate);
    state.SetBytesProcessed(int64_t(bytes) * state.iterations());
  })->UseRealTime();

  SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  printSummary(reporter, embeddingName, memcpyName);
  return 0;
}

} // namespace ember::bench
