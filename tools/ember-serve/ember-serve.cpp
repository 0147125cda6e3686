// ember-serve: an OpenAI-compatible HTTP server over the continuous-
// batching runtime. It compiles the model (or takes it from the artifact
// cache), loads it, and serves /v1/completions and /v1/chat/completions
// (streamed or not), /v1/models, /health and /metrics until SIGTERM or
// SIGINT, which drain the requests in flight first.

#include "Engine.h"
#include "Server.h"
#include "ToolArtifact.h"

#include "ember/model/Error.h"
#include "ember/runtime/Backend.h"
#include "ember/runtime/CommandLine.h"
#include "ember/runtime/Decoder.h"
#include "ember/runtime/ModelWeights.h"
#include "ember/runtime/Safetensors.h"

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include <pthread.h>

namespace fs = std::filesystem;
using namespace ember;

namespace {

constexpr char kUsage[] = R"(usage: ember-serve --model DIR [--host H] [--port N] [options]

Serves the model in DIR (config.json, safetensors, tokenizer.json) over an
OpenAI-compatible HTTP API. Requests join one continuous batch: each takes a
sequence slot when one is free, and every decoder step runs the rows of all
running requests in one call. A request generates the same tokens as
ember-run with the same prompt, options and seed, whatever it shares steps
with. SIGTERM or SIGINT: new requests get 503, those in flight finish, then
the server exits 0 (a second signal exits 1 at once).

endpoints:
  POST /v1/completions       {"prompt": text or token ids, ...}
  POST /v1/chat/completions  {"messages": [{"role", "content"}, ...], ...},
                             rendered by DIR's chat template
      both take model, max_tokens (max_completion_tokens), temperature,
      top_p, top_k, min_p, repetition_penalty, stop, seed, n (1), logprobs,
      stream (server-sent events ending with "data: [DONE]"),
      stream_options.include_usage, and vLLM's return_token_ids (the
      generated ids with the text) and ignore_eos. Options ember does not implement (echo, suffix,
      penalties other than repetition_penalty, logit_bias, tools,
      response_format other than text, top alternatives in logprobs) are
      refused with 422, not ignored. Without max_tokens: generation_config
      .json's max_new_tokens (else 128), cut to what the context holds.
      Without temperature, top_p, ...: generation_config.json's values.
      Without seed: a random one.
  GET /v1/models, GET /health (503 while draining), GET /metrics (Prometheus)
  errors: {"error": {"message", "type", "param", "code"}} with 400 (bad
  JSON, missing prompt, prompt too long for the context), 404 (unknown
  route or model), 413 (body over --max-body-bytes), 422 (a field of the
  wrong type or range), 429 (every slot busy and the queue full), 503
  (shutting down). A failure after the response started (non-finite logits)
  ends the body or the stream with the error object.

options:
  --model DIR              model directory (required)
  --served-model-name S    the model's name in requests and responses
                           (default: DIR's last component)
  --host H                 address to listen on (default 127.0.0.1)
  --port N                 port (default 8000; 0: any free port); the
                           address is printed to stderr once serving
  --batch N                sequence slots: requests decoding at once (default 8)
  --max-queue N            requests waiting for a slot beyond those in one
                           (default 64); more get 429
  --max-context N          positions each slot's KV cache holds (default 4096)
  --prefill-chunk N        prefill prompts N tokens per step (default 0: whole)
  --speculative MODE       none (default), mtp or ngram, for every request
  --draft-steps K          tokens drafted per verification (default 3)
  --backend B              auto (default), cpu or cuda
  --tables P               host (default) or device: where the n-gram tables live
  --cuda-graphs on|off     replay decode steps as CUDA graphs (default on)
  --max-body-bytes N       largest request body (default 1048576)
  --read-timeout S         seconds a connection may take to send its request
                           (slow or half-open ones are closed; default 30)
  --threads N              connections served at once (default: slots +
                           queue + 16); a streaming response holds one
  --artifact FILE          use this compiled artifact instead of the cache
  --cache-dir D            artifact cache (default: $EMBER_CACHE_DIR, else
                           $XDG_CACHE_HOME/ember, else $HOME/.cache/ember)
  --quiet                  print only the listening address and errors
  --help                   print this help
)";

// A positive whole-number flag.
int64_t positive(const rt::CommandLine &args, const char *flag, int64_t fallback, int64_t min = 1) {
  int64_t value = args.integer(flag, fallback);
  if (value < min)
    throw Error(std::string(flag) + " must be at least " + std::to_string(min) + ", got " + std::to_string(value));
  return value;
}

// The chat template, when the model has one.
std::optional<rt::ChatTemplate> chatTemplate(const std::string &modelDir, bool quiet) {
  try {
    return rt::ChatTemplate::fromModelDir(modelDir);
  } catch (const Error &error) {
    if (!quiet)
      std::cerr << "note: " << error.what() << "; /v1/chat/completions answers 400\n";
    return std::nullopt;
  }
}

