// ember-bench spec: whole greedy generations on a synthesized checkpoint,
// plain and speculative (the MTP drafter on a random prompt, prompt lookup on
// a repetitive one), each speculative run next to its plain baseline.

#include "BenchSupport.h"

#include "ember/runtime/Decoder.h"
#include "ember/model/Error.h"
#include "ember/runtime/Generate.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace ember::bench {

namespace {

// A random EOS-free phrase of min(8, max(1, length / 4)) tokens repeated to
// `length` tokens: what prompt lookup is for.
std::vector<int32_t> repetitivePrompt(const ember::ModelConfig &config, int64_t length, uint64_t seed) {
  int64_t phraseLength = std::clamp<int64_t>(length / 4, 1, 8);
  std::vector<int32_t> phrase = randomPrompt(config, phraseLength, seed, /*withEos=*/false);
  std::vector<int32_t> prompt(static_cast<size_t>(length));
  for (size_t i = 0; i < prompt.size(); ++i)
    prompt[i] = phrase[i % phrase.size()];
  return prompt;
}

// One benchmark: a generation of N tokens from one prompt with one drafter.
struct Case {
  std::string name;
  std::vector<std::vector<int32_t>> prompts; // the one prompt
  rt::DrafterKind drafter;
  const Case *baseline; // the plain run on the same prompt; null for plain runs
  rt::BatchGeneration warmUp;
};

// "0.123" or, where nothing was drafted, "-".
std::string speculationFigure(const rt::SpeculationStats &stats, double value, const char *format) {
  if (stats.draftedTokens == 0)
    return "-";
  char text[32];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

void printSummary(const SummaryReporter &reporter, const std::vector<std::unique_ptr<Case>> &cases,
                  const GenerationFlags &flags, int64_t draftSteps) {
  std::printf("\n== speculative decoding summary: %s, %s weights, prompt %lld tokens, %lld new tokens per "
              "generation, %lld draft steps, batch 1 ==\n",
              fs::path(flags.presetPath).stem().c_str(), ember::dtypeLowerName(flags.dtype), (long long)flags.promptLen,
              (long long)flags.newTokens, (long long)draftSteps);
  std::printf("%-20s %10s %8s %12s %8s %16s %10s %12s %9s\n", "run", "tokens/s", "x plain", "decode tok/s",
              "x plain", "accepted/drafted", "acceptance", "accepted len", "fwd/token");
  auto tokensPerSecond = [&](const Case &c) {
    const auto *run = reporter.find(c.name);
    return run ? counter(*run, "items_per_second") : 0.0;
  };
  auto decodeTokensPerSecond = [&](const Case &c) {
    const auto *run = reporter.find(c.name);
    return run ? counter(*run, "decode_tokens_per_s") : 0.0;
  };
  auto ratio = [](double value, double base) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3f", value / base);
    return base > 0 ? std::string(text) : std::string("-");
  };
  for (const auto &c : cases) {
    if (!reporter.find(c->name))
      continue;
    const rt::SpeculationStats &stats = c->warmUp.stats;
    std::string counts = std::to_string(stats.acceptedTokens) + "/" + std::to_string(stats.draftedTokens);
    std::string overPlain = c->baseline ? ratio(tokensPerSecond(*c), tokensPerSecond(*c->baseline)) : "-";
    std::string decodeOverPlain =
        c->baseline ? ratio(decodeTokensPerSecond(*c), decodeTokensPerSecond(*c->baseline)) : "-";
    std::printf("%-20s %10.3f %8s %12.3f %8s %16s %10s %12s %9.3f\n", c->name.c_str(), tokensPerSecond(*c),
                overPlain.c_str(), decodeTokensPerSecond(*c), decodeOverPlain.c_str(),
                stats.draftedTokens ? counts.c_str() : "-",
                speculationFigure(stats, stats.acceptanceRate(), "%.3f").c_str(),
                speculationFigure(stats, stats.meanAcceptedLength(), "%.2f").c_str(),
                c->warmUp.targetForwardsPerToken());
  }
  std::printf("tokens/s: whole generations, prefill included; decode tok/s: after the prefill; x plain: over the "
              "plain run on the same prompt;\naccepted/drafted: draft tokens per generation; accepted len: mean "
              "tokens per verification (accepted drafts + 1); fwd/token: target forwards per generated token\n");
  for (const auto &c : cases) {
    if (!reporter.find(c->name))
      continue;
    int64_t generated = c->warmUp.generatedTokens();
    if (generated < flags.newTokens)
      std::printf("note: %s stopped at EOS after %lld of %lld tokens\n", c->name.c_str(), (long long)generated,
                  (long long)flags.newTokens);
    if (c->baseline && c->warmUp.sequences[0].tokens != c->baseline->warmUp.sequences[0].tokens)
      std::printf("note: %s generated other tokens than %s (speculation must not change greedy output)\n",
                  c->name.c_str(), c->baseline->name.c_str());
  }
}

} // namespace

