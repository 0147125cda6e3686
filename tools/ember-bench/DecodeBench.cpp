// ember-bench decode: greedy decode steps of the whole model at batch B on a
// synthesized checkpoint against the PyTorch eager reference
// (test/reference/decode_bench.py, run as a subprocess). A step of the batch
// is one ember_step of B rows, next to B single-sequence steps as the
// baseline; with --compare-tables on a device, also the step with the
// word embedding and n-gram tables in the other placement (host or device
// memory). The reference runs B sequences as one batched forward.

#include "BenchSupport.h"

#include "ember/model/Error.h"
#include "ember/runtime/AtomicFile.h"
#include "ember/runtime/Decoder.h"
#include "ember/runtime/KernelProfile.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <optional>

namespace fs = std::filesystem;

namespace ember::bench {

namespace {

struct ReferenceResult {
  bool ok = false;
  std::string message; // why not, when !ok
  double decodeTokensPerSecond = 0, prefillSeconds = 0;
  int threads = 0;
  std::string prefillImpl;
};

ReferenceResult runReference(const std::string &checkpoint, int64_t promptLen, int64_t newTokens, int64_t batch,
                             int64_t threads) {
  ReferenceResult result;
  try {
    nlohmann::json json = runPythonReference(
        std::string(EMBER_SOURCE_DIR) + "/test/reference/decode_bench.py",
        {"--model", checkpoint, "--prompt-len", std::to_string(promptLen), "--new-tokens", std::to_string(newTokens),
         "--batch", std::to_string(batch), "--threads", std::to_string(threads)},
        "running the PyTorch reference", 10);
    if (json["decode_tokens_per_s"].is_null())
      throw Error("decode_tokens_per_s is null (--new-tokens 1 has no decode step)");
    if (json.value("batch", int64_t(1)) != batch)
      throw Error("it ran batch " + json["batch"].dump() + ", not " + std::to_string(batch));
    result.decodeTokensPerSecond = json["decode_tokens_per_s"].get<double>();
    result.prefillSeconds = json["prefill_s"].get<double>();
    result.threads = json.value("threads", 0);
    result.prefillImpl = json.value("prefill_impl", "");
    result.ok = true;
  } catch (const nlohmann::json::exception &error) {
    result.message = std::string("cannot read decode_bench.py's JSON line (") + error.what() + ")";
  } catch (const Error &error) {
    result.message = error.what();
  }
  return result;
}

// What one batch size measured, for the summary.
struct BatchFigures {
  int64_t batch = 0;
  double tokensPerSecond = 0, singleStepsTokensPerSecond = 0, otherTablesTokensPerSecond = 0,
         launchedTokensPerSecond = 0;
  std::string bandwidthLine;
  std::optional<ReferenceResult> reference;
};

// "BM_EmberDecodeStep" for the only batch, "BM_EmberDecodeStep/B8" in a list.
std::string benchmarkName(const char *base, int64_t batch, bool several) {
  return several ? std::string(base) + "/B" + std::to_string(batch) : std::string(base);
}

// The summary of one batch: ember's tokens/s (per sequence too), the ratio
// to single-sequence steps and to the other placement of the tables, the
// modelled bandwidth, and the PyTorch reference.
void printSummary(const BatchFigures &f, const std::string &preset, const GenerationFlags &flags,
                  const std::string &where, double emberPrefillSeconds, int64_t prefilledSlots, rt::Placement tables,
                  rt::Placement otherTables) {
  // tokens/s count every sequence's tokens; ms/token is its inverse, and
  // prefill is that of all the slots' prompts.
  std::printf("\n== decode summary: %s, %s weights, prompt %lld tokens, %lld decode steps per prefill, batch %lld ==\n",
              preset.c_str(), ember::dtypeLowerName(flags.dtype), (long long)flags.promptLen,
              (long long)flags.newTokens, (long long)f.batch);
  std::printf("ember (%s):  decode %8.3f tokens/s (%.2f ms/token), prefill %.4f s\n", where.c_str(), f.tokensPerSecond,
              1e3 / f.tokensPerSecond, emberPrefillSeconds);
  if (f.batch > 1)
    std::printf("ember per sequence: %.3f tokens/s (a step of %lld rows every %.2f ms)\n", f.tokensPerSecond / f.batch,
                (long long)f.batch, 1e3 * f.batch / f.tokensPerSecond);
  if (f.singleStepsTokensPerSecond > 0)
    std::printf("ember batched step (one ember_step of %lld rows) / %lld single-sequence steps: %.3gx (%.3f tokens/s "
                "single)\n",
                (long long)f.batch, (long long)f.batch, f.tokensPerSecond / f.singleStepsTokensPerSecond,
                f.singleStepsTokensPerSecond);
  if (f.otherTablesTokensPerSecond > 0)
    std::printf("ember tables in %s memory / in %s memory: %.3gx (%.3f tokens/s with them in %s memory)\n",
                rt::placementName(tables), rt::placementName(otherTables),
                f.tokensPerSecond / f.otherTablesTokensPerSecond, f.otherTablesTokensPerSecond,
                rt::placementName(otherTables));
  if (f.launchedTokensPerSecond > 0)
    std::printf("ember step as a CUDA graph / launching each kernel: %.3gx (%.3f tokens/s launching)\n",
                f.tokensPerSecond / f.launchedTokensPerSecond, f.launchedTokensPerSecond);
  std::printf("%s", f.bandwidthLine.c_str());
  if (!f.reference) {
    std::printf("PyTorch reference: not run (%s)\n",
                flags.randomWeights ? "--weights random: it reads a checkpoint" : "--no-reference");
  } else if (!f.reference->ok) {
    std::printf("PyTorch reference: unavailable: %s\n", f.reference->message.c_str());
  } else {
    const ReferenceResult &pytorch = *f.reference;
    std::printf("PyTorch eager (f32, %d thread%s):   decode %8.3f tokens/s (%.2f ms/token), prefill %.4f s (%s)\n",
                pytorch.threads, pytorch.threads == 1 ? "" : "s", pytorch.decodeTokensPerSecond,
                1e3 / pytorch.decodeTokensPerSecond, pytorch.prefillSeconds, pytorch.prefillImpl.c_str());
    // ember's prefill was timed for the largest batch of a list only.
    if (f.batch == prefilledSlots)
      std::printf("ratio ember/PyTorch: decode %.3g, prefill speed %.3g\n",
                  f.tokensPerSecond / pytorch.decodeTokensPerSecond, pytorch.prefillSeconds / emberPrefillSeconds);
    else
      std::printf("ratio ember/PyTorch: decode %.3g, prefill speed - (ember's prefill was timed for batch %lld)\n",
                  f.tokensPerSecond / pytorch.decodeTokensPerSecond, (long long)prefilledSlots);
  }
}

} // namespace

int decodeMain(int argc, char **argv) {
  rt::CommandLine args(argc, argv,
                       {"--preset", "--prompt-len", "--new-tokens", "--batch", "--dtype", "--seed", "--threads",
                        "--cache-dir", "--presets-dir", "--backend", "--disable-fusion", "--profile-json", "--tables",
                        "--weights", "--cuda-graphs"},
                       {"--no-reference", "--profile", "--no-cooperative-kernels", "--compare-tables", "--compile-only",
                        "--force"}); // --help never gets here: benchmark::Initialize handles it
  // Before any work: a bad --profile-json fails now, not after the benchmark.
  if (args.has("--profile-json"))
    rt::checkOutputPath(args.value("--profile-json", ""), "--profile-json", args.has("--force"));
  GenerationFlags flags(args, 32, 32, "decode");
  int64_t promptLen = flags.promptLen, newTokens = flags.newTokens;
  int64_t threads = args.integer("--threads", 1);
  if (threads < 1)
    throw Error("--threads must be at least 1");
  std::vector<int64_t> batches = parseCountList(args.value("--batch", "1"), "--batch");
  if (batches.empty())
    throw Error("--batch needs at least one batch size");
  const bool several = batches.size() > 1;
  const int64_t slots = *std::max_element(batches.begin(), batches.end());
  bool reference = !args.has("--no-reference") && !flags.randomWeights;
  rt::Placement tables = rt::parsePlacement(args.value("--tables", "host"), "--tables");
  rt::Placement otherTables = tables == rt::Placement::Host ? rt::Placement::Device : rt::Placement::Host;
  rt::DecoderOptions decoderOptions{0, slots, 0, tables};
  decoderOptions.cudaGraphs = rt::parseOnOff(args.value("--cuda-graphs", "on"), "--cuda-graphs");

  double emberPrefillSeconds = 0;
  std::vector<BatchFigures> figures;
  std::optional<rt::KernelProfile> kernelProfile;
  std::string preset = fs::path(flags.presetPath).stem().string(), modelDir, where;
  {
    BenchModel model(flags);
    if (args.has("--compile-only")) {
      std::printf("%s\n", model.artifact.path.c_str());
      return 0;
    }
    modelDir = model.modelDir;
    where = std::string(model.backend->name()) == "cpu" ? "compiled CPU, 1 thread" : model.backend->name();
    const ember::ModelConfig &config = model.config;
    if (args.has("--compare-tables") && model.backend->hostAccessible())
      throw Error(std::string("--compare-tables needs a device: on the ") + model.backend->name() +
                  " backend both placements are host memory");
    // One decoder for every batch of the list: the weights load once.
    auto loadStart = std::chrono::steady_clock::now();
    decoderOptions.maxContext = promptLen + newTokens;
    rt::Decoder decoder(config, model.weights, model.artifact.path, *model.backend, decoderOptions);
    // Loading the whole model (137 GB in bf16) takes a while: say how long.
    rt::Decoder::WeightBytes loaded = decoder.weightBytes();
    double loadSeconds = secondsSince(loadStart);
    std::fprintf(stderr, "weights loaded in %.1f s: %.2f GB device, %.2f GB host, %.2f GB mapped (%.2f GB/s)\n",
                 loadSeconds, loaded.device / 1e9, loaded.host / 1e9, loaded.mapped / 1e9,
                 (loaded.device + loaded.host) / 1e9 / loadSeconds);
    std::optional<rt::Decoder> otherDecoder;
    if (args.has("--compare-tables")) {
      rt::DecoderOptions otherOptions = decoderOptions;
      otherOptions.tables = otherTables;
      otherDecoder.emplace(config, model.weights, model.artifact.path, *model.backend, otherOptions);
    }
    // One prompt per slot (slot 0's is the batch-1 prompt), all of length P,
    // so the slots advance in lockstep: every slot is at `position`.
    std::vector<std::vector<int32_t>> prompts;
    for (int64_t slot = 0; slot < slots; ++slot)
      prompts.push_back(randomPrompt(config, promptLen, flags.seed + uint64_t(slot), /*withEos=*/false));
    const int64_t vocab = config.vocabSize;
    std::vector<int32_t> next(size_t(slots), 0);
    int64_t position = promptLen;
    auto prefillAll = [&](rt::Decoder &decoder, int64_t batch) {
      for (int64_t slot = 0; slot < batch; ++slot) {
        rt::DecoderOutput output = decoder.prefill(slot, prompts[size_t(slot)]);
        next[size_t(slot)] = rt::greedyToken(output.logits.data() + (promptLen - 1) * vocab, vocab);
      }
      position = promptLen;
    };

    // Warm-up (page faults of the mapped weights, first-touch of the caches),
    // then the timed prefill; errors surface here, not inside the benchmark.
    prefillAll(decoder, slots);
    auto prefillStart = std::chrono::steady_clock::now();
    prefillAll(decoder, slots);
    emberPrefillSeconds = secondsSince(prefillStart);

    model.describe(flags.presetPath);
    if (slots == 1)
      std::printf("ember prefill of %lld tokens: %.4f s (%.4g tokens/s)\n", (long long)promptLen,
                  emberPrefillSeconds, promptLen / emberPrefillSeconds);
    else
      std::printf("ember prefill of %lld x %lld tokens (one slot after another): %.4f s (%.4g tokens/s)\n",
                  (long long)slots, (long long)promptLen, emberPrefillSeconds, slots * promptLen / emberPrefillSeconds);
    std::fflush(stdout);

    // One decode step of a batch: one ember_step over a row per slot (the
    // weights read once), or, as the baseline, a single-sequence step per slot.
    auto decodeStep = [&](rt::Decoder &decoder, int64_t batch) {
      rt::StepRows rows;
      for (int64_t slot = 0; slot < batch; ++slot)
        rows.append(slot, {next[size_t(slot)]}, position);
      rt::DecoderOutput stepOutput = decoder.step(rows);
      for (int64_t slot = 0; slot < batch; ++slot)
        next[size_t(slot)] = rt::greedyToken(stepOutput.logits.data() + slot * vocab, vocab);
      ++position;
    };
    // The same step with every kernel launched from the host: the baseline
    // of CUDA graphs.
    auto launchedStep = [&](rt::Decoder &decoder, int64_t batch) {
      decoder.setCudaGraphs(false);
      decodeStep(decoder, batch);
      decoder.setCudaGraphs(decoderOptions.cudaGraphs);
    };
    auto singleSteps = [&](rt::Decoder &decoder, int64_t batch) {
      for (int64_t slot = 0; slot < batch; ++slot) {
        rt::DecoderOutput stepOutput = decoder.step(slot, {next[size_t(slot)]}, position);
        next[size_t(slot)] = rt::greedyToken(stepOutput.logits.data(), vocab);
      }
      ++position;
    };
    // Each benchmark starts from the prompts in its own decoder.
    using Step = std::function<void(rt::Decoder &, int64_t)>;
    auto registerSteps = [&](const std::string &name, rt::Decoder &decoder, int64_t batch, const Step &step) {
      benchmark::RegisterBenchmark(name.c_str(),
                                   [&, batch, step](benchmark::State &state) {
                                     prefillAll(decoder, batch);
                                     for (auto _ : state) {
                                       if (position >= decoder.context()) { // context full: start over from the prompts
                                         state.PauseTiming();
                                         prefillAll(decoder, batch);
                                         state.ResumeTiming();
                                       }
                                       step(decoder, batch);
                                     }
                                     state.SetItemsProcessed(state.iterations() * batch);
                                   })
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    };
    for (int64_t batch : batches) {
      registerSteps(benchmarkName("BM_EmberDecodeStep", batch, several), decoder, batch, decodeStep);
      if (batch > 1)
        registerSteps(benchmarkName("BM_EmberSingleSteps", batch, several), decoder, batch, singleSteps);
      if (otherDecoder)
        registerSteps(benchmarkName("BM_EmberDecodeStepOtherTables", batch, several), *otherDecoder, batch, decodeStep);
      if (decoderOptions.cudaGraphs && !model.backend->hostAccessible())
        registerSteps(benchmarkName("BM_EmberDecodeStepLaunched", batch, several), decoder, batch, launchedStep);
    }

    SummaryReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();
    for (int64_t batch : batches) {
      BatchFigures batchFigures{batch};
      auto measured = [&](const char *base) {
        const auto *run = reporter.find(benchmarkName(base, batch, several));
        return run ? counter(*run, "items_per_second") : 0.0;
      };
      batchFigures.tokensPerSecond = measured("BM_EmberDecodeStep");
      if (batchFigures.tokensPerSecond <= 0)
        throw Error(benchmarkName("BM_EmberDecodeStep", batch, several) + " did not run (check --benchmark_filter)");
      batchFigures.singleStepsTokensPerSecond = measured("BM_EmberSingleSteps");
      batchFigures.otherTablesTokensPerSecond = measured("BM_EmberDecodeStepOtherTables");
      batchFigures.launchedTokensPerSecond = measured("BM_EmberDecodeStepLaunched");
      // A step is one call of `batch` rows, a row per sequence; the steps'
      // positions average that of the middle one.
      // A GPU bundle has no ember-compile: the figures are left out, not the run.
      const int64_t meanPosition = promptLen + (newTokens - 1) / 2;
      try {
        ModelledStep step = modelDecodeStep(model, batch, meanPosition, compileFlagsOf(flags));
        BandwidthFigures bandwidth =
            bandwidthFigures(*model.backend, batchFigures.tokensPerSecond / batch * step.bytes);
        char line[512];
        std::snprintf(line, sizeof line,
                      "ember decode over the modelled bytes: %s GB/s, x peak %s, x copy %s (%.3f MB and %lld kernels "
                      "per step from ember-compile --report --target %s at position %lld%s)\n",
                      bandwidth.gigabytesPerSecond.c_str(), bandwidth.ofPeak.c_str(), bandwidth.ofCopy.c_str(),
                      step.bytes / 1e6, (long long)step.kernels, model.backend->compileTarget(),
                      (long long)meanPosition, bandwidthCeilings(*model.backend).c_str());
        batchFigures.bandwidthLine = line;
      } catch (const Error &error) {
        std::string reason = error.what();
        batchFigures.bandwidthLine =
            "ember decode over the modelled bytes: not modelled (" + reason.substr(0, reason.find('\n')) + ")\n";
      }
      figures.push_back(batchFigures);
    }
    if (rt::GraphCounts graphs = decoder.graphCounts(); graphs.captured)
      std::fprintf(stderr, "cuda graphs: %lld captured, %lld calls launched as one (--cuda-graphs off: none)\n",
                   (long long)graphs.captured, (long long)graphs.launched);
    // Apart from the benchmark, whose times the events would slow: N decode
    // steps of the largest batch after a prefill that is not profiled.
    if (flags.profileKernels) {
      prefillAll(decoder, slots);
      model.backend->setKernelProfiling(true);
      while (position < decoder.context())
        decodeStep(decoder, slots);
      model.backend->setKernelProfiling(false);
      kernelProfile = model.backend->takeKernelProfile();
    }
  }

  for (BatchFigures &batchFigures : figures) {
    if (reference)
      batchFigures.reference = runReference(modelDir, promptLen, newTokens, batchFigures.batch, threads);
    printSummary(batchFigures, preset, flags, where, emberPrefillSeconds, slots, tables, otherTables);
  }
  if (kernelProfile && args.has("--profile"))
    std::printf("\n%lld decode steps of batch %lld at positions %lld..%lld, after the benchmark: %s",
                (long long)newTokens, (long long)slots, (long long)promptLen, (long long)(promptLen + newTokens - 1),
                rt::formatKernelProfile(*kernelProfile).c_str());
  if (kernelProfile && args.has("--profile-json"))
    rt::writeKernelProfileJson(args.value("--profile-json", ""), *kernelProfile);
  return 0;
}

} // namespace ember::bench
