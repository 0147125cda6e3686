// ember-run: runs a compiled model on prompts — prefill and generation with
// the KV cache (greedy or sampled, plain or speculative), or only the n-gram
// embedding — and dumps or summarises the result (no MLIR in this binary: the artifact comes from the
// cache, compiled by ember-compile on a miss).

#include "Prompt.h"
#include "Report.h"
#include "ToolArtifact.h"

#include "ember/runtime/ArtifactCache.h"
#include "ember/runtime/GenerationConfig.h"
#include "ember/runtime/Tokenizer.h"
#include "ember/runtime/AtomicFile.h"
#include "ember/runtime/Backend.h"
#include "ember/runtime/CommandLine.h"
#include "ember/runtime/Decoder.h"
#include "ember/model/Error.h"
#include "ember/model/Parsing.h"
#include "ember/runtime/Generate.h"
#include "ember/runtime/KernelProfile.h"
#include "ember/runtime/ModelWeights.h"
#include "ember/runtime/NgramEmbedding.h"
#include "ember/runtime/Npy.h"
#include "ember/runtime/ProgressLine.h"
#include "ember/runtime/Safetensors.h"

#include <array>
#include <filesystem>
#include <functional>
#include <iostream>
#include <optional>

#include <unistd.h>

namespace fs = std::filesystem;
using namespace ember;
using ember::tools::obtainArtifact;

namespace {

constexpr char kUsage[] = R"(usage: ember-run --model DIR (--prompt TEXT | --prompt-file F | --prompt-ids IDS |
                             --messages F) [--chat] [options]

Runs the model in DIR (config.json + safetensors) on one or more prompts:
prefill, then generation with the KV cache for --max-new-tokens tokens
(stopping early at eos_token_id, which is included), plain or speculative.
Speculation never changes the output: greedy output equals plain greedy
output, sampled output has the target's distribution. The compiled artifact
is taken from the cache, or compiled with the ember-compile next to this
binary on a miss. Prints a summary (tokens, weights, artifact, timings,
output statistics, generated ids) to stdout and, for speculative runs, one
stats line to stderr. Config, prompts, flags, context limit and checkpoint
are all checked before anything is compiled.

