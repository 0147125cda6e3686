// ember-bench: micro-benchmarks of compiled ember code. `ngram` times the
// compiled CPU n-gram embedding on random in-memory weights against a memcpy
// of the same number of bytes (no MLIR in this binary: the artifact comes
// from the cache, compiled by ember-compile on a miss).

#include "ember/runtime/ArtifactCache.h"
#include "ember/runtime/CommandLine.h"
#include "ember/runtime/Config.h"
#include "ember/runtime/Error.h"
#include "ember/runtime/NgramEmbedding.h"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

using namespace ember;
using rt::Error;

namespace {

constexpr char kUsage[] = R"(usage: ember-bench ngram --preset <name|file.json> --tokens T [options]
                   [--benchmark_* flags of Google Benchmark]

Times the compiled CPU n-gram embedding of one T-token prompt on random
weights generated in memory for the preset (no checkpoint is read), next to
a memcpy of the same number of bytes between buffers far larger than the L3
cache, and prints both and their ratio. Bytes per call count the gathered
n-gram and word-embedding rows, the projections (once) and the float output.
The compiled artifact is taken from the cache, or compiled with the
ember-compile next to this binary on a miss.

options:
  --preset <name|file.json>  preset name (looked up as <presets-dir>/<name>.json)
                             or a path to a config.json-style file (required)
  --tokens T                 prompt length, T >= 1 (required)
  --dtype bf16|f32|f16       weight dtype (default bf16)
  --seed S                   seed of the weights and the prompt (default 1)
  --cache-dir D              artifact cache (default: $EMBER_CACHE_DIR, else
                             $XDG_CACHE_HOME/ember, else $HOME/.cache/ember)
  --presets-dir D            where preset names are looked up
                             (default )" EMBER_PRESETS_DIR R"()
  --benchmark_*              passed to Google Benchmark, e.g.
                             --benchmark_repetitions=5 --benchmark_min_time=2
  --help                     print this help
)";

void printUsage() { std::cout << kUsage; }

// Cheap deterministic values in [-0.1, 0.1): the benchmark needs the real
// sizes and dtype, not ember-synth's distribution.
std::vector<std::byte> randomTensorBytes(int64_t elements, rt::DType dtype, uint64_t seed) {
  constexpr size_t kChunk = size_t(1) << 16;
  size_t elementSize = rt::dtypeSize(dtype);
  std::vector<std::byte> bytes(size_t(elements) * elementSize);
  std::vector<float> values(kChunk);
  uint64_t state = seed * 0x9e3779b97f4a7c15ull + 1;
  for (size_t done = 0; done < size_t(elements); done += kChunk) {
    size_t count = std::min(kChunk, size_t(elements) - done);
    for (size_t i = 0; i < count; ++i) {
      state = state * 6364136223846793005ull + 1442695040888963407ull; // 64-bit LCG
      values[i] = float(int32_t(state >> 32)) * (0.1f / 2147483648.0f);
    }
    rt::convertFromFloat(values.data(), count, dtype, bytes.data() + done * elementSize);
  }
  return bytes;
}

// The embedding weights of a config, generated in memory, with the views
// NgramWeights takes.
struct InMemoryWeights {
  std::vector<std::byte> wordEmbedding, tables, projections;
  rt::TensorView wordEmbeddingView, tablesView, projectionsView;

  InMemoryWeights(const rt::ModelConfig &config, rt::DType dtype, uint64_t seed) {
    int64_t hidden = config.hiddenSize, width = config.ngramTableWidth();
    rt::Shape wordShape = {config.vocabSize, hidden};
    rt::Shape tablesShape = {config.ngramTotalRows(), width};
    rt::Shape projectionsShape = {config.numNgramTables() * hidden, width};
    wordEmbedding = randomTensorBytes(wordShape[0] * wordShape[1], dtype, seed);
    tables = randomTensorBytes(tablesShape[0] * tablesShape[1], dtype, seed + 1);
    projections = randomTensorBytes(projectionsShape[0] * projectionsShape[1], dtype, seed + 2);
    wordEmbeddingView = {"word_embedding", dtype, wordShape, wordEmbedding.data(), wordEmbedding.size(), "<memory>"};
    tablesView = {"ngram_tables", dtype, tablesShape, tables.data(), tables.size(), "<memory>"};
    projectionsView = {"ngram_projections", dtype, projectionsShape, projections.data(), projections.size(),
                       "<memory>"};
  }
};

