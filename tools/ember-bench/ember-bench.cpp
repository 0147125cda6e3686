// ember-bench: micro-benchmarks of compiled ember code. `ngram` times the
// compiled CPU n-gram embedding on random in-memory weights against a memcpy
// of the same number of bytes; `decode` times batch-1 greedy decode steps of
// the whole model on a synthesized checkpoint against the PyTorch eager
// reference (test/reference/decode_bench.py, run as a subprocess). No MLIR in
// this binary: the artifact comes from the cache, compiled by ember-compile
// on a miss.

#include "ember/runtime/ArtifactCache.h"
#include "ember/runtime/CommandLine.h"
#include "ember/runtime/Config.h"
#include "ember/runtime/Decoder.h"
#include "ember/runtime/Error.h"
#include "ember/runtime/Process.h"
#include "ember/runtime/ModelAbi.h"
#include "ember/runtime/ModelWeights.h"
#include "ember/runtime/NgramEmbedding.h"
#include "ember/runtime/Safetensors.h"

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>


namespace fs = std::filesystem;
using namespace ember;
using rt::Error;

namespace {

constexpr char kUsage[] = R"(usage: ember-bench ngram --preset <name|file.json> --tokens T [options]
       ember-bench decode --preset <name|file.json> [options]
                   [--benchmark_* flags of Google Benchmark]

ngram: times the compiled CPU n-gram embedding of one T-token prompt on
random weights generated in memory for the preset (no checkpoint is read),
next to a memcpy of the same number of bytes between buffers far larger than
the L3 cache, and prints both and their ratio. Bytes per call count the
gathered n-gram and word-embedding rows, the projections (once) and the float
output.

decode: times ember's batch-1 greedy decode on a random checkpoint of the
preset. The checkpoint is synthesized once, with the ember-synth next to this
binary, into <cache-dir>/checkpoints/<preset>-s<seed>-<dtype>/ and reused
afterwards. A random EOS-free prompt of P tokens is prefilled (untimed), then
each benchmark iteration (BM_EmberDecodeStep) runs one step() of one token
(the greedy choice of the previous logits) at the next position; every N
steps the context is full and the prompt is prefilled again with the timer
paused. items_per_second = decode tokens/s. The P-token prefill is timed once
separately (after a warm-up). Unless --no-reference, it then runs
  /usr/bin/python3 )" EMBER_SOURCE_DIR R"(/test/reference/decode_bench.py
      --model <checkpoint> --prompt-len P --new-tokens N --threads K
(PyTorch eager, weights widened to f32) and prints a summary: decode tokens/s
of both, the ratio ember/PyTorch, and both prefill times. Without python3 or
torch it says so and prints ember's figures only. ember's compiled CPU code is
single-threaded; --threads only sets PyTorch's thread count.

Both take the compiled artifact from the cache, or compile it with the
ember-compile next to this binary on a miss.

options (ngram):
  --preset <name|file.json>  preset name (looked up as <presets-dir>/<name>.json)
                             or a path to a config.json-style file (required)
  --tokens T                 prompt length, T >= 1 (required)
  --dtype bf16|f32|f16       weight dtype (default bf16)
  --seed S                   seed of the weights and the prompt (default 1)
  --cache-dir D              artifact cache (default: $EMBER_CACHE_DIR, else
                             $XDG_CACHE_HOME/ember, else $HOME/.cache/ember)
  --presets-dir D            where preset names are looked up
                             (default )" EMBER_PRESETS_DIR R"()

options (decode):
  --preset <name|file.json>  as for ngram (required), e.g. small or tiny
  --prompt-len P             prompt tokens, P >= 1 (default 32)
  --new-tokens N             decode steps per prefill, N >= 1 (default 32); the
                             KV cache holds P + N positions
  --dtype bf16|f32           checkpoint (and compiled weight) dtype (default bf16)
  --seed S                   seed of the checkpoint and of ember's prompt (default 1)
  --threads K                PyTorch threads for the reference (default 1)
  --cache-dir D              artifact cache; checkpoints go to D/checkpoints
                             (default as for ngram)
  --presets-dir D            as for ngram
  --no-reference             do not run the PyTorch reference

common:
  --benchmark_*              passed to Google Benchmark, e.g.
                             --benchmark_repetitions=5 --benchmark_min_time=2
                             (with repetitions the summary uses the medians)
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

// Uniform tokens. With `withEos` an occasional EOS, so segment resets are
// exercised; without, no EOS at all (as decode_bench.py draws its prompt).
std::vector<int32_t> randomPrompt(const rt::ModelConfig &config, int64_t length, uint64_t seed, bool withEos) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> token(0, int32_t(config.vocabSize - 1));
  std::bernoulli_distribution endOfSegment(withEos ? 1.0 / 32 : 0.0);
  std::vector<int32_t> prompt(static_cast<size_t>(length));
  for (int32_t &id : prompt) {
    id = endOfSegment(rng) ? int32_t(config.eosTokenId) : token(rng);
    if (!withEos && id == config.eosTokenId)
      id = int32_t((id + 1) % config.vocabSize);
  }
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
  std::vector<int32_t> prompt = randomPrompt(config, tokens, seed, /*withEos=*/true);
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

// ---- decode ---------------------------------------------------------------

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

bool hasSafetensors(const fs::path &dir) {
  std::error_code ec;
  for (const auto &entry : fs::directory_iterator(dir, ec))
    if (entry.path().extension() == ".safetensors")
      return true;
  return false;
}

// Bytes of the decoder's weights in `dtype` (ember-synth also writes the MTP
// block, so the checkpoint is a little larger).
uint64_t decoderWeightBytes(const rt::ModelConfig &config, rt::DType dtype) {
  uint64_t bytes = 0;
  for (const rt::AbiWeight &weight : rt::modelWeights(config)) {
    uint64_t elements = 1;
    for (int64_t extent : weight.shape)
      elements *= uint64_t(extent);
    bytes += elements * (weight.alwaysF32 ? 4 : rt::dtypeSize(dtype));
  }
  return bytes;
}

// <cacheDir>/checkpoints/<preset>-s<seed>-<dtype>, synthesized on first use
// into a temporary sibling that is renamed into place only when ember-synth
// succeeded (stale temporaries of interrupted runs are removed first).
std::string obtainCheckpoint(const std::string &cacheDir, const std::string &presetPath, const rt::ModelConfig &config,
                             uint64_t seed, rt::DType dtype) {
  std::string name = fs::path(presetPath).stem().string() + "-s" + std::to_string(seed) + "-" +
                     rt::dtypeLowerName(dtype);
  fs::path parent = fs::path(cacheDir) / "checkpoints", dir = parent / name;
  if (fs::exists(dir / "config.json") && hasSafetensors(dir))
    return dir.string();

  fs::create_directories(parent);
  std::string tempPrefix = name + ".tmp.";
  for (const auto &entry : fs::directory_iterator(parent))
    if (entry.path().filename().string().rfind(tempPrefix, 0) == 0)
      fs::remove_all(entry.path());
  fs::path temp = parent / (tempPrefix + std::to_string(::getpid()));
  std::string synth = (fs::path(rt::defaultCompilerPath()).parent_path() / "ember-synth").string();
  std::vector<std::string> command = {synth,    "--preset", presetPath, "--seed", std::to_string(seed),
                                      "--dtype", rt::dtypeLowerName(dtype), "-o", temp.string()};
  double bytes = double(decoderWeightBytes(config, dtype));
  std::fprintf(stderr, "synthesizing %s (%.1f %s) into %s ...\n", fs::path(presetPath).stem().c_str(),
               bytes >= 1e9 ? bytes / 1e9 : bytes / 1e6, bytes >= 1e9 ? "GB" : "MB", dir.c_str());
  auto start = std::chrono::steady_clock::now();
  int status;
  try {
    status = rt::runProcess(command, rt::ChildOutput::StdoutToStderr);
  } catch (...) {
    fs::remove_all(temp);
    throw;
  }
  if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    fs::remove_all(temp);
    throw Error("ember-synth failed (" + rt::describeWaitStatus(status) + "): " + synth);
  }
  if (fs::exists(dir))
    fs::remove_all(dir); // incomplete leftover without config.json or safetensors
  fs::rename(temp, dir);
  std::fprintf(stderr, "synthesized in %.1f s\n", secondsSince(start));
  return dir.string();
}

