// ember-bench fusion: decode and prefill with every fusion on, with all off,
// with each one off alone, and with the MoE groups unpadded
// (--moe-rows-per-tile=1), on one synthesized checkpoint in one run. For
// each: decode and prefill tokens/s (Google Benchmark), and from
// `ember-compile --report` the kernels of a decode step and their modelled
// bytes; each as a ratio to the all-on build measured in the same run. The
// modelled bytes times decode steps/s give the achieved bandwidth, also as
// a fraction of the device memory's peak where the backend knows it (CUDA).

#include "BenchSupport.h"

#include "ember/runtime/Decoder.h"
#include "ember/runtime/Error.h"
#include "ember/runtime/Process.h"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>

namespace fs = std::filesystem;

namespace ember::bench {

using rt::Error;

namespace {

struct Variant {
  std::string name;               // benchmark name suffix
  std::vector<std::string> flags; // ember-compile flags (none = all on)
  std::unique_ptr<rt::Decoder> decoder;
  int64_t kernels = 0;
  double modelledBytes = 0;
};

// Runs ember-compile (next to this binary) and returns its stdout.
std::string runCompiler(const std::vector<std::string> &arguments) {
  std::vector<std::string> command{rt::defaultCompilerPath()};
  command.insert(command.end(), arguments.begin(), arguments.end());
  std::string output;
  int status = rt::runProcess(command, rt::ChildOutput::Capture, &output);
  if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
    throw Error("ember-compile failed (" + rt::describeWaitStatus(status) + "): " + rt::formatCommand(command) +
                "\n" + output);
  return output;
}

// "kernels per decode step: N" and "decode step total: B bytes" of the report.
void readReport(const std::string &report, Variant &variant) {
  std::istringstream lines(report);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("kernels per decode step: ", 0) == 0)
      variant.kernels = std::stoll(line.substr(25));
    if (line.rfind("decode step total: ", 0) == 0)
      variant.modelledBytes = std::stod(line.substr(19));
  }
  if (variant.kernels == 0 || variant.modelledBytes == 0)
    throw Error("ember-compile --report printed no kernel count or step total:\n" + report);
}

} // namespace