options:
  --model DIR              model directory with config.json and model.safetensors
                           or model.safetensors.index.json (required)
  --prompt TEXT            the prompt as text, tokenized with DIR/tokenizer.json
                           (byte-level BPE, as HF tokenizers with its BOS); the
                           generated text streams to stdout as it comes (one
                           sequence, without --json)
  --prompt-file F          the same, read from file F
  --prompt-ids IDS         the prompt as comma-separated token ids, e.g.
                           1,5,9,2,7; several prompts separated by ';' (e.g.
                           "1,5;9,2,7") run at once, one sequence slot each;
                           ids in [0, vocab_size), each prompt non-empty
  --chat                   the text prompt is the user's message: rendered
                           with the generation prompt through DIR's chat
                           template (chat_template.jinja, else the
                           chat_template of tokenizer_config.json), as HF's
                           apply_chat_template does, then tokenized without
                           the tokenizer's BOS (the template writes its own)
  --system TEXT            with --chat: a system message before the prompt
  --messages F             the whole conversation, rendered as --chat renders
                           the prompt: a JSON list of {"role", "content"}
                           messages (OpenAI's form) in file F
                           (one of the four prompt flags is required)
  --batch N                sequence slots (default: the number of prompts); a
                           single prompt is repeated N times; with several
                           prompts, N at most their number: the prompts
                           queue for the slots and each takes one as it
                           comes free (continuous batching). Every step runs
                           the rows of all running sequences in one call
  --arrivals S             comma-separated, one per prompt: prompt i joins
                           once S_i steps have run (default: all at once);
                           what a prompt generates does not depend on it
  --max-new-tokens N       tokens to generate per sequence, stopping earlier at
                           EOS; 0: prefill only (default: generation_config.json's
                           max_new_tokens, else 128, cut to what the context holds)
  --max-context N          positions the KV cache holds (default 4096; at most
                           max_position_embeddings); prompt + N - 1 must fit
  --prefill-chunk N        prefill N tokens per call (default 0: the whole prompt
                           at once); the next chunk's n-gram embedding then
                           runs on a second thread (on CUDA, a second stream)
                           during this chunk's layers
  --temperature T          0: greedy; > 0: sample from softmax(logits/T)
                           (default: generation_config.json's temperature with
                           do_sample, else 0)
  --top-k K                sample among the K most likely tokens only (default:
                           generation_config.json's top_k, else 0: all)
  --top-p P                sample from the smallest set with mass >= P (default:
                           generation_config.json's top_p, else 1)
  --min-p P                sample among tokens at least P times as likely as the
                           most likely one (default: generation_config.json's
                           min_p, else 0)
  --repetition-penalty R   HF's repetition_penalty, greedy or sampled: logits of
                           tokens already in the sequence (prompt included) are
                           divided by R when positive, multiplied when negative;
                           R > 1 discourages repeats (default: generation_config
                           .json's repetition_penalty, else 1: none)
  --stop S                 stop a sequence once its text contains S (or any string
                           of a JSON list, '["a","b"]'); the text ends before it;
                           needs DIR/tokenizer.json; a streamed text holds back
                           what may begin a stop string until it cannot
  --ignore-eos             generate --max-new-tokens tokens whatever they are:
                           EOS does not end a sequence (fixed lengths, e.g. to
                           compare with ember-serve's ignore_eos)
  --logprobs               "logprobs" in --json: each generated token's log-
                           probability under the model (log_softmax of its logits)
  --seed S                 sampling seed (default 0); sequence i uses S + i
  --speculative MODE       none (default), mtp (the checkpoint's MTP block drafts
                           autoregressively) or ngram (prompt lookup: continues
                           the latest earlier match of the last tokens)
  --draft-steps K          tokens drafted per verification (default 3)
  --backend B              auto (default: CUDA when a driver and a device exist,
                           else the CPU, saying so), cpu or cuda
  --tables P               where the word embedding and the n-gram tables live:
                           host (default: pinned host memory that kernels read
                           over the bus, a few rows per token) or device; the
                           other weights are device memory (on the CPU all of
                           it is host memory)
  --fp8-weights MODE       an FP8 checkpoint's quantized weights (quantization_config
                           in config.json): dequantize (default: into bf16 as
                           they load) or kernels (kept in F8_E4M3 with their
                           block scales, half the bytes, and dequantized inside
                           the kernels; the artifact is compiled with
                           --weight-dtype f8e4m3; on CUDA only one thread per
                           output reads them so far, docs/gpu.md)
  --cuda-graphs on|off     on CUDA, run a call of up to 128 rows (a decode step)
                           as one CUDA graph launch from its second time on
                           instead of launching each kernel (default on)
  --dump-logits FILE       write the float32 [T, vocab_size] prefill logits as .npy
  --dump-step-logits FILE  write float32 [n, vocab_size] as .npy: row i holds the
                           logits generated token i was chosen from (row 0 = the
                           last prefill row)
  --dump-mtp-logits FILE   write float32 [T-1, vocab_size] as .npy: the MTP
                           drafter's logits for prompt tokens 1..T-1 paired
                           with the target's hidden states of positions 0..T-2
  --dump-embeddings FILE   write the float32 [T, hidden_size] n-gram-enhanced input
                           embeddings as .npy
  --dump-ngram-ids FILE    write the int32 [T, E] table-local n-gram ids as .npy
  --embeddings-only        run only the n-gram embedding (no decoder; checks only
                           the embedding tensors); for --dump-embeddings and
                           --dump-ngram-ids
  (the --dump-* flags need a single sequence; every output path is checked
  before the run: its folder must exist, and it must not be a folder, a
  device or other special file, nor a read-only file unless --force)
  --force                  replace read-only output files
  --check-weights          scan every tensor of the checkpoint for NaN and Inf,
                           list those that hold any and exit (1 if some do);
                           generation itself stops with an error at the first
                           non-finite logits, after re-running the sequence
                           with a diagnostic build (ember-compile
                           --check-finite, cached like the model) to name the
                           first layer and op whose output held NaN or Inf
                           (not with --artifact)
  --profile                time every kernel launch on the device (needs the cuda
                           backend) and, after the run, print one row per ember op
                           to stderr: function, op #index, launches, total ms,
                           mean us, modelled MB (the kernel manifest's traffic
                           model at each launch's call rows and start position;
                           '-' when not modelled), achieved GB/s and % of the
                           memory peak, longest total first, then a total row;
                           printed even with --quiet. The times are device times
                           from CUDA events recorded around each launch on its
                           stream; the events slow the run itself down
  --profile-json FILE      time the launches as --profile does and write the same
                           table as JSON to FILE (alone, it prints no table):
                           {"device", "memory_peak_bytes_per_s", "timing", "ops":
                           [{"function", "op", "op_index", "launches", "total_ms",
                           "mean_us", "modelled_bytes", "achieved_bytes_per_s",
                           "percent_of_peak"}, ...], "total": {...}}
  --json                   instead of the summary, print one JSON object as the
                           last stdout line: {"generated_ids": [...] (first
                           sequence), "prompt_tokens": T, "sequences":
                           [{"prompt_tokens", "generated_ids", "text",
                           "finish_reason", "logprobs",
                           "time_to_first_token_s"}, ...], "stats": {"load_s",
                           "time_to_first_token_s" (the first sequence's),
                           "decode_s", "steps", "decode_tokens_per_s",
                           "prefill_s",
                           "prefill_tokens_per_s", "speculative", "draft_steps",
                           "target_forwards", "target_forwards_per_token",
                           "drafted_tokens", "accepted_tokens",
                           "acceptance_rate", "mean_accepted_length"}}
  --artifact FILE          use this compiled artifact instead of the cache
  --cache-dir D            artifact cache (default: $EMBER_CACHE_DIR, else
                           $XDG_CACHE_HOME/ember, else $HOME/.cache/ember)
  --quiet                  no progress, no stats line and no summary (a cache
                           miss still shows ember-compile's one-line report)
  --help                   print this help
)";

// Without --max-new-tokens or generation_config.json's max_new_tokens.
constexpr int64_t kDefaultMaxNewTokens = 128;

// The MTP drafter's logits for prompt tokens 1..T-1, each paired with the
// target's hidden state of the position before (--dump-mtp-logits).
std::vector<float> promptDraftLogits(rt::Decoder &decoder, const std::vector<int32_t> &prompt) {
  int64_t width = decoder.config().hiddenSize;
  rt::DecoderOutput target = decoder.prefill(0, prompt);
  std::vector<float> hidden(target.hidden.begin(), target.hidden.end() - width);
  return decoder.draft(rt::StepRows::of(0, {prompt.begin() + 1, prompt.end()}, 0), hidden).logits;
}

// --check-weights: every tensor of the checkpoint scanned for NaN and Inf.
int checkWeights(const std::string &modelDir) {
  rt::Checkpoint checkpoint(modelDir);
  std::vector<std::string> bad = rt::nonFiniteTensors(checkpoint);
  for (const std::string &line : bad)
    std::cout << line << "\n";
  std::cout << modelDir << ": " << bad.size() << " of " << checkpoint.names().size()
            << " tensors hold NaN or Inf\n";
  return bad.empty() ? 0 : 1;
}

// --arrivals: one step count per prompt; empty without the flag.
std::vector<int64_t> readArrivals(const rt::CommandLine &args, size_t prompts) {
  std::vector<int64_t> arrivals;
  if (!args.has("--arrivals"))
    return arrivals;
  for (const std::string &item : rt::splitList(args.value("--arrivals", ""), ',')) {
    std::optional<int64_t> steps = parseWholeInteger(item);
    if (!steps || *steps < 0)
      throw Error("--arrivals: item " + std::to_string(arrivals.size() + 1) + " ('" + item +
                  "') is not a step count (a whole number >= 0)");
    arrivals.push_back(*steps);
  }
  if (arrivals.size() != prompts)
    throw Error("--arrivals gives " + std::to_string(arrivals.size()) + " steps for " + std::to_string(prompts) +
                " prompts");
  return arrivals;
}

int runMain(int argc, char **argv) {
  rt::CommandLine args(argc, argv,
                       {"--model", "--prompt-ids", "--prompt", "--prompt-file", "--batch", "--arrivals", "--max-new-tokens",
                        "--max-context", "--prefill-chunk", "--temperature", "--min-p", "--repetition-penalty", "--stop",
                        "--top-k", "--top-p", "--seed", "--speculative", "--draft-steps", "--backend", "--tables",
                        "--cuda-graphs", "--fp8-weights", "--dump-logits", "--dump-step-logits", "--dump-mtp-logits",
                        "--dump-embeddings", "--dump-ngram-ids", "--artifact", "--cache-dir", "--profile-json",
                        "--system", "--messages"},
                       {"--embeddings-only", "--json", "--quiet", "--profile", "--force", "--check-weights",
                        "--logprobs", "--ignore-eos", "--chat", "--help"});
  if (args.has("--help")) {
    std::cout << kUsage;
    return 0;
  }
  auto loadStart = std::chrono::steady_clock::now();
  std::string modelDir = args.required("--model");
  if (args.has("--check-weights"))
    return checkWeights(modelDir);
  // Outputs are checked before anything is compiled or generated: a bad
  // path fails now, not after the run.
  for (const char *flag : {"--dump-logits", "--dump-step-logits", "--dump-mtp-logits", "--dump-embeddings",
                           "--dump-ngram-ids", "--profile-json"})
    if (args.has(flag))
      rt::checkOutputPath(args.value(flag, ""), flag, args.has("--force"));
  bool quiet = args.has("--quiet"), json = args.has("--json"), embeddingsOnly = args.has("--embeddings-only");
  bool textPrompt = hasTextPrompt(args);
  std::optional<rt::Tokenizer> tokenizer = loadTokenizer(modelDir, textPrompt || args.has("--stop"), quiet);
  rt::GenerationConfig generationConfig = rt::readGenerationConfig(modelDir);
  std::vector<std::vector<int32_t>> prompts = readPrompts(args, modelDir, tokenizer ? &*tokenizer : nullptr);
  bool profile = args.has("--profile") || args.has("--profile-json");
  for (const char *flag : {"--max-new-tokens", "--dump-logits", "--dump-step-logits", "--dump-mtp-logits", "--json",
                           "--speculative", "--batch", "--arrivals", "--temperature", "--profile", "--profile-json"})
    if (embeddingsOnly && args.has(flag))
      throw Error(std::string("--embeddings-only runs no decoder, so ") + flag + " cannot be used with it");
  auto batch = int64_t(args.integer("--batch", int64_t(prompts.size())));
  if (batch < 1)
    throw Error("--batch must be at least 1, got " + std::to_string(batch));
  if (prompts.size() != 1 && batch > int64_t(prompts.size()))
    throw Error("--batch " + std::to_string(batch) + " is more than the " + std::to_string(prompts.size()) +
                " prompts given with --prompt-ids");
  for (const char *flag :
       {"--dump-logits", "--dump-step-logits", "--dump-mtp-logits", "--dump-embeddings", "--dump-ngram-ids"})
    if (batch > 1 && args.has(flag))
      throw Error(std::string(flag) + " needs a single sequence, got " + std::to_string(batch));
  const std::vector<int32_t> tokens = prompts.front(); // a copy: prompts grows to the batch below
  bool wantEmbeddings = embeddingsOnly || args.has("--dump-embeddings") || args.has("--dump-ngram-ids");
  int64_t maxContext = args.integer("--max-context", rt::kDefaultMaxContext);
  int64_t prefillChunk = args.integer("--prefill-chunk", 0);
  if (prefillChunk < 0)
    throw ember::Error("--prefill-chunk must be >= 0 (0: the whole prompt in one call), got " +
                    std::to_string(prefillChunk));
  rt::GenerationOptions options;
  options.maxNewTokens =
      args.integer("--max-new-tokens", generationConfig.maxNewTokens.value_or(kDefaultMaxNewTokens));
  options.sampling.temperature = args.number("--temperature", generationConfig.defaultTemperature());
  options.sampling.topK = args.integer("--top-k", generationConfig.topK.value_or(0));
  options.sampling.topP = args.number("--top-p", generationConfig.topP.value_or(1));
  options.sampling.minP = args.number("--min-p", generationConfig.minP.value_or(0));
  options.sampling.repetitionPenalty =
      args.number("--repetition-penalty", generationConfig.repetitionPenalty.value_or(1));
  options.stopStrings = stopStrings(args);
  options.tokenizer = tokenizer ? &*tokenizer : nullptr;
  options.logprobs = args.has("--logprobs");
  options.ignoreEos = args.has("--ignore-eos");
  options.sampling.seed = uint64_t(args.integer("--seed", 0));
  options.drafter = rt::parseDrafterKind(args.value("--speculative", "none"));
  options.draftSteps = args.integer("--draft-steps", 3);
  options.keepStepLogits = args.has("--dump-step-logits");
  rt::validateSampling(options.sampling);
  if (options.draftSteps < 1)
    throw Error("--draft-steps must be at least 1, got " + std::to_string(options.draftSteps));
  if (args.has("--dump-mtp-logits") && tokens.size() < 2)
    throw Error("--dump-mtp-logits needs a prompt of at least 2 tokens, got " + std::to_string(tokens.size()));
  rt::BackendKind backendKind = rt::parseBackendKind(args.value("--backend", "auto"));
  rt::Placement tables = rt::parsePlacement(args.value("--tables", "host"), "--tables");
  bool cudaGraphs = rt::parseOnOff(args.value("--cuda-graphs", "on"), "--cuda-graphs");
  std::string fp8Weights = args.value("--fp8-weights", "dequantize");
  if (fp8Weights != "dequantize" && fp8Weights != "kernels")
    throw Error("--fp8-weights must be dequantize or kernels, got '" + fp8Weights + "'");

  std::string configPath = (fs::path(modelDir) / "config.json").string();
  ember::ModelConfig config = ember::ModelConfig::load(configPath);
  if (fp8Weights == "kernels" && !config.fp8)
    throw Error("--fp8-weights kernels needs an FP8 checkpoint, and " + configPath + " has no quantization_config");
  if (maxContext > config.maxPositionEmbeddings && args.has("--max-context") && !quiet)
    std::fprintf(stderr, "note: --max-context %lld exceeds the model's max_position_embeddings; the KV cache holds %lld "
                         "positions\n",
                 (long long)maxContext, (long long)rt::contextLimit(config, maxContext));
  rt::addEosTokens(generationConfig, config);
  // A default max-new-tokens is cut to what the context holds (the last
  // token needs no position); a given one that does not fit is an error.
  if (!args.has("--max-new-tokens"))
    for (const std::vector<int32_t> &prompt : prompts)
      options.maxNewTokens = std::min(
          options.maxNewTokens, std::max<int64_t>(rt::contextLimit(config, maxContext) - int64_t(prompt.size()) + 1, 0));
  for (const std::vector<int32_t> &prompt : prompts) {
    rt::validateTokens(prompt, config.vocabSize);
    if (!embeddingsOnly)
      rt::checkFitsContext(config, maxContext, int64_t(prompt.size()), options.maxNewTokens);
  }
  rt::Checkpoint checkpoint(modelDir);
  // Every decoder weight unless --embeddings-only, and the n-gram runner's
  // embedding weights for --dump-embeddings / --dump-ngram-ids.
  std::optional<rt::ModelWeights> modelWeights, mtpWeights;
  std::optional<rt::NgramWeights> ngramWeights;
  if (!embeddingsOnly) {
    // First: it lists every missing tensor.
    if (fp8Weights == "kernels")
      modelWeights.emplace(config, checkpoint, DType::F8E4M3);
    else
      modelWeights.emplace(config, checkpoint);
    bool needDrafter = options.drafter == rt::DrafterKind::Mtp || args.has("--dump-mtp-logits");
    if (needDrafter && !(mtpWeights = rt::loadMtpWeights(config, checkpoint, modelWeights->dtype())))
      throw Error(modelDir + ": the checkpoint has no MTP block (model.mtp.* tensors), which " +
                  (args.has("--dump-mtp-logits") ? "--dump-mtp-logits" : "--speculative mtp") + " needs");
  }
  if (wantEmbeddings)
    ngramWeights.emplace(config, checkpoint);

  auto notice = [&](const std::string &line) {
    if (!quiet)
      std::cerr << line << "\n";
  };
  // The n-gram runner calls its artifact with host memory: CPU only.
  if (embeddingsOnly)
    backendKind = rt::BackendKind::Cpu;
  std::unique_ptr<rt::Backend> backend = rt::makeBackend(backendKind, notice);
  if (profile)
    backend->setKernelProfiling(true); // before any compilation: refused on the CPU
  if (wantEmbeddings && !backend->hostAccessible())
    throw Error(std::string("--dump-embeddings and --dump-ngram-ids run on the CPU backend only, not ") +
                backend->name() + "; add --backend cpu");
  // Before one prompt becomes `batch` copies: a batch no memory holds is
  // refused here, with its sizes, not by the allocator.
  if (!embeddingsOnly) {
    bool drafter = options.drafter == rt::DrafterKind::Mtp || args.has("--dump-mtp-logits");
    rt::sequenceStateBytes(config, maxContext, batch, drafter, backend->memoryCapacityBytes());
  }
  if (prompts.size() == 1 && batch > 1)
    prompts.resize(size_t(batch), prompts.front());
  std::vector<int64_t> arrivals = readArrivals(args, prompts.size());
  Report report{modelDir, config, prompts};
  report.tokenizer = tokenizer ? &*tokenizer : nullptr;
  report.backend = backend->name();
  report.dtype = modelWeights ? modelWeights->dtype() : ngramWeights->dtype;
  report.zeroCopyTables =
      modelWeights ? modelWeights->weights()[1].buffer.isZeroCopy() : ngramWeights->tables.isZeroCopy();
  report.artifactPath =
      obtainArtifact(args, config, configPath, report.dtype, *backend, quiet, report.artifactDescription);

  if (wantEmbeddings) {
    rt::NgramEmbeddingRunner runner(config, std::move(*ngramWeights), report.artifactPath);
    report.embeddings.emplace(tokens.size() * size_t(config.hiddenSize));
    report.ngramIds.emplace(tokens.size() * size_t(config.numNgramTables()));
    auto start = std::chrono::steady_clock::now();
    runner.run(tokens, report.embeddings->data(), report.ngramIds->data());
    report.embeddingSeconds = secondsSince(start);
  }
  auto length = int64_t(tokens.size());
  // Written as they come, committed together at the end: a failed run
  // leaves none of them.
  std::vector<std::unique_ptr<rt::AtomicOutputFile>> outputs;
  if (!embeddingsOnly) {
    rt::DecoderOptions decoderOptions{maxContext, batch, prefillChunk, tables};
    decoderOptions.cudaGraphs = cudaGraphs;
    decoderOptions.checkedArtifact =
        tools::diagnosticArtifact(args, config, configPath, report.dtype, *backend, quiet);
    rt::Decoder decoder(config, *modelWeights, report.artifactPath, *backend, decoderOptions,
                        mtpWeights ? &*mtpWeights : nullptr);
    report.context = decoder.context();
    report.weightBytes = decoder.weightBytes();
    report.dequantizedBytes = modelWeights->dequantizedBytes() + (mtpWeights ? mtpWeights->dequantizedBytes() : 0);
    report.loadSeconds = secondsSince(loadStart);
    if (args.has("--dump-mtp-logits"))
      outputs.push_back(rt::stageNpy(args.value("--dump-mtp-logits", ""), promptDraftLogits(decoder, tokens).data(),
                                     {length - 1, config.vocabSize}));
    // A text prompt's one sequence streams its text (which shows progress
    // better than the progress line).
    bool streaming = textPrompt && prompts.size() == 1 && !json && !quiet;
    std::optional<rt::TextStream> stream;
    if (streaming) {
      stream.emplace(*tokenizer, /*skipSpecialTokens=*/true, options.stopStrings);
      options.onToken = [&](int64_t, int32_t token, double) { std::cout << stream->push(token) << std::flush; };
    }
    rt::GenerationProgressLine progress(options.maxNewTokens * int64_t(prompts.size()),
                                        quiet || streaming ? nullptr : stderr, isatty(fileno(stderr)) == 1);
    report.generation = rt::generate(decoder, prompts, options, std::ref(progress), arrivals);
    report.graphs = decoder.graphCounts();
    progress.finish();
    if (streaming)
      std::cout << stream->finish() << "\n\n";
    report.options = options;
  }

  if (args.has("--dump-logits"))
    outputs.push_back(
        rt::stageNpy(args.value("--dump-logits", ""), report.first().prefillLogits.data(), {length, config.vocabSize}));
  if (args.has("--dump-step-logits"))
    outputs.push_back(rt::stageNpy(args.value("--dump-step-logits", ""), report.first().chosenFrom.data(),
                                   {int64_t(report.first().tokens.size()), config.vocabSize}));
  if (args.has("--dump-embeddings"))
    outputs.push_back(
        rt::stageNpy(args.value("--dump-embeddings", ""), report.embeddings->data(), {length, config.hiddenSize}));
  if (args.has("--dump-ngram-ids"))
    outputs.push_back(rt::stageNpy(args.value("--dump-ngram-ids", ""), report.ngramIds->data(),
                                   {length, config.numNgramTables()}));
  if (report.generation && options.drafter != rt::DrafterKind::None && !quiet)
    std::cerr << speculationLine(report) << "\n";
  if (json)
    // Generated bytes that are not valid UTF-8 become U+FFFD, as HF decodes them.
    std::cout << generationJson(report).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  else if (!quiet)
    printSummary(report);
  if (profile) {
    rt::KernelProfile kernels = backend->takeKernelProfile();
    if (args.has("--profile"))
      std::cerr << rt::formatKernelProfile(kernels);
    if (args.has("--profile-json")) {
      outputs.push_back(std::make_unique<rt::AtomicOutputFile>(args.value("--profile-json", "")));
      std::string text = rt::kernelProfileJson(kernels).dump(2) + "\n";
      outputs.back()->write(text.data(), text.size());
    }
  }
  for (std::unique_ptr<rt::AtomicOutputFile> &output : outputs)
    output->commit();
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  return rt::runTool("ember-run", [&] { return runMain(argc, argv); });
}
