// ember-serve's HTTP API in OpenAI's form: request bodies parsed and checked
// into a CompletionRequest, responses and stream chunks built as JSON. No
// I/O and no model here, so the parser is fuzzed alone (FuzzServeRequest).
#pragma once

#include "ember/runtime/Generate.h"
#include "ember/runtime/Tokenizer.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ember::serve {

// What a client gets back for a request that cannot be served: the HTTP
// status and OpenAI's error object.
class ApiError : public std::runtime_error {
public:
  ApiError(int status, const std::string &message, std::string param = "");
  int status() const { return status_; }
  // {"error": {"message", "type", "param", "code"}}
  nlohmann::ordered_json body() const;

private:
  int status_;
  std::string param_;
};

enum class Endpoint { Completions, ChatCompletions };

struct CompletionRequest {
  Endpoint endpoint = Endpoint::Completions;
  std::string model; // "" when not given
  // /v1/completions: the prompt as text, or as token ids (then non-empty).
  std::string prompt;
  std::vector<int32_t> promptIds;
  // /v1/chat/completions: [{"role", "content"}, ...], checked for shape.
  nlohmann::ordered_json messages;
  std::optional<int64_t> maxTokens;
  std::optional<double> temperature, topP, minP, repetitionPenalty;
  std::optional<int64_t> topK;
  std::vector<std::string> stop;
  std::optional<uint64_t> seed;
  bool logprobs = false;
  bool stream = false;
  bool includeUsage = false; // stream_options.include_usage
  // Extensions of vLLM's: the generated ids with the text, and EOS not
  // ending the generation (fixed lengths for benchmarks).
  bool returnTokenIds = false, ignoreEos = false;
};

// Parses a request body of `endpoint`. Throws ApiError: 400 for a body that
// is not a JSON object or lacks its prompt, 422 for a field of the wrong
// type or out of range (naming it). Fields ember does not use are ignored.
CompletionRequest parseCompletionRequest(Endpoint endpoint, std::string_view body);

// What every response and chunk of one request repeats.
struct ResponseHeader {
  Endpoint endpoint = Endpoint::Completions;
  std::string id, model;
  int64_t created = 0; // Unix seconds
};

// A finished request's response body (not streamed).
nlohmann::ordered_json completionBody(const ResponseHeader &header, const CompletionRequest &request,
                                      const rt::Generation &generation, const rt::Tokenizer &tokenizer);

// One stream chunk: `text` with the tokens it came from (their
// log-probabilities when asked for), and the finish reason on the last.
// A chat stream's first chunk (`first`) carries the assistant role.
nlohmann::ordered_json streamChunk(const ResponseHeader &header, const CompletionRequest &request,
                                   const std::string &text, const std::vector<int32_t> &tokens,
                                   const std::vector<double> &logprobs, const std::string &finishReason, bool first,
                                   const rt::Tokenizer &tokenizer);

// The closing usage chunk of a stream (stream_options.include_usage).
nlohmann::ordered_json usageChunk(const ResponseHeader &header, int64_t promptTokens, int64_t completionTokens);

// A JSON value as one server-sent event ("data: ...\n\n"); invalid UTF-8
// becomes U+FFFD, as HF decodes it.
std::string serverSentEvent(const nlohmann::ordered_json &value);

} // namespace ember::serve