// Uniform tokens with an occasional EOS, so segment resets are exercised.
std::vector<int32_t> randomPrompt(const rt::ModelConfig &config, int64_t length, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> token(0, int32_t(config.vocabSize - 1));
  std::bernoulli_distribution endOfSegment(1.0 / 32);
  std::vector<int32_t> prompt(static_cast<size_t>(length));
  for (int32_t &id : prompt)
    id = endOfSegment(rng) ? int32_t(config.eosTokenId) : token(rng);
  return prompt;
}

// Bytes one embedding call touches: T gathered rows of every table and of the
// word embedding, the projections once, and the float output.
uint64_t bytesPerCall(const rt::ModelConfig &config, int64_t tokens, rt::DType dtype) {
  uint64_t tables = config.numNgramTables(), hidden = config.hiddenSize, width = config.ngramTableWidth();
  uint64_t elementSize = rt::dtypeSize(dtype);
  return tokens * (tables * width + hidden) * elementSize + tables * hidden * width * elementSize +
         tokens * hidden * sizeof(float);
}

// ConsoleReporter that also keeps each benchmark's figures for the summary:
// the median when repetitions produce one, else the last run.
class SummaryReporter : public benchmark::ConsoleReporter {
public:
  // A custom reporter does not see --benchmark_color; use the library's
  // "auto" rule (colour only on a terminal).
  SummaryReporter() : ConsoleReporter(isatty(fileno(stdout)) ? OO_ColorTabular : OO_Tabular) {}

  void ReportRuns(const std::vector<Run> &runs) override {
    for (const Run &run : runs) {
      if (run.error_occurred)
        continue;
      const std::string &name = run.run_name.function_name;
      if (run.run_type == Run::RT_Iteration && !medians_.count(name))
        results_[name] = run;
      else if (run.run_type == Run::RT_Aggregate && run.aggregate_name == "median") {
        medians_.insert(name);
        results_[name] = run;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  const Run *find(const std::string &name) const {
    auto it = results_.find(name);
    return it == results_.end() ? nullptr : &it->second;
  }

private:
  std::map<std::string, Run> results_;
  std::set<std::string> medians_;
};

double counter(const benchmark::BenchmarkReporter::Run &run, const char *name) {
  auto it = run.counters.find(name);
  return it == run.counters.end() ? 0.0 : double(it->second);
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

int ngramMain(int argc, char **argv) {
  rt::CommandLine args(argc, argv, {"--preset", "--tokens", "--dtype", "--seed", "--cache-dir", "--presets-dir"},
                       {}); // --help never gets here: benchmark::Initialize handles it
  std::string presetPath =
      rt::resolvePresetPath(args.required("--preset"), args.value("--presets-dir", EMBER_PRESETS_DIR));
  args.required("--tokens");
  int64_t tokens = args.integer("--tokens", 0);
  if (tokens < 1)
    throw Error("--tokens must be at least 1");
  rt::DType dtype = rt::parseDTypeLower(args.value("--dtype", "bf16"));
  auto seed = uint64_t(args.integer("--seed", 1));
  rt::ModelConfig config = rt::ModelConfig::load(presetPath);

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
  std::vector<int32_t> prompt = randomPrompt(config, tokens, seed);
  std::vector<float> embeddings(size_t(tokens * config.hiddenSize));
  std::vector<int32_t> ids(size_t(tokens * config.numNgramTables()));
  runner.run(prompt, embeddings.data(), ids.data()); // errors surface here, not inside the benchmark

  uint64_t bytes = bytesPerCall(config, tokens, dtype);
  std::printf("preset %s: V=%lld D=%lld E=%lld (N=%lld, K=%lld) width %lld, %s, n-gram tables %.1f MB\n",
              presetPath.c_str(), (long long)config.vocabSize, (long long)config.hiddenSize,
              (long long)config.numNgramTables(), (long long)config.embNeighborNum, (long long)config.embSplitNum,
              (long long)config.ngramTableWidth(), rt::dtypeLowerName(dtype), memory.tables.size() / 1e6);
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

int benchMain(int argc, char **argv) {
  // Google Benchmark takes its --benchmark_* flags (and --help) out of argv.
  benchmark::Initialize(&argc, argv, printUsage);
  if (argc < 2 || std::string(argv[1]) != "ngram")
    throw Error(argc < 2 ? "missing benchmark name; expected 'ngram' (see --help)"
                         : "unknown benchmark '" + std::string(argv[1]) + "'; expected 'ngram' (see --help)");
  return ngramMain(argc - 1, argv + 1);
}

} // namespace

int main(int argc, char **argv) {
  return rt::runTool("ember-bench", [&] { return benchMain(argc, argv); });
}
