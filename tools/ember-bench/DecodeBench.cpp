// ember-bench decode: batch-1 greedy decode steps of the whole model on a
// synthesized checkpoint against the PyTorch eager reference
// (test/reference/decode_bench.py, run as a subprocess).

#include "BenchSupport.h"

#include "ember/runtime/Decoder.h"
#include "ember/runtime/Error.h"
#include "ember/runtime/Process.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <optional>

#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace ember::bench {

using rt::Error;

namespace {

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

} // namespace

int decodeMain(int argc, char **argv) {
  rt::CommandLine args(argc, argv,
                       {"--preset", "--prompt-len", "--new-tokens", "--dtype", "--seed", "--threads", "--cache-dir",
                        "--presets-dir", "--backend", "--disable-fusion"},
                       {"--no-reference"}); // --help never gets here: benchmark::Initialize handles it
  GenerationFlags flags(args, 32, 32, "decode");
  int64_t promptLen = flags.promptLen, newTokens = flags.newTokens;
  int64_t threads = args.integer("--threads", 1);
  if (threads < 1)
    throw Error("--threads must be at least 1");
  bool reference = !args.has("--no-reference");

  double emberTokensPerSecond = 0, emberPrefillSeconds = 0;
  std::string preset = fs::path(flags.presetPath).stem().string(), modelDir;
  {
    BenchModel model(flags);
    modelDir = model.modelDir;
    const rt::ModelConfig &config = model.config;
    rt::Decoder decoder(config, model.weights, model.artifact.path, *model.backend, {promptLen + newTokens, 1});
    std::vector<int32_t> prompt = randomPrompt(config, promptLen, flags.seed, /*withEos=*/false);

    // Warm-up (page faults of the mapped weights, first-touch of the caches),
    // then the timed prefill; errors surface here, not inside the benchmark.
    decoder.prefill(0, prompt);
    auto prefillStart = std::chrono::steady_clock::now();
    rt::DecoderOutput output = decoder.prefill(0, prompt);
    emberPrefillSeconds = secondsSince(prefillStart);
    const int64_t vocab = config.vocabSize;
    int32_t next = rt::greedyToken(output.logits.data() + (promptLen - 1) * vocab, vocab);
    int64_t position = promptLen;

    model.describe(flags.presetPath);
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
              preset.c_str(), rt::dtypeLowerName(flags.dtype), (long long)promptLen, (long long)newTokens);
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

} // namespace ember::bench