struct ReferenceResult {
  bool ok = false;
  std::string message; // why not, when !ok
  double decodeTokensPerSecond = 0, prefillSeconds = 0;
  int threads = 0;
  std::string prefillImpl;
};

std::string lastLines(const std::string &text, int lines) {
  size_t end = text.size();
  while (end > 0 && text[end - 1] == '\n')
    --end;
  size_t start = end;
  for (int i = 0; i < lines && start > 0; ++i) {
    start = text.rfind('\n', start - 1);
    if (start == std::string::npos) {
      start = 0;
      break;
    }
  }
  return text.substr(start == 0 ? 0 : start + 1, end - (start == 0 ? 0 : start + 1));
}

ReferenceResult runReference(const std::string &checkpoint, int64_t promptLen, int64_t newTokens, int64_t threads) {
  ReferenceResult result;
  const std::string python = "/usr/bin/python3";
  const std::string script = std::string(EMBER_SOURCE_DIR) + "/test/reference/decode_bench.py";
  if (::access(python.c_str(), X_OK) != 0) {
    result.message = python + " not found";
    return result;
  }
  if (!fs::exists(script)) {
    result.message = script + " not found";
    return result;
  }
  std::vector<std::string> command = {python,         script, "--model", checkpoint, "--prompt-len",
                                      std::to_string(promptLen), "--new-tokens", std::to_string(newTokens),
                                      "--threads",    std::to_string(threads)};
  std::string text;
  for (const std::string &arg : command)
    text += (text.empty() ? "" : " ") + arg;
  std::fprintf(stderr, "running the PyTorch reference: %s\n", text.c_str());
  std::string output;
  int status = rt::runProcess(command, rt::ChildOutput::Capture, &output);
  if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    if (output.find("No module named 'torch'") != std::string::npos)
      result.message = "PyTorch (torch) is not installed for " + python;
    else
      result.message = "decode_bench.py failed (" + rt::describeWaitStatus(status) + "); its last output:\n" +
                       lastLines(output, 10);
    return result;
  }
  size_t lineStart = output.rfind("\n{");
  lineStart = lineStart == std::string::npos ? (output.rfind('{', 0) == 0 ? 0 : std::string::npos) : lineStart + 1;
  try {
    if (lineStart == std::string::npos)
      throw Error("no JSON line");
    nlohmann::json json = nlohmann::json::parse(output.substr(lineStart, output.find('\n', lineStart) - lineStart));
    if (json["decode_tokens_per_s"].is_null())
      throw Error("decode_tokens_per_s is null (--new-tokens 1 has no decode step)");
    result.decodeTokensPerSecond = json["decode_tokens_per_s"].get<double>();
    result.prefillSeconds = json["prefill_s"].get<double>();
    result.threads = json.value("threads", 0);
    result.prefillImpl = json.value("prefill_impl", "");
    result.ok = true;
  } catch (const std::exception &error) {
    result.message = std::string("cannot read decode_bench.py's JSON line (") + error.what() + "); its output:\n" +
                     lastLines(output, 10);
  }
  return result;
}