int serveMain(int argc, char **argv) {
  rt::CommandLine args(argc, argv,
                       {"--model", "--served-model-name", "--host", "--port", "--batch", "--max-queue", "--max-context",
                        "--prefill-chunk", "--speculative", "--draft-steps", "--backend", "--tables", "--cuda-graphs",
                        "--max-body-bytes", "--read-timeout", "--threads", "--artifact", "--cache-dir"},
                       {"--quiet", "--help"});
  if (args.has("--help")) {
    std::cout << kUsage;
    return 0;
  }
  // Signals go to the thread that waits for them, not to the HTTP threads.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGTERM);
  sigaddset(&stopSignals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);
  std::signal(SIGPIPE, SIG_IGN); // a client that left is a failed write, not a signal

  std::string modelDir = args.required("--model");
  bool quiet = args.has("--quiet");
  int64_t port = args.integer("--port", 8000);
  if (port < 0 || port > 65535)
    throw Error("--port must be in [0, 65535], got " + std::to_string(port));
  int64_t slots = positive(args, "--batch", 8), maxQueue = positive(args, "--max-queue", 64, 0);
  int64_t maxContext = positive(args, "--max-context", rt::kDefaultMaxContext);
  int64_t prefillChunk = positive(args, "--prefill-chunk", 0, 0);
  serve::ServerLimits limits;
  limits.maxBodyBytes = size_t(positive(args, "--max-body-bytes", int64_t(limits.maxBodyBytes)));
  limits.readTimeoutSeconds = int(positive(args, "--read-timeout", limits.readTimeoutSeconds));
  limits.threads = int(positive(args, "--threads", slots + maxQueue + 16));
  rt::DrafterKind drafter = rt::parseDrafterKind(args.value("--speculative", "none"));
  int64_t draftSteps = positive(args, "--draft-steps", 3);
  rt::BackendKind backendKind = rt::parseBackendKind(args.value("--backend", "auto"));
  rt::Placement tables = rt::parsePlacement(args.value("--tables", "host"), "--tables");
  bool cudaGraphs = rt::parseOnOff(args.value("--cuda-graphs", "on"), "--cuda-graphs");

  std::string configPath = (fs::path(modelDir) / "config.json").string();
  ModelConfig config = ModelConfig::load(configPath);
  rt::GenerationConfig generationConfig = rt::readGenerationConfig(modelDir);
  rt::addEosTokens(generationConfig, config);
  std::string tokenizerPath = (fs::path(modelDir) / "tokenizer.json").string();
  if (!fs::exists(tokenizerPath))
    throw Error(tokenizerPath + " not found: ember-serve takes and returns text, so it needs the model's tokenizer");
  rt::Tokenizer tokenizer = rt::Tokenizer::load(tokenizerPath);
  rt::Checkpoint checkpoint(modelDir);
  rt::ModelWeights weights(config, checkpoint);
  std::optional<rt::ModelWeights> mtpWeights;
  if (drafter == rt::DrafterKind::Mtp && !(mtpWeights = rt::loadMtpWeights(config, checkpoint, weights.dtype())))
    throw Error(modelDir + ": the checkpoint has no MTP block (model.mtp.* tensors), which --speculative mtp needs");

  auto notice = [&](const std::string &line) {
    if (!quiet)
      std::cerr << line << "\n";
  };
  std::unique_ptr<rt::Backend> backend = rt::makeBackend(backendKind, notice);
  rt::sequenceStateBytes(config, maxContext, slots, mtpWeights.has_value(), backend->memoryCapacityBytes());
  std::string artifactDescription;
  std::string artifact =
      tools::obtainArtifact(args, config, configPath, weights.dtype(), *backend, quiet, artifactDescription);
  rt::DecoderOptions decoderOptions{maxContext, slots, prefillChunk, tables};
  decoderOptions.cudaGraphs = cudaGraphs;
  decoderOptions.checkedArtifact =
      tools::diagnosticArtifact(args, config, configPath, weights.dtype(), *backend, quiet);
  rt::Decoder decoder(config, weights, artifact, *backend, decoderOptions, mtpWeights ? &*mtpWeights : nullptr);

  std::string name = args.value("--served-model-name", fs::path(modelDir).lexically_normal().filename().string());
  if (name.empty() || name == ".")
    name = fs::absolute(modelDir).lexically_normal().parent_path().filename().string();
  serve::ServedModel model{name,    decoder,   tokenizer, chatTemplate(modelDir, quiet), generationConfig,
                           drafter, draftSteps};
  serve::Metrics metrics;
  serve::Engine engine(decoder, maxQueue, metrics);
  serve::Server server(model, engine, metrics, limits);
  std::string host = args.value("--host", "127.0.0.1");
  int bound = server.bind(host, int(port));
  std::thread listener([&] { server.listen(); });
  std::cerr << "ember-serve: serving " << name << " (" << backend->name() << ", " << slots << " slots, context "
            << decoder.context() << ") on http://" << host << ":" << bound << std::endl;

  int signal = 0;
  sigwait(&stopSignals, &signal);
  if (!quiet)
    std::cerr << "ember-serve: " << (signal == SIGTERM ? "SIGTERM" : "SIGINT")
              << ": finishing the requests in flight (a second signal stops at once) ..." << std::endl;
  std::thread([&stopSignals] {
    int again = 0;
    sigwait(&stopSignals, &again);
    std::cerr << "ember-serve: stopped without draining" << std::endl;
    std::_Exit(1);
  }).detach();
  server.shutdown();
  listener.join();
  if (!quiet)
    std::cerr << "ember-serve: stopped" << std::endl;
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  return rt::runTool("ember-serve", [&] { return serveMain(argc, argv); });
}
