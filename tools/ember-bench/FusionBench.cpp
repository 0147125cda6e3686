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

#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace ember::bench {

namespace {

struct Variant {
  std::string name;               // benchmark name suffix
  std::vector<std::string> flags; // ember-compile flags (none = all on)
  std::unique_ptr<rt::Decoder> decoder;
  ModelledStep step;
};

} // namespace

int fusionMain(int argc, char **argv) {
  rt::CommandLine args(argc, argv,
                       {"--preset", "--prompt-len", "--new-tokens", "--dtype", "--seed", "--cache-dir",
                        "--presets-dir", "--backend"},
                       {}); // --help never gets here: benchmark::Initialize handles it
  GenerationFlags flags(args, 32, 32, "fusion");
  BenchModel model(flags);
  model.describe(flags.presetPath);

  std::vector<std::unique_ptr<Variant>> variants;
  auto add = [&](std::string name, std::vector<std::string> flags) {
    variants.push_back(std::make_unique<Variant>(Variant{std::move(name), std::move(flags), nullptr, {}}));
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
    variant->step = modelDecodeStep(model, 1, meanPosition, variant->flags);
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
  std::printf("\n== fusion summary: %s, %s weights, %s decode at batch 1, prompt %lld tokens ==\n",
              fs::path(flags.presetPath).stem().c_str(), ember::dtypeLowerName(flags.dtype), model.backend->name(),
              (long long)flags.promptLen);
  std::printf("%-22s %8s %14s %9s %12s %9s %9s %7s %7s %14s %9s\n", "build", "kernels", "modelled MB", "x all-on",
              "decode tok/s", "x all-on", "GB/s", "x peak", "x copy", "prefill tok/s", "x all-on");
  for (const auto &variant : variants) {
    double decode = tokensPerSecond("BM_Decode", *variant), prefill = tokensPerSecond("BM_Prefill", *variant);
    // One step per token at batch 1.
    BandwidthFigures bandwidth = bandwidthFigures(*model.backend, decode * variant->step.bytes);
    std::printf("%-22s %8lld %14.3f %9.3f %12s %9s %9s %7s %7s %14s %9s\n", variant->name.c_str(),
                (long long)variant->step.kernels, variant->step.bytes / 1e6, variant->step.bytes / base.step.bytes,
                threeDecimals(decode).c_str(), ratio(decode, baseDecode).c_str(), bandwidth.gigabytesPerSecond.c_str(),
                bandwidth.ofPeak.c_str(), bandwidth.ofCopy.c_str(), threeDecimals(prefill).c_str(),
                ratio(prefill, basePrefill).c_str());
  }
  std::printf("kernels and modelled bytes: one decode step (ember_step) from ember-compile --report --target %s at "
              "batch 1 and position %lld (the mean decode step's); GB/s: modelled bytes x decode steps/s%s",
              model.backend->compileTarget(), (long long)meanPosition, bandwidthCeilings(*model.backend).c_str());
  std::printf("; tokens/s: compiled decode (one token per step) and prefill (the prompt in one call)%s\n",
              std::string(model.backend->name()) == "cpu" ? ", 1 thread" : "");
  return 0;
}

} // namespace ember::bench
