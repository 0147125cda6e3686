// ember-run: runs a compiled model on a prompt — prefill and greedy
// generation with the KV cache, or only the n-gram embedding — and dumps or
// summarises the result (no MLIR in this binary: the artifact comes from the
// cache, compiled by ember-compile on a miss).

#include "Report.h"

#include "ember/runtime/ArtifactCache.h"
#include "ember/runtime/CommandLine.h"
#include "ember/runtime/Decoder.h"
#include "ember/runtime/Error.h"
#include "ember/runtime/ModelWeights.h"
#include "ember/runtime/NgramEmbedding.h"
#include "ember/runtime/Npy.h"

#include <array>
#include <filesystem>
#include <functional>
#include <iostream>
#include <limits>
#include <optional>

namespace fs = std::filesystem;
using namespace ember;
using rt::Error;

namespace {

constexpr char kUsage[] = R"(usage: ember-run --model DIR --prompt-ids IDS [options]

Runs the model in DIR (config.json + safetensors) on a prompt: prefill, then
greedy generation with the KV cache for --max-new-tokens tokens (stopping
early at eos_token_id, which is included). The compiled CPU artifact is taken
from the cache, or compiled with the ember-compile next to this binary on a
miss. Prints a summary (tokens, weights, artifact, timings, output statistics,
generated ids) to stdout. Config, prompt, context limit and checkpoint are
all checked before anything is compiled.

options:
  --model DIR              model directory with config.json and model.safetensors
                           or model.safetensors.index.json (required)
  --prompt-ids IDS         comma-separated token ids, e.g. 1,5,9,2,7; each in
                           [0, vocab_size) (required, non-empty)
  --max-new-tokens N       tokens to generate greedily (default 0: prefill only)
  --max-context N          positions the KV cache holds (default 4096; at most
                           max_position_embeddings); prompt + N - 1 must fit
  --dump-logits FILE       write the float32 [T, vocab_size] prefill logits as .npy
  --dump-step-logits FILE  write float32 [n, vocab_size] as .npy: row i holds the
                           logits generated token i was chosen from (row 0 = the
                           last prefill row)
  --dump-embeddings FILE   write the float32 [T, hidden_size] n-gram-enhanced input
                           embeddings as .npy
  --dump-ngram-ids FILE    write the int32 [T, E] table-local n-gram ids as .npy
  --embeddings-only        run only the n-gram embedding (no decoder; checks only
                           the embedding tensors); for --dump-embeddings and
                           --dump-ngram-ids
  --json                   instead of the summary, print one JSON object as the
                           last stdout line: {"generated_ids": [...],
                           "prompt_tokens": T, "stats": {"decode_s",
                           "decode_tokens_per_s", "prefill_s",
                           "prefill_tokens_per_s"}}
  --artifact FILE          use this compiled artifact instead of the cache
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

// The artifact named by --artifact, else the cached one (compiled on a miss).
std::string obtainArtifact(const rt::CommandLine &args, const rt::ModelConfig &config, const std::string &configPath,
                           rt::DType dtype, bool quiet, std::string &description) {
  if (args.has("--artifact")) {
    description = "given with --artifact";
    return args.value("--artifact", "");
  }
  rt::ArtifactCache cache(rt::resolveCacheDir(args.value("--cache-dir", "")), rt::defaultCompilerPath());
  if (!quiet && !cache.isCached(config, dtype))
    std::cerr << "compiling the model of " << fs::path(configPath).parent_path().string() << " (cache miss) ..."
              << std::flush;
  rt::ArtifactCache::Artifact artifact = cache.getOrCompile(config, configPath, dtype);
  if (!quiet && !artifact.cacheHit)
    std::fprintf(stderr, " done in %.2f s\n", artifact.compileSeconds);
  char text[64];
  std::snprintf(text, sizeof text, "cache miss, compiled in %.2f s", artifact.compileSeconds);
  description = artifact.cacheHit ? "cache hit" : text;
  return artifact.path;
}

int runMain(int argc, char **argv) {
  rt::CommandLine args(argc, argv,
                       {"--model", "--prompt-ids", "--max-new-tokens", "--max-context", "--dump-logits",
                        "--dump-step-logits", "--dump-embeddings", "--dump-ngram-ids", "--artifact", "--cache-dir"},
                       {"--embeddings-only", "--json", "--quiet", "--help"});
  if (args.has("--help")) {
    std::cout << kUsage;
    return 0;
  }
  std::string modelDir = args.required("--model");
  std::vector<int32_t> tokens = parsePromptIds(args.required("--prompt-ids"));
  bool quiet = args.has("--quiet"), json = args.has("--json"), embeddingsOnly = args.has("--embeddings-only");
  for (const char *flag : {"--max-new-tokens", "--dump-logits", "--dump-step-logits", "--json"})
    if (embeddingsOnly && args.has(flag))
      throw Error(std::string("--embeddings-only runs no decoder, so ") + flag + " cannot be used with it");
  bool wantEmbeddings = embeddingsOnly || args.has("--dump-embeddings") || args.has("--dump-ngram-ids");
  int64_t maxNewTokens = args.integer("--max-new-tokens", 0);
  int64_t maxContext = args.integer("--max-context", rt::kDefaultMaxContext);

  std::string configPath = (fs::path(modelDir) / "config.json").string();
  rt::ModelConfig config = rt::ModelConfig::load(configPath);
  rt::validateTokens(tokens, config.vocabSize);
  if (!embeddingsOnly)
    rt::checkFitsContext(config, maxContext, int64_t(tokens.size()), maxNewTokens);
  rt::Checkpoint checkpoint(modelDir);
  // Either every decoder weight (the n-gram runner shares its buffers) or,
  // with --embeddings-only, just the embedding weights.
  std::optional<rt::ModelWeights> modelWeights;
  std::optional<rt::NgramWeights> ngramWeights;
  std::array<rt::TensorView, 3> ngramViews;
  if (embeddingsOnly) {
    ngramWeights.emplace(config, checkpoint);
  } else {
    modelWeights.emplace(config, checkpoint);
    ngramViews = modelWeights->ngramEmbeddingViews();
    if (wantEmbeddings)
      ngramWeights.emplace(config, ngramViews[0], ngramViews[1], ngramViews[2]);
  }

  Report report{modelDir, config, tokens};
  report.dtype = modelWeights ? modelWeights->dtype() : ngramWeights->dtype;
  report.mappedBytes = modelWeights ? modelWeights->mappedBytes() : 0;
  report.copiedBytes = modelWeights ? modelWeights->copiedBytes() : 0;
  report.zeroCopyTables =
      modelWeights ? modelWeights->weights()[1].buffer.isZeroCopy() : ngramWeights->tables.isZeroCopy();
  report.artifactPath = obtainArtifact(args, config, configPath, report.dtype, quiet, report.artifactDescription);

  if (wantEmbeddings) {
    rt::NgramEmbeddingRunner runner(config, std::move(*ngramWeights), report.artifactPath);
    report.embeddings.emplace(tokens.size() * size_t(config.hiddenSize));
    report.ngramIds.emplace(tokens.size() * size_t(config.numNgramTables()));
    auto start = std::chrono::steady_clock::now();
    runner.run(tokens, report.embeddings->data(), report.ngramIds->data());
    report.embeddingSeconds = secondsSince(start);
  }
  if (!embeddingsOnly) {
    rt::Decoder decoder(config, *modelWeights, report.artifactPath, maxContext);
    report.context = decoder.context();
    GenerationProgressLine progress(maxNewTokens, quiet);
    report.generation = rt::generateGreedy(decoder, tokens, maxNewTokens, std::ref(progress));
    progress.finish();
  }

  auto length = int64_t(tokens.size());
  if (args.has("--dump-logits"))
    rt::writeNpy(args.value("--dump-logits", ""), report.generation->prefillLogits.data(), {length, config.vocabSize});
  if (args.has("--dump-step-logits"))
    rt::writeNpy(args.value("--dump-step-logits", ""), report.generation->chosenFrom.data(),
                 {int64_t(report.generation->tokens.size()), config.vocabSize});
  if (args.has("--dump-embeddings"))
    rt::writeNpy(args.value("--dump-embeddings", ""), report.embeddings->data(), {length, config.hiddenSize});
  if (args.has("--dump-ngram-ids"))
    rt::writeNpy(args.value("--dump-ngram-ids", ""), report.ngramIds->data(), {length, config.numNgramTables()});
  if (json)
    std::cout << generationJson(*report.generation).dump() << "\n";
  else if (!quiet)
    printSummary(report);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  return rt::runTool("ember-run", [&] { return runMain(argc, argv); });
}