int specMain(int argc, char **argv) {
  rt::CommandLine args(argc, argv,
                       {"--preset", "--prompt-len", "--new-tokens", "--draft-steps", "--dtype", "--seed",
                        "--cache-dir", "--presets-dir", "--backend", "--disable-fusion"},
                       {"--no-cooperative-kernels"}); // --help never gets here: benchmark::Initialize handles it
  GenerationFlags flags(args, 64, 64, "spec");
  int64_t draftSteps = args.integer("--draft-steps", 3);
  if (draftSteps < 1)
    throw Error("--draft-steps must be at least 1");

  BenchModel model(flags);
  std::optional<rt::ModelWeights> mtpWeights =
      rt::loadMtpWeights(model.config, *model.checkpoint, model.weights.dtype());
  if (!mtpWeights)
    throw Error(model.modelDir + ": the checkpoint has no MTP block (model.mtp.* tensors)");
  rt::Decoder decoder(model.config, model.weights, model.artifact.path, *model.backend,
                      {flags.promptLen + flags.newTokens, 1}, &*mtpWeights);
  model.describe(flags.presetPath);

  std::vector<int32_t> random = randomPrompt(model.config, flags.promptLen, flags.seed, /*withEos=*/false);
  std::vector<int32_t> repetitive = repetitivePrompt(model.config, flags.promptLen, flags.seed + 1);
  std::vector<std::unique_ptr<Case>> cases;
  auto add = [&](const char *name, const std::vector<int32_t> &prompt, rt::DrafterKind drafter, const Case *baseline) {
    cases.push_back(std::make_unique<Case>(Case{name, {prompt}, drafter, baseline, {}}));
    return cases.back().get();
  };
  const Case *plainRandom = add("BM_Plain/random", random, rt::DrafterKind::None, nullptr);
  add("BM_Mtp/random", random, rt::DrafterKind::Mtp, plainRandom);
  const Case *plainRepetitive = add("BM_Plain/repetitive", repetitive, rt::DrafterKind::None, nullptr);
  add("BM_Ngram/repetitive", repetitive, rt::DrafterKind::Ngram, plainRepetitive);

  rt::GenerationOptions options;
  options.maxNewTokens = flags.newTokens;
  options.draftSteps = draftSteps;
  for (const auto &c : cases) {
    rt::GenerationOptions caseOptions = options;
    caseOptions.drafter = c->drafter;
    // Untimed warm-up (page faults of the mapped weights, first touch of the
    // caches); errors surface here, not inside the benchmark. Greedy
    // generation is deterministic, so its stats are every iteration's.
    c->warmUp = rt::generate(decoder, c->prompts, caseOptions);
    benchmark::RegisterBenchmark(c->name.c_str(), [&decoder, &run = *c, caseOptions](benchmark::State &state) {
      int64_t tokens = 0, decodeTokens = 0;
      double decodeSeconds = 0;
      rt::SpeculationStats stats;
      for (auto _ : state) {
        rt::BatchGeneration generation = rt::generate(decoder, run.prompts, caseOptions);
        tokens += generation.generatedTokens();
        decodeTokens += generation.decodeTokens();
        decodeSeconds += generation.decodeSeconds;
        stats.add(generation.stats);
      }
      state.SetItemsProcessed(tokens);
      auto iterations = double(state.iterations());
      state.counters["tokens"] = double(tokens) / iterations; // per generation
      state.counters["decode_tokens_per_s"] = decodeSeconds > 0 ? double(decodeTokens) / decodeSeconds : 0.0;
      state.counters["acceptance"] = stats.acceptanceRate();
      state.counters["mean_accepted_len"] = stats.meanAcceptedLength();
      state.counters["forwards_per_token"] = tokens ? double(stats.targetForwards) / double(tokens) : 0.0;
    })->UseRealTime()->Unit(benchmark::kMillisecond);
  }

  SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  printSummary(reporter, cases, flags, draftSteps);
  return 0;
}

} // namespace ember::bench
