#include "BenchSupport.h"

#include "ember/model/Error.h"
#include "ember/model/ModelAbi.h"
#include "ember/model/Parsing.h"
#include "ember/runtime/CommandLine.h"
#include "ember/runtime/Decoder.h"
#include "ember/runtime/Process.h"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <random>
#include <sstream>

#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace ember::bench {

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::vector<int32_t> randomPrompt(const ember::ModelConfig &config, int64_t length, uint64_t seed, bool withEos) {
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

// A custom reporter does not see --benchmark_color; use the library's
// "auto" rule (colour only on a terminal).
SummaryReporter::SummaryReporter() : ConsoleReporter(isatty(fileno(stdout)) ? OO_ColorTabular : OO_Tabular) {}

void SummaryReporter::ReportRuns(const std::vector<Run> &runs) {
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

const benchmark::BenchmarkReporter::Run *SummaryReporter::find(const std::string &name) const {
  auto it = results_.find(name);
  return it == results_.end() ? nullptr : &it->second;
}

std::vector<int64_t> parseCountList(const std::string &text, const char *flag) {
  std::vector<int64_t> values;
  if (text.empty())
    return values;
  for (const std::string &item : rt::splitList(text, ',')) {
    std::optional<int64_t> value = ember::parseWholeInteger(item);
    if (!value || *value < 1)
      throw Error(std::string(flag) + " expects a comma-separated list of counts >= 1, got '" + text + "'");
    values.push_back(*value);
  }
  return values;
}

double counter(const benchmark::BenchmarkReporter::Run &run, const char *name) {
  auto it = run.counters.find(name);
  return it == run.counters.end() ? 0.0 : double(it->second);
}

std::vector<std::byte> randomTensorBytes(int64_t elements, ember::DType dtype, uint64_t seed) {
  constexpr size_t kChunk = size_t(1) << 16;
  size_t elementSize = ember::dtypeSize(dtype);
  std::vector<std::byte> bytes(size_t(elements) * elementSize);
  std::vector<float> values(kChunk);
  uint64_t state = seed * 0x9e3779b97f4a7c15ull + 1;
  for (size_t done = 0; done < size_t(elements); done += kChunk) {
    size_t count = std::min(kChunk, size_t(elements) - done);
    for (size_t i = 0; i < count; ++i) {
      state = state * 6364136223846793005ull + 1442695040888963407ull; // 64-bit LCG
      values[i] = float(int32_t(state >> 32)) * (0.1f / 2147483648.0f);
    }
    ember::convertFromFloat(values.data(), count, dtype, bytes.data() + done * elementSize);
  }
  return bytes;
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
uint64_t decoderWeightBytes(const ember::ModelConfig &config, ember::DType dtype) {
  uint64_t bytes = 0;
  for (const ember::AbiWeight &weight : ember::modelWeights(config)) {
    uint64_t elements = 1;
    for (int64_t extent : weight.shape)
      elements *= uint64_t(extent);
    bytes += elements * (weight.alwaysF32 ? 4 : ember::dtypeSize(dtype));
  }
  return bytes;
}

// <cacheDir>/checkpoints/<preset>-s<seed>-<dtype>, synthesized on first use
// into a temporary sibling that is renamed into place only when ember-synth
// succeeded (stale temporaries of interrupted runs are removed first).
std::string obtainCheckpoint(const std::string &cacheDir, const std::string &presetPath, const ember::ModelConfig &config,
                             uint64_t seed, ember::DType dtype) {
  std::string name = fs::path(presetPath).stem().string() + "-s" + std::to_string(seed) + "-" +
                     ember::dtypeLowerName(dtype);
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
                                      "--dtype", ember::dtypeLowerName(dtype), "-o", temp.string()};
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

GenerationFlags::GenerationFlags(const rt::CommandLine &args, int64_t defaultPromptLen, int64_t defaultNewTokens,
                                 const char *benchmark)
    : presetPath(ember::resolvePresetPath(args.required("--preset"), args.value("--presets-dir", EMBER_PRESETS_DIR))),
      cacheDir(rt::resolveCacheDir(args.value("--cache-dir", ""))),
      promptLen(args.integer("--prompt-len", defaultPromptLen)),
      newTokens(args.integer("--new-tokens", defaultNewTokens)),
      dtype(ember::parseDTypeLower(args.value("--dtype", "bf16"))), seed(uint64_t(args.integer("--seed", 1))),
      backend(rt::parseBackendKind(args.value("--backend", "cpu"))),
      disabledFusions(args.value("--disable-fusion", "")), cooperativeKernels(!args.has("--no-cooperative-kernels")),
      profileKernels(args.has("--profile") || args.has("--profile-json")),
      randomWeights(args.value("--weights", "checkpoint") == "random") {
  if (std::string weights = args.value("--weights", "checkpoint"); weights != "checkpoint" && weights != "random")
    throw Error("--weights must be checkpoint or random, got '" + weights + "'");
  if (!cooperativeKernels && backend == rt::BackendKind::Cpu)
    throw Error("--no-cooperative-kernels applies to GPU kernels: use it with --backend cuda");
  if (promptLen < 1)
    throw Error("--prompt-len must be at least 1");
  if (newTokens < 1)
    throw Error("--new-tokens must be at least 1");
  if (newTokens > std::numeric_limits<int64_t>::max() - promptLen)
    throw Error("--prompt-len " + std::to_string(promptLen) + " + --new-tokens " + std::to_string(newTokens) +
                " is more than 2^63 positions");
  if (dtype != ember::DType::BF16 && dtype != ember::DType::F32)
    throw Error(std::string("--dtype must be bf16 or f32 for ") + benchmark);
  rt::checkFitsContext(ember::ModelConfig::load(presetPath), promptLen + newTokens, promptLen, newTokens);
}

namespace {

std::unique_ptr<rt::Backend> openBackend(const GenerationFlags &flags) {
  std::unique_ptr<rt::Backend> backend =
      rt::makeBackend(flags.backend, [](const std::string &line) { std::cerr << line << "\n"; });
  if (flags.profileKernels)
    rt::requireKernelProfiling(*backend);
  return backend;
}

} // namespace

static std::string checkpointOf(const GenerationFlags &flags) {
  if (flags.randomWeights)
    return "";
  return obtainCheckpoint(flags.cacheDir, flags.presetPath, ember::ModelConfig::load(flags.presetPath), flags.seed,
                          flags.dtype);
}

static std::optional<rt::Checkpoint> openCheckpoint(const std::string &modelDir) {
  if (modelDir.empty())
    return std::nullopt;
  return rt::Checkpoint(modelDir);
}

static rt::ModelWeights weightsOf(const GenerationFlags &flags, const ember::ModelConfig &config,
                                  const std::optional<rt::Checkpoint> &checkpoint) {
  if (!checkpoint)
    return rt::ModelWeights::random(config, flags.dtype, flags.seed);
  return rt::ModelWeights(config, *checkpoint);
}

BenchModel::BenchModel(const GenerationFlags &flags)
    : cacheDir(flags.cacheDir), backend(openBackend(flags)), modelDir(checkpointOf(flags)),
      configPath(modelDir.empty() ? flags.presetPath : (fs::path(modelDir) / "config.json").string()),
      config(ember::ModelConfig::load(configPath)), checkpoint(openCheckpoint(modelDir)),
      weights(weightsOf(flags, config, checkpoint)), artifact(compileArtifact(compileFlagsOf(flags))) {}

std::vector<std::string> compileFlagsOf(const GenerationFlags &flags) {
  std::vector<std::string> compileFlags = fusionFlags(flags.disabledFusions);
  if (!flags.cooperativeKernels)
    compileFlags.push_back("--cooperative-kernels=false");
  return compileFlags;
}

std::vector<std::string> fusionFlags(const std::string &disabledFusions) {
  if (disabledFusions.empty())
    return {};
  return {"--disable-fusion=" + disabledFusions};
}

rt::ArtifactCache backendCache(const rt::Backend &backend, const std::string &cacheDir,
                               const std::vector<std::string> &extraFlags) {
  std::vector<std::string> compileFlags = backend.compileFlags();
  compileFlags.insert(compileFlags.end(), extraFlags.begin(), extraFlags.end());
  return rt::ArtifactCache(cacheDir, rt::defaultCompilerPath(), backend.compileTarget(), compileFlags);
}

rt::ArtifactCache::Artifact compileForBackend(const rt::Backend &backend, const std::string &cacheDir,
                                              const ember::ModelConfig &config, const std::string &configPath,
                                              ember::DType dtype, const std::vector<std::string> &extraFlags) {
  rt::ArtifactCache cache = backendCache(backend, cacheDir, extraFlags);
  if (!cache.isCached(config, dtype))
    std::cerr << "compiling the model of " << configPath << " (cache miss) ..." << std::flush;
  rt::ArtifactCache::Artifact compiled = cache.getOrCompile(config, configPath, dtype);
  if (!compiled.cacheHit)
    std::fprintf(stderr, " done in %.2f s\n", compiled.compileSeconds);
  return compiled;
}

rt::ArtifactCache::Artifact BenchModel::compileArtifact(const std::vector<std::string> &extraFlags) const {
  return compileForBackend(*backend, cacheDir, config, configPath, weights.dtype(), extraFlags);
}

void BenchModel::describe(const std::string &presetPath) const {
  std::printf("preset %s: %s, %lld layers, D=%lld, V=%lld, %lld routed + %lld zero experts (top %lld); "
              "weights %.2f GB mapped + %.2f GB copied\n",
              presetPath.c_str(), ember::dtypeLowerName(weights.dtype()), (long long)config.numLayers,
              (long long)config.hiddenSize, (long long)config.vocabSize, (long long)config.nRoutedExperts,
              (long long)config.zeroExpertNum, (long long)config.moeTopk, weights.mappedBytes() / 1e9,
              weights.copiedBytes() / 1e9);
  std::printf("checkpoint %s; artifact %s\n",
              modelDir.empty() ? "none (random weights generated as they load)" : modelDir.c_str(),
              artifact.path.c_str());
}

} // namespace ember::bench

namespace ember::bench {

std::string runCompiler(const std::vector<std::string> &arguments) {
  std::vector<std::string> command{rt::defaultCompilerPath()};
  command.insert(command.end(), arguments.begin(), arguments.end());
  std::string output;
  int status = rt::runProcess(command, rt::ChildOutput::Capture, &output);
  if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
    throw ember::Error("ember-compile failed (" + rt::describeWaitStatus(status) + "): " + rt::formatCommand(command) +
                    "\n" + output);
  return output;
}

ModelledStep modelCall(const rt::Backend &backend, const std::string &configPath, ember::DType dtype,
                       const std::vector<std::string> &extraFlags, const std::string &function, int64_t tokens,
                       int64_t position, int64_t sequences) {
  std::vector<std::string> command{"--config",
                                   configPath,
                                   "--weight-dtype",
                                   ember::dtypeLowerName(dtype),
                                   "--target",
                                   backend.compileTarget(),
                                   "--report",
                                   "--report-function=" + function,
                                   "--batch=" + std::to_string(tokens),
                                   "--report-position=" + std::to_string(position),
                                   "--report-sequences=" + std::to_string(sequences)};
  std::vector<std::string> backendFlags = backend.compileFlags();
  command.insert(command.end(), backendFlags.begin(), backendFlags.end());
  command.insert(command.end(), extraFlags.begin(), extraFlags.end());
  std::string output = runCompiler(command);
  ModelledStep step;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("kernels per decode step: ", 0) == 0)
      step.kernels = std::stoll(line.substr(25));
    if (line.rfind("decode step total: ", 0) == 0)
      step.bytes = std::stod(line.substr(19));
  }
  if (step.kernels == 0 || step.bytes == 0)
    throw ember::Error("ember-compile --report printed no kernel count or step total:\n" + output);
  return step;
}

ModelledStep modelDecodeStep(const BenchModel &model, int64_t rows, int64_t position,
                             const std::vector<std::string> &extraFlags) {
  return modelCall(*model.backend, model.configPath, model.weights.dtype(), extraFlags, ember::kStepFunction, rows,
                   position, rows);
}

nlohmann::json runPythonReference(const std::string &script, const std::vector<std::string> &args,
                                  const std::string &doing, int contextLines) {
  const std::string python = "/usr/bin/python3", name = fs::path(script).filename().string();
  if (::access(python.c_str(), X_OK) != 0)
    throw Error(python + " not found");
  if (!fs::exists(script))
    throw Error(script + " not found");
  std::vector<std::string> command{python, script};
  command.insert(command.end(), args.begin(), args.end());
  std::fprintf(stderr, "%s: %s\n", doing.c_str(), rt::formatCommand(command).c_str());
  std::string output;
  int status = rt::runProcess(command, rt::ChildOutput::Capture, &output);
  std::string context =
      "; its last output:" + std::string(contextLines > 1 ? "\n" : " ") + lastLines(output, contextLines);
  if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    if (output.find("No module named 'torch'") != std::string::npos)
      throw Error("PyTorch (torch) is not installed for " + python);
    throw Error(name + " failed (" + rt::describeWaitStatus(status) + ")" + context);
  }
  size_t line = output.rfind("\n{");
  line = line == std::string::npos ? (output.rfind('{', 0) == 0 ? 0 : std::string::npos) : line + 1;
  if (line == std::string::npos)
    throw Error(name + " printed no JSON line" + context);
  try {
    return nlohmann::json::parse(output.substr(line, output.find('\n', line) - line));
  } catch (const nlohmann::json::exception &error) {
    throw Error("cannot read " + name + "'s JSON line (" + error.what() + ")" + context);
  }
}

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

std::string threeDecimals(double value) {
  if (value <= 0)
    return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", value);
  return text;
}

BandwidthFigures bandwidthFigures(rt::Backend &backend, double bytesPerSecond) {
  double peak = backend.memoryPeakBytesPerSecond(), copy = backend.copyBytesPerSecond();
  return {threeDecimals(bytesPerSecond / 1e9), threeDecimals(peak > 0 ? bytesPerSecond / peak : 0),
          threeDecimals(copy > 0 ? bytesPerSecond / copy : 0)};
}

std::string bandwidthCeilings(rt::Backend &backend) {
  std::string text;
  char part[160];
  if (double peak = backend.memoryPeakBytesPerSecond(); peak > 0) {
    std::snprintf(part, sizeof part, ", x peak: over %s's %.0f GB/s (memory clock x bus width)", backend.name(),
                  peak / 1e9);
    text += part;
  }
  if (double copy = backend.copyBytesPerSecond(); copy > 0) {
    std::snprintf(part, sizeof part, ", x copy: over the %.0f GB/s a device-to-device copy reached in this run",
                  copy / 1e9);
    text += part;
  }
  return text;
}

} // namespace ember::bench
