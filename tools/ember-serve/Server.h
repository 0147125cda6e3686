// ember-serve's HTTP side (cpp-httplib): the routes, each generation
// request checked, tokenized and handed to the engine, and its response
// written as a whole or streamed as server-sent events.
#pragma once

#include "Api.h"
#include "Engine.h"
#include "Metrics.h"

#include "ember/runtime/ChatTemplate.h"
#include "ember/runtime/GenerationConfig.h"

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace httplib {
class Server;
class Request;
class Response;
} // namespace httplib

namespace ember::serve {

// What requests are checked against and rendered with.
struct ServedModel {
  std::string name; // the "model" requests name and responses carry
  const rt::Decoder &decoder;
  const rt::Tokenizer &tokenizer;
  std::optional<rt::ChatTemplate> chatTemplate; // none: /v1/chat/completions answers 400
  rt::GenerationConfig defaults;                // generation_config.json
  rt::DrafterKind drafter = rt::DrafterKind::None;
  int64_t draftSteps = 3;
};

struct ServerLimits {
  size_t maxBodyBytes = 1 << 20;
  int readTimeoutSeconds = 30; // a request slower than this (or half-open) is dropped
  int threads = 64;            // connections served at once
};

class Server {
public:
  Server(const ServedModel &model, Engine &engine, Metrics &metrics, const ServerLimits &limits);
  ~Server();
  // Binds to host:port (0: any free port); returns the port. Throws when
  // the address cannot be bound.
  int bind(const std::string &host, int port);
  // Serves until shutdown().
  void listen();
  // Refuses new generation requests (503) and has /health say so, lets
  // those in flight finish and their responses be written, then stops.
  void shutdown();

private:
  void routes();
  void complete(Endpoint endpoint, const httplib::Request &http, httplib::Response &response);
  std::vector<int32_t> promptIds(const CompletionRequest &request) const;
  rt::GenerationOptions generationOptions(const CompletionRequest &request, int64_t promptTokens) const;
  void responseEnded();

  const ServedModel &model_;
  Engine &engine_;
  Metrics &metrics_;
  std::unique_ptr<httplib::Server> http_;
  int64_t created_; // Unix seconds at start
  std::mutex mutex_;
  std::condition_variable responsesEnded_;
  int64_t openResponses_ = 0, nextId_ = 0;
  bool draining_ = false;
};

} // namespace ember::serve