int decodeMain(int argc, char **argv) {
  rt::CommandLine args(argc, argv,
                       {"--preset", "--prompt-len", "--new-tokens", "--dtype", "--seed", "--threads", "--cache-dir",
                        "--presets-dir"},
                       {"--no-reference"}); // --help never gets here: benchmark::Initialize handles it
  std::string presetPath =
      rt::resolvePresetPath(args.required("--preset"), args.value("--presets-dir", EMBER_PRESETS_DIR));
  int64_t promptLen = args.integer("--prompt-len", 32), newTokens = args.integer("--new-tokens", 32);
  if (promptLen < 1)
    throw Error("--prompt-len must be at least 1");
  if (newTokens < 1)
    throw Error("--new-tokens must be at least 1");
  rt::DType dtype = rt::parseDTypeLower(args.value("--dtype", "bf16"));
  if (dtype != rt::DType::BF16 && dtype != rt::DType::F32)
    throw Error("--dtype must be bf16 or f32 for decode");
  auto seed = uint64_t(args.integer("--seed", 1));
  int64_t threads = args.integer("--threads", 1);
  if (threads < 1)
    throw Error("--threads must be at least 1");
  bool reference = !args.has("--no-reference");
  rt::ModelConfig presetConfig = rt::ModelConfig::load(presetPath);
  int64_t maxContext = promptLen + newTokens;
  rt::checkFitsContext(presetConfig, maxContext, promptLen, newTokens);

  std::string cacheDir = rt::resolveCacheDir(args.value("--cache-dir", ""));
  std::string modelDir = obtainCheckpoint(cacheDir, presetPath, presetConfig, seed, dtype);
  std::string configPath = (fs::path(modelDir) / "config.json").string();
  rt::ModelConfig config = rt::ModelConfig::load(configPath);

  double emberTokensPerSecond = 0, emberPrefillSeconds = 0;
  std::string preset = fs::path(presetPath).stem().string();
  {
    rt::Checkpoint checkpoint(modelDir);
    rt::ModelWeights weights(config, checkpoint);
    rt::ArtifactCache cache(cacheDir, rt::defaultCompilerPath());
    if (!cache.isCached(config, weights.dtype()))
      std::cerr << "compiling the model of " << modelDir << " (cache miss) ..." << std::flush;
    rt::ArtifactCache::Artifact artifact = cache.getOrCompile(config, configPath, weights.dtype());
    if (!artifact.cacheHit)
      std::fprintf(stderr, " done in %.2f s\n", artifact.compileSeconds);
    std::unique_ptr<rt::Backend> backend = rt::makeCpuBackend();
    rt::Decoder decoder(config, weights, artifact.path, *backend, {maxContext, 1});
    std::vector<int32_t> prompt = randomPrompt(config, promptLen, seed, /*withEos=*/false);

    // Warm-up (page faults of the mapped weights, first-touch of the caches),
    // then the timed prefill; errors surface here, not inside the benchmark.
    decoder.prefill(0, prompt);
    auto prefillStart = std::chrono::steady_clock::now();
    rt::DecoderOutput output = decoder.prefill(0, prompt);
    emberPrefillSeconds = secondsSince(prefillStart);
    const int64_t vocab = config.vocabSize;
    int32_t next = rt::greedyToken(output.logits.data() + (promptLen - 1) * vocab, vocab);
    int64_t position = promptLen;

    std::printf("preset %s: %s, %lld layers, D=%lld, V=%lld, %lld routed + %lld zero experts (top %lld); "
                "weights %.2f GB mapped + %.2f GB copied\n",
                presetPath.c_str(), rt::dtypeLowerName(weights.dtype()), (long long)config.numLayers,
                (long long)config.hiddenSize, (long long)config.vocabSize, (long long)config.nRoutedExperts,
                (long long)config.zeroExpertNum, (long long)config.moeTopk, weights.mappedBytes() / 1e9,
                weights.copiedBytes() / 1e9);
    std::printf("checkpoint %s; artifact %s\n", modelDir.c_str(), artifact.path.c_str());
    std::printf("ember prefill of %lld tokens: %.4f s (%.4g tokens/s)\n", (long long)promptLen, emberPrefillSeconds,
                promptLen / emberPrefillSeconds);
    std::fflush(stdout);

    benchmark::RegisterBenchmark("BM_EmberDecodeStep", [&](benchmark::State &state) {
      for (auto _ : state) {
        if (position >= decoder.context()) { // context full: start over from the prompt
          state.PauseTiming();
          rt::DecoderOutput again = decoder.prefill(0, prompt);
          next = rt::greedyToken(again.logits.data() + (promptLen - 1) * vocab, vocab);
          position = promptLen;
          state.ResumeTiming();
        }
        rt::DecoderOutput stepOutput = decoder.step(0, {next}, position++);
        next = rt::greedyToken(stepOutput.logits.data(), vocab);
      }
      state.SetItemsProcessed(state.iterations());
    })->UseRealTime()->Unit(benchmark::kMillisecond);

    SummaryReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();
    if (const auto *run = reporter.find("BM_EmberDecodeStep"))
      emberTokensPerSecond = counter(*run, "items_per_second");
  }
  if (emberTokensPerSecond <= 0)
    throw Error("BM_EmberDecodeStep did not run (check --benchmark_filter)");

  std::optional<ReferenceResult> pytorch;
  if (reference)
    pytorch = runReference(modelDir, promptLen, newTokens, threads);

  std::printf("\n== decode summary: %s, %s weights, prompt %lld tokens, %lld decode steps per prefill, batch 1 ==\n",
              preset.c_str(), rt::dtypeLowerName(dtype), (long long)promptLen, (long long)newTokens);
  std::printf("ember (compiled CPU, 1 thread):  decode %8.3f tokens/s (%.2f ms/token), prefill %.4f s\n",
              emberTokensPerSecond, 1e3 / emberTokensPerSecond, emberPrefillSeconds);
  if (!pytorch) {
    std::printf("PyTorch reference: not run (--no-reference)\n");
  } else if (!pytorch->ok) {
    std::printf("PyTorch reference: unavailable: %s\n", pytorch->message.c_str());
  } else {
    std::printf("PyTorch eager (f32, %d thread%s):   decode %8.3f tokens/s (%.2f ms/token), prefill %.4f s (%s)\n",
                pytorch->threads, pytorch->threads == 1 ? "" : "s", pytorch->decodeTokensPerSecond,
                1e3 / pytorch->decodeTokensPerSecond, pytorch->prefillSeconds, pytorch->prefillImpl.c_str());
    std::printf("ratio ember/PyTorch: decode %.3g, prefill speed %.3g\n",
                emberTokensPerSecond / pytorch->decodeTokensPerSecond, pytorch->prefillSeconds / emberPrefillSeconds);
  }
  return 0;
}

int benchMain(int argc, char **argv) {
  // Google Benchmark takes its --benchmark_* flags (and --help) out of argv.
  benchmark::Initialize(&argc, argv, printUsage);
  std::string name = argc < 2 ? "" : argv[1];
  if (name == "ngram")
    return ngramMain(argc - 1, argv + 1);
  if (name == "decode")
    return decodeMain(argc - 1, argv + 1);
  throw Error(argc < 2 ? "missing benchmark name; expected 'ngram' or 'decode' (see --help)"
                       : "unknown benchmark '" + name + "'; expected 'ngram' or 'decode' (see --help)");
}

} // namespace

int main(int argc, char **argv) {
  return rt::runTool("ember-bench", [&] { return benchMain(argc, argv); });
}
