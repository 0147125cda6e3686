#include "Server.h"

#include "ember/model/Error.h"
#include "ember/runtime/NgramEmbedding.h"

#include <httplib.h>

#include <ctime>
#include <random>

namespace ember::serve {

namespace {

using json = nlohmann::ordered_json;

// Without max_tokens, what generation_config.json says (else this), cut to
// what the context holds: ember-run's default too.
constexpr int64_t kDefaultMaxTokens = 128;
// How long a response waits for tokens before it writes a keep-alive (a
// write is how a client that left is noticed).
constexpr std::chrono::milliseconds kHeartbeat{1000};

void sendJson(httplib::Response &response, int status, const json &body) {
  response.status = status;
  response.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n", "application/json");
}

void sendError(httplib::Response &response, const ApiError &error) { sendJson(response, error.status(), error.body()); }

// The route a path counts under in /metrics (unknown paths share one label).
std::string routeLabel(const std::string &path) {
  for (const char *route : {"/v1/completions", "/v1/chat/completions", "/v1/models", "/health", "/metrics"})
    if (path == route)
      return path;
  return "other";
}

// Runs a handler, turning what it throws into the JSON error response.
template <class Handler> void answer(httplib::Response &response, Handler handler) {
  try {
    handler();
  } catch (const ApiError &error) {
    sendError(response, error);
  } catch (const Error &error) { // the runtime's checks: prompt, context, options
    sendError(response, ApiError(400, error.what()));
  } catch (const std::exception &error) {
    sendError(response, ApiError(500, std::string("internal error: ") + error.what()));
  }
}

// One response on its way out: what the engine has produced and what was
// written of it.
struct ResponseStream {
  ResponseStream(CompletionRequest request, ResponseHeader header, std::shared_ptr<PendingRequest> pending,
                 const rt::Tokenizer &tokenizer)
      : request(std::move(request)), header(std::move(header)), pending(std::move(pending)), tokenizer(tokenizer),
        text(tokenizer, /*skipSpecialTokens=*/true, this->request.stop) {}

  // The next bytes to write: stream chunks, or the whole body once done;
  // a keep-alive when nothing came within a heartbeat.
  std::string next(bool &done) {
    if (!request.stream) {
      PendingRequest::Update update = pending->next(SIZE_MAX, kHeartbeat); // wakes at the end only
      done = update.done;
      if (!done)
        return " "; // JSON allows leading whitespace
      json body = update.error.empty() ? completionBody(header, request, pending->result(), tokenizer)
                                       : ApiError(500, update.error).body();
      return body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    }
    PendingRequest::Update update = pending->next(seen, kHeartbeat);
    seen += update.tokens.size();
    done = update.done;
    std::string out, delta;
    for (int32_t token : update.tokens)
      delta += text.push(token);
    if (!update.tokens.empty() && (!delta.empty() || request.logprobs || request.returnTokenIds || first)) {
      out += serverSentEvent(streamChunk(header, request, delta, update.tokens, update.logprobs, "", first, tokenizer));
      first = false;
    }
    if (done && update.error.empty()) {
      const rt::Generation &generation = pending->result();
      out += serverSentEvent(
          streamChunk(header, request, text.finish(), {}, {}, generation.finishReason, first, tokenizer));
      if (request.includeUsage)
        out += serverSentEvent(usageChunk(header, generation.promptTokens, int64_t(generation.tokens.size())));
    } else if (done) {
      out += serverSentEvent(ApiError(500, update.error).body());
    }
    if (done)
      out += "data: [DONE]\n\n";
    // Nothing came within a heartbeat: a comment line, which clients skip.
    return update.tokens.empty() && !done ? ": keep-alive\n\n" : out;
  }