int fusionMain(int argc, char **argv) {
  rt::CommandLine args(argc, argv,
                       {"--preset", "--prompt-len", "--new-tokens", "--dtype", "--seed", "--cache-dir",
                        "--presets-dir", "--backend"},
                       {}); // --help never gets here: benchmark::Initialize handles it
  GenerationFlags flags(args, 32, 32, "fusion");
  BenchModel model(flags);
  model.describe(flags.presetPath);
  std::string configPath = (fs::path(model.modelDir) / "config.json").string();

  std::vector<std::unique_ptr<Variant>> variants;
  auto add = [&](std::string name, std::vector<std::string> flags) {
    variants.push_back(std::make_unique<Variant>(Variant{std::move(name), std::move(flags), nullptr}));
  };
  add("all-on", {});
  add("all-off", fusionFlags("all"));
  std::string names = runCompiler({"--list-fusions"});
  std::istringstream list(names.substr(0, names.find('\n')));
  for (std::string name; std::getline(list, name, ',');)
    add("without-" + name, fusionFlags(name));
  add("moe-untiled", {"--moe-rows-per-tile=1"});

  const int64_t vocab = model.config.vocabSize, positions = flags.promptLen + flags.newTokens;
  const int64_t meanPosition = flags.promptLen + (flags.newTokens - 1) / 2;
  std::vector<int32_t> prompt = randomPrompt(model.config, flags.promptLen, flags.seed, /*withEos=*/false);
  for (auto &variant : variants) {
    rt::ArtifactCache::Artifact artifact = model.compileArtifact(variant->flags);
    variant->decoder = std::make_unique<rt::Decoder>(model.config, model.weights, artifact.path, *model.backend,
                                                     rt::DecoderOptions{positions, 1});
    // The KV cache the mean decode step reads.
    std::vector<std::string> report{"--config", configPath, "--weight-dtype", rt::dtypeLowerName(flags.dtype),
                                    "--report", "--report-position=" + std::to_string(meanPosition)};
    report.insert(report.end(), variant->flags.begin(), variant->flags.end());
    readReport(runCompiler(report), *variant);
    rt::Decoder &decoder = *variant->decoder;
    benchmark::RegisterBenchmark(("BM_Decode/" + variant->name).c_str(), [&decoder, &prompt, vocab, positions,
                                                                          promptLen = flags.promptLen](
                                                                             benchmark::State &state) {
      rt::DecoderOutput output = decoder.prefill(0, prompt); // untimed: the first token and a warm cache
      int32_t next = rt::greedyToken(output.logits.data() + (promptLen - 1) * vocab, vocab);
      int64_t position = promptLen;
      for (auto _ : state) {
        if (position >= positions) { // context full: start over from the prompt
          state.PauseTiming();
          output = decoder.prefill(0, prompt);
          next = rt::greedyToken(output.logits.data() + (promptLen - 1) * vocab, vocab);
          position = promptLen;
          state.ResumeTiming();
        }
        next = rt::greedyToken(decoder.step(0, {next}, position++).logits.data(), vocab);
      }
      state.SetItemsProcessed(state.iterations());
    })->UseRealTime()->Unit(benchmark::kMillisecond);
    // The prompt's prefill: the MoE's expert rows come in groups there.
    benchmark::RegisterBenchmark(("BM_Prefill/" + variant->name).c_str(),
                                 [&decoder, &prompt](benchmark::State &state) {
                                   for (auto _ : state)
                                     benchmark::DoNotOptimize(decoder.prefill(0, prompt).logits.data());
                                   state.SetItemsProcessed(state.iterations() * int64_t(prompt.size()));
                                 })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }

  SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  const Variant &base = *variants.front();
  auto tokensPerSecond = [&](const std::string &benchmark, const Variant &variant) {
    const auto *run = reporter.find(benchmark + "/" + variant.name);
    return run ? counter(*run, "items_per_second") : 0.0;
  };
  auto ratio = [](double value, double baseValue) {
    return baseValue > 0 && value > 0 ? std::to_string(value / baseValue).substr(0, 5) : std::string("-");
  };
  double baseDecode = tokensPerSecond("BM_Decode", base), basePrefill = tokensPerSecond("BM_Prefill", base);
  const double peak = model.backend->memoryPeakBytesPerSecond();
  std::printf("\n== fusion summary: %s, %s weights, %s decode at batch 1, prompt %lld tokens ==\n",
              fs::path(flags.presetPath).stem().c_str(), rt::dtypeLowerName(flags.dtype), model.backend->name(),
              (long long)flags.promptLen);
  auto figure = [](double value) {
    if (value <= 0)
      return std::string("-"); // not run: --benchmark_filter left it out
    char text[32];
    std::snprintf(text, sizeof text, "%.3f", value);
    return std::string(text);
  };
  std::printf("%-22s %8s %14s %9s %12s %9s %9s %7s %14s %9s\n", "build", "kernels", "modelled MB", "x all-on",
              "decode tok/s", "x all-on", "GB/s", "x peak", "prefill tok/s", "x all-on");
  for (const auto &variant : variants) {
    double decode = tokensPerSecond("BM_Decode", *variant), prefill = tokensPerSecond("BM_Prefill", *variant);
    double bandwidth = decode * variant->modelledBytes; // one step per token at batch 1
    std::printf("%-22s %8lld %14.3f %9.3f %12s %9s %9s %7s %14s %9s\n", variant->name.c_str(),
                (long long)variant->kernels, variant->modelledBytes / 1e6,
                variant->modelledBytes / base.modelledBytes, figure(decode).c_str(),
                ratio(decode, baseDecode).c_str(), figure(bandwidth / 1e9).c_str(),
                peak > 0 ? figure(bandwidth / peak).c_str() : "-", figure(prefill).c_str(),
                ratio(prefill, basePrefill).c_str());
  }
  std::printf("kernels and modelled bytes: one decode step (ember_step) from ember-compile --report at batch 1 "
              "and position %lld (the mean decode step's); GB/s: modelled bytes x decode steps/s",
              (long long)meanPosition);
  if (peak > 0)
    std::printf(", x peak: over %s's %.0f GB/s (memory clock x bus width)", model.backend->name(), peak / 1e9);
  std::printf("; tokens/s: compiled decode (one token per step) and prefill (the prompt in one call)%s\n",
              std::string(model.backend->name()) == "cpu" ? ", 1 thread" : "");
  return 0;
}

} // namespace ember::bench
