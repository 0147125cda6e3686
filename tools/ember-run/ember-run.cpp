// ember-run: runs the compiled n-gram embedding of a model directory on a
// prompt and dumps/summarises the result (no MLIR in this binary: the
// artifact comes from the cache, compiled by ember-compile on a miss).

#include "ember/runtime/ArtifactCache.h"
#include "ember/runtime/CommandLine.h"
#include "ember/runtime/Config.h"
#include "ember/runtime/Error.h"
#include "ember/runtime/NgramEmbedding.h"
#include "ember/runtime/Npy.h"
#include "ember/runtime/Safetensors.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>

namespace fs = std::filesystem;
using namespace ember;
using rt::Error;

namespace {

constexpr char kUsage[] = R"(usage: ember-run --model DIR --prompt-ids IDS [options]

Computes the n-gram-enhanced input embeddings of a prompt with the model in
DIR (config.json + safetensors). The compiled CPU artifact is taken from the
cache, or compiled with the ember-compile next to this binary on a miss.
Prints a summary (tokens, hidden size, tables, cache hit/miss, timings and
output statistics) to stdout.

options:
  --model DIR              model directory with config.json and model.safetensors
                           or model.safetensors.index.json (required)
  --prompt-ids IDS         comma-separated token ids, e.g. 1,5,9,2,7; each in
                           [0, vocab_size) (required, non-empty)
  --dump-embeddings FILE   write the float32 [T, hidden_size] embeddings as .npy
  --dump-ngram-ids FILE    write the int32 [T, E] table-local n-gram ids as .npy
  --cache-dir D            artifact cache (default: $EMBER_CACHE_DIR, else
                           $XDG_CACHE_HOME/ember, else $HOME/.cache/ember)
  --quiet                  no progress and no summary (a cache miss still shows
                           ember-compile's one-line report on stderr)
  --help                   print this help
)";

std::vector<int32_t> parsePromptIds(const std::string &text) {
  if (text.empty())
    throw Error("--prompt-ids: the list is empty (expected comma-separated token ids, e.g. 1,5,9)");
  std::vector<int32_t> ids;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = std::min(text.find(',', start), text.size());
    std::string item = text.substr(start, comma - start);
    size_t used = 0;
    long long value = -1;
    try {
      value = std::stoll(item, &used, 10);
    } catch (const std::exception &) {
      used = 0;
    }
    if (item.empty() || used != item.size() || value < std::numeric_limits<int32_t>::min() ||
        value > std::numeric_limits<int32_t>::max())
      throw Error("--prompt-ids: item " + std::to_string(ids.size()) + " ('" + item + "') is not an integer token id");
    ids.push_back(int32_t(value));
    start = comma + 1;
  }
  return ids;
}

template <typename T> std::string statistics(const std::vector<T> &values) {
  double sum = 0, maxAbs = 0;
  for (T value : values) {
    sum += double(value);
    maxAbs = std::max(maxAbs, std::fabs(double(value)));
  }
  char text[96];
  std::snprintf(text, sizeof text, "mean %.6g  max|x| %.6g", values.empty() ? 0.0 : sum / values.size(), maxAbs);
  return text;
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int runMain(int argc, char **argv) {
  rt::CommandLine args(argc, argv, {"--model", "--prompt-ids", "--dump-embeddings", "--dump-ngram-ids", "--cache-dir"},
                       {"--quiet", "--help"});
  if (args.has("--help")) {
    std::cout << kUsage;
    return 0;
  }
  std::string modelDir = args.required("--model");
  std::vector<int32_t> tokens = parsePromptIds(args.required("--prompt-ids"));
  bool quiet = args.has("--quiet");

  std::string configPath = (fs::path(modelDir) / "config.json").string();
  rt::ModelConfig config = rt::ModelConfig::load(configPath);
  rt::validateTokens(tokens, config.vocabSize);
  rt::Checkpoint checkpoint(modelDir);
  rt::NgramWeights weights(config, checkpoint);

  rt::ArtifactCache cache(rt::resolveCacheDir(args.value("--cache-dir", "")), rt::defaultCompilerPath());
  if (!quiet && !cache.isCached(config, weights.dtype))
    std::cerr << "compiling n-gram embedding for " << modelDir << " (cache miss) ..." << std::flush;
  rt::ArtifactCache::Artifact artifact = cache.getOrCompile(config, configPath, weights.dtype);
  if (!quiet && !artifact.cacheHit)
    std::fprintf(stderr, " done in %.2f s\n", artifact.compileSeconds);

  bool zeroCopyTables = weights.tables.isZeroCopy();
  rt::NgramEmbeddingRunner runner(config, std::move(weights), artifact.path);
  auto length = int64_t(tokens.size());
  std::vector<float> embeddings(size_t(length * config.hiddenSize));
  std::vector<int32_t> ids(size_t(length * config.numNgramTables()));
  auto start = std::chrono::steady_clock::now();
  runner.run(tokens, embeddings.data(), ids.data());
  double runSeconds = secondsSince(start);

  if (args.has("--dump-embeddings"))
    rt::writeNpy(args.value("--dump-embeddings", ""), embeddings.data(), {length, config.hiddenSize});
  if (args.has("--dump-ngram-ids"))
    rt::writeNpy(args.value("--dump-ngram-ids", ""), ids.data(), {length, config.numNgramTables()});
  if (quiet)
    return 0;

  std::printf("model        %s\n", modelDir.c_str());
  std::printf("tokens       %lld\n", (long long)length);
  std::printf("hidden       %lld\n", (long long)config.hiddenSize);
  std::printf("tables (E)   %lld (N=%lld, K=%lld, width %lld)\n", (long long)config.numNgramTables(),
              (long long)config.embNeighborNum, (long long)config.embSplitNum, (long long)config.ngramTableWidth());
  std::printf("weights      %s (n-gram tables %s)\n", rt::dtypeLowerName(runner.weights().dtype),
              zeroCopyTables ? "mapped, zero-copy" : "copied");
  if (artifact.cacheHit)
    std::printf("artifact     %s (cache hit)\n", artifact.path.c_str());
  else
    std::printf("artifact     %s (cache miss, compiled in %.2f s)\n", artifact.path.c_str(), artifact.compileSeconds);
  std::printf("run time     %.3f ms\n", runSeconds * 1e3);
  std::printf("embeddings   [%lld, %lld]  %s\n", (long long)length, (long long)config.hiddenSize,
              statistics(embeddings).c_str());
  std::printf("ngram ids    [%lld, %lld]  %s\n", (long long)length, (long long)config.numNgramTables(),
              statistics(ids).c_str());
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  return rt::runTool("ember-run", [&] { return runMain(argc, argv); });
}