  CompletionRequest request;
  ResponseHeader header;
  std::shared_ptr<PendingRequest> pending;
  const rt::Tokenizer &tokenizer;
  rt::TextStream text;
  size_t seen = 0;
  bool first = true;
};

} // namespace

Server::Server(const ServedModel &model, Engine &engine, Metrics &metrics, const ServerLimits &limits)
    : model_(model), engine_(engine), metrics_(metrics), http_(std::make_unique<httplib::Server>()),
      created_(int64_t(std::time(nullptr))) {
  int threads = limits.threads;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };
  http_->set_payload_max_length(limits.maxBodyBytes);
  http_->set_read_timeout(limits.readTimeoutSeconds, 0);
  http_->set_write_timeout(limits.readTimeoutSeconds, 0);
  http_->set_keep_alive_timeout(5);
  // SO_REUSEADDR only: cpp-httplib's default, SO_REUSEPORT, would let a
  // second server bind the same port and take half of its connections.
  http_->set_socket_options([](socket_t socket) {
    int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  routes();
  http_->set_error_handler([maxBody = limits.maxBodyBytes](const httplib::Request &request,
                                                           httplib::Response &response) {
    if (!response.body.empty() || response.is_chunked_content_provider_)
      return;
    if (response.status == 413)
      sendError(response,
                ApiError(413, "the request body exceeds " + std::to_string(maxBody) + " bytes (--max-body-bytes)"));
    else if (response.status == 404)
      sendError(response, ApiError(404, "no route " + request.method + " " + request.path +
                                            " (POST /v1/completions, POST /v1/chat/completions, GET /v1/models, "
                                            "GET /health, GET /metrics)"));
    else
      sendError(response, ApiError(response.status,
                                   "the request could not be served (HTTP " + std::to_string(response.status) + ")"));
  });
  http_->set_exception_handler([](const httplib::Request &, httplib::Response &response, std::exception_ptr) {
    sendError(response, ApiError(500, "internal error"));
  });
  http_->set_logger([this](const httplib::Request &request, const httplib::Response &response) {
    metrics_.response(routeLabel(request.path), response.status);
  });
}

Server::~Server() = default;

void Server::routes() {
  http_->Get("/health", [this](const httplib::Request &, httplib::Response &response) {
    std::lock_guard<std::mutex> lock(mutex_);
    sendJson(response, draining_ ? 503 : 200, {{"status", draining_ ? "draining" : "ok"}});
  });
  http_->Get("/v1/models", [this](const httplib::Request &, httplib::Response &response) {
    json model = {{"id", model_.name},
                  {"object", "model"},
                  {"created", created_},
                  {"owned_by", "ember"},
                  {"max_model_len", model_.decoder.context()}};
    sendJson(response, 200, {{"object", "list"}, {"data", json::array({model})}});
  });
  http_->Get("/metrics", [this](const httplib::Request &, httplib::Response &response) {
    response.set_content(metrics_.render(engine_.load()), "text/plain; version=0.0.4");
  });
  http_->Post("/v1/completions", [this](const httplib::Request &request, httplib::Response &response) {
    answer(response, [&] { complete(Endpoint::Completions, request, response); });
  });
  http_->Post("/v1/chat/completions", [this](const httplib::Request &request, httplib::Response &response) {
    answer(response, [&] { complete(Endpoint::ChatCompletions, request, response); });
  });
}

std::vector<int32_t> Server::promptIds(const CompletionRequest &request) const {
  std::vector<int32_t> ids;
  if (request.endpoint == Endpoint::ChatCompletions) {
    if (!model_.chatTemplate)
      throw ApiError(400, "the model has no chat template (chat_template.jinja, or chat_template in "
                          "tokenizer_config.json); use /v1/completions");
    ids = model_.tokenizer.encode(model_.chatTemplate->render(request.messages, /*addGenerationPrompt=*/true),
                                  /*addSpecialTokens=*/false);
  } else if (!request.promptIds.empty()) {
    ids = request.promptIds;
    rt::validateTokens(ids, model_.decoder.config().vocabSize);
  } else {
    ids = model_.tokenizer.encode(request.prompt);
  }
  if (ids.empty())
    throw ApiError(400, "the prompt has no tokens", request.endpoint == Endpoint::Completions ? "prompt" : "messages");
  return ids;
}

rt::GenerationOptions Server::generationOptions(const CompletionRequest &request, int64_t promptTokens) const {
  const rt::GenerationConfig &defaults = model_.defaults;
  const ModelConfig &config = model_.decoder.config();
  rt::GenerationOptions options;
  int64_t room = rt::contextLimit(config, model_.decoder.maxContext()) - promptTokens + 1;
  options.maxNewTokens = request.maxTokens.value_or(
      std::min(defaults.maxNewTokens.value_or(kDefaultMaxTokens), std::max<int64_t>(room, 1)));
  options.sampling.temperature = request.temperature.value_or(defaults.defaultTemperature());
  options.sampling.topK = request.topK.value_or(defaults.topK.value_or(0));
  options.sampling.topP = request.topP.value_or(defaults.topP.value_or(1));
  options.sampling.minP = request.minP.value_or(defaults.minP.value_or(0));
  options.sampling.repetitionPenalty = request.repetitionPenalty.value_or(defaults.repetitionPenalty.value_or(1));
  // Without a seed, every request samples differently (as OpenAI's API).
  options.sampling.seed = request.seed ? *request.seed : std::random_device{}();
  options.stopStrings = request.stop;
  options.tokenizer = &model_.tokenizer;
  options.logprobs = request.logprobs;
  options.ignoreEos = request.ignoreEos;
  options.drafter = model_.drafter;
  options.draftSteps = model_.draftSteps;
  rt::validateSampling(options.sampling);
  rt::validateGenerationOptions(model_.decoder, options);
  rt::checkFitsContext(config, model_.decoder.maxContext(), promptTokens, options.maxNewTokens);
  return options;
}

void Server::complete(Endpoint endpoint, const httplib::Request &http, httplib::Response &response) {
  CompletionRequest request = parseCompletionRequest(endpoint, http.body);
  if (!request.model.empty() && request.model != model_.name)
    throw ApiError(404, "the model '" + request.model + "' does not exist; this server serves '" + model_.name + "'",
                   "model");
  std::vector<int32_t> prompt = promptIds(request);
  rt::GenerationOptions options = generationOptions(request, int64_t(prompt.size()));
  ResponseHeader header{endpoint, "", model_.name, int64_t(std::time(nullptr))};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (draining_)
      throw ApiError(503, "the server is shutting down");
    header.id = (endpoint == Endpoint::Completions ? "cmpl-" : "chatcmpl-") + std::to_string(created_) + "-" +
                std::to_string(nextId_++);
    ++openResponses_; // before the engine has it: shutdown waits for its response
  }
  std::shared_ptr<PendingRequest> pending;
  try {
    pending = engine_.submit(std::move(prompt), options);
  } catch (...) {
    responseEnded();
    throw;
  }
  auto stream = std::make_shared<ResponseStream>(std::move(request), header, pending, model_.tokenizer);
  response.set_chunked_content_provider(
      stream->request.stream ? "text/event-stream" : "application/json",
      [stream](size_t, httplib::DataSink &sink) {
        bool done = false;
        std::string bytes = stream->next(done);
        if (!bytes.empty() && !sink.write(bytes.data(), bytes.size()))
          return false; // the client left
        if (done)
          sink.done();
        return true;
      },
      [this, stream](bool success) {
        if (!success)
          engine_.cancel(stream->pending);
        responseEnded();
      });
}

void Server::responseEnded() {
  std::lock_guard<std::mutex> lock(mutex_);
  --openResponses_;
  responsesEnded_.notify_all();
}

int Server::bind(const std::string &host, int port) {
  int bound = port == 0 ? http_->bind_to_any_port(host) : (http_->bind_to_port(host, port) ? port : -1);
  if (bound < 0)
    throw Error("cannot listen on " + host + ":" + std::to_string(port) +
                " (the address is in use, or not this machine's)");
  return bound;
}

void Server::listen() { http_->listen_after_bind(); }

void Server::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    draining_ = true;
  }
  engine_.drain();
  std::unique_lock<std::mutex> lock(mutex_);
  responsesEnded_.wait(lock, [&] { return openResponses_ == 0; });
  lock.unlock();
  http_->stop();
}

} // namespace ember::serve
