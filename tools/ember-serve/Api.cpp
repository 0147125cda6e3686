#include "Api.h"

#include <cmath>
#include <limits>

namespace ember::serve {

using json = nlohmann::ordered_json;

namespace {

const char *errorType(int status) {
  switch (status) {
  case 404:
    return "not_found_error";
  case 413:
    return "request_too_large";
  case 429:
    return "rate_limit_error";
  case 503:
    return "service_unavailable";
  default:
    return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

// The body's field `name`, or null when it is absent or null (OpenAI's
// clients send null for options left unset).
const json *field(const json &body, const char *name) {
  auto it = body.find(name);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

[[noreturn]] void wrongField(const char *name, const std::string &expected, const json &value) {
  std::string got = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (got.size() > 60)
    got = got.substr(0, 57) + "...";
  throw ApiError(422, std::string("'") + name + "' must be " + expected + ", got " + got, name);
}

std::optional<int64_t> integerField(const json &body, const char *name, int64_t min, int64_t max,
                                    const std::string &expected) {
  const json *value = field(body, name);
  if (!value)
    return std::nullopt;
  // Unsigned above int64's range, or signed: compared in their own type.
  bool inRange = value->is_number_unsigned()
                     ? value->get<uint64_t>() <= uint64_t(max) && (min <= 0 || value->get<uint64_t>() >= uint64_t(min))
                     : value->is_number_integer() && value->get<int64_t>() >= min && value->get<int64_t>() <= max;
  if (!inRange)
    wrongField(name, expected, *value);
  return value->is_number_unsigned() ? int64_t(value->get<uint64_t>()) : value->get<int64_t>();
}

// A number in [min, max] (above min when minExclusive).
std::optional<double> numberField(const json &body, const char *name, double min, double max, bool minExclusive,
                                  const std::string &expected) {
  const json *value = field(body, name);
  if (!value)
    return std::nullopt;
  if (!value->is_number())
    wrongField(name, expected, *value);
  double number = value->get<double>();
  if (!(number >= min && number <= max) || (minExclusive && number == min))
    wrongField(name, expected, *value);
  return number;
}

bool boolField(const json &body, const char *name) {
  const json *value = field(body, name);
  if (value && !value->is_boolean())
    wrongField(name, "true or false", *value);
  return value && value->get<bool>();
}

// Options ember does not implement are refused when they would change the
// output, rather than ignored.
void refuseUnsupported(const json &body) {
  auto refuse = [](const char *name, const char *why) {
    throw ApiError(422, std::string("'") + name + "' is not supported by ember-serve: " + why, name);
  };
  if (const json *echo = field(body, "echo"); echo && *echo != false)
    refuse("echo", "the response holds the generated text only");
  if (const json *suffix = field(body, "suffix"); suffix && *suffix != "")
    refuse("suffix", "there is no insertion mode");
  for (const char *name : {"presence_penalty", "frequency_penalty"})
    if (const json *penalty = field(body, name); penalty && *penalty != 0)
      refuse(name, "use repetition_penalty");
  if (const json *bias = field(body, "logit_bias"); bias && !bias->empty())
    refuse("logit_bias", "logits are not biased");
  if (const json *tools = field(body, "tools"); tools && !tools->empty())
    refuse("tools", "tool calls are not parsed");
  if (const json *format = field(body, "response_format");
      format && !(format->is_object() && format->value("type", json()) == "text"))
    refuse("response_format", "output is not constrained (only {\"type\": \"text\"})");
  integerField(body, "n", 1, 1, "1 (one choice per request)");
  integerField(body, "best_of", 1, 1, "1 (one choice per request)");
}

std::vector<int32_t> tokenIds(const json &value, const char *name) {
  std::vector<int32_t> ids;
  for (const json &id : value) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > std::numeric_limits<int32_t>::max())
      wrongField(name, "a string or a list of token ids (whole numbers >= 0)", id);
    ids.push_back(int32_t(id.get<int64_t>()));
  }
  return ids;
}

// prompt: a string, a list of token ids, or a list holding one of either.
void readPrompt(const json &body, CompletionRequest &request) {
  const json *prompt = field(body, "prompt");
  if (!prompt)
    throw ApiError(400, "'prompt' is required", "prompt");
  const json *one = prompt;
  if (prompt->is_array() && !prompt->empty() && (prompt->front().is_string() || prompt->front().is_array())) {
    if (prompt->size() != 1)
      throw ApiError(422,
                     "'prompt' holds " + std::to_string(prompt->size()) + " prompts; ember-serve takes one per request",
                     "prompt");
    one = &prompt->front();
  }
  if (one->is_string())
    request.prompt = one->get<std::string>();
  else if (one->is_array() && !one->empty())
    request.promptIds = tokenIds(*one, "prompt");
  else
    wrongField("prompt", "a string or a non-empty list of token ids", *prompt);
}

// A message's content: a string, or a list of {"type": "text", "text"} parts.
json messageContent(const json &content) {
  if (content.is_null() || content.is_string())
    return content;
  if (!content.is_array())
    wrongField("messages", "messages whose content is a string or a list of text parts", content);
  std::string text;
  for (const json &part : content) {
    if (!part.is_object() || part.value("type", json()) != "text" || !part.contains("text") ||
        !part["text"].is_string())
      wrongField("messages", "content parts of the form {\"type\": \"text\", \"text\": ...}", part);
    text += part["text"].get<std::string>();
  }
  return text;
}

void readMessages(const json &body, CompletionRequest &request) {
  const json *messages = field(body, "messages");
  if (!messages)
    throw ApiError(400, "'messages' is required", "messages");
  if (!messages->is_array() || messages->empty())
    wrongField("messages", "a non-empty list of {\"role\", \"content\"} messages", *messages);
  request.messages = nlohmann::ordered_json::array();
  for (const json &message : *messages) {
    if (!message.is_object() || !message.contains("role") || !message["role"].is_string())
      wrongField("messages", "messages with a string \"role\"", message);
    json copy = message;
    copy["content"] = messageContent(message.value("content", json()));
    request.messages.push_back(std::move(copy));
  }
}

void readStop(const json &body, CompletionRequest &request) {
  const json *stop = field(body, "stop");
  if (!stop)
    return;
  const char *expected = "a non-empty string or a list of them";
  if (stop->is_string())
    request.stop.push_back(stop->get<std::string>());
  else if (stop->is_array())
    for (const json &item : *stop) {
      if (!item.is_string())
        wrongField("stop", expected, *stop);
      request.stop.push_back(item.get<std::string>());
    }
  else
    wrongField("stop", expected, *stop);
  for (const std::string &text : request.stop)
    if (text.empty())
      wrongField("stop", expected, *stop);
}

} // namespace

ApiError::ApiError(int status, const std::string &message, std::string param)
    : std::runtime_error(message), status_(status), param_(std::move(param)) {}

json ApiError::body() const {
  return {{"error",
           {{"message", what()},
            {"type", errorType(status_)},
            {"param", param_.empty() ? json() : json(param_)},
            {"code", status_}}}};
}

CompletionRequest parseCompletionRequest(Endpoint endpoint, std::string_view text) {
  json body = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded())
    throw ApiError(400, "the request body is not valid JSON");
  if (!body.is_object())
    throw ApiError(400, "the request body must be a JSON object");
  CompletionRequest request;
  request.endpoint = endpoint;
  if (const json *model = field(body, "model")) {
    if (!model->is_string())
      wrongField("model", "a string", *model);
    request.model = model->get<std::string>();
  }
  if (endpoint == Endpoint::Completions)
    readPrompt(body, request);
  else
    readMessages(body, request);
  refuseUnsupported(body);
  constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();
  request.maxTokens = integerField(body, "max_tokens", 1, kMaxInt, "a whole number >= 1");
  if (auto newer = integerField(body, "max_completion_tokens", 1, kMaxInt, "a whole number >= 1"))
    request.maxTokens = newer;
  double inf = std::numeric_limits<double>::infinity();
  request.temperature = numberField(body, "temperature", 0, inf, false, "a number >= 0 (0: greedy)");
  request.topP = numberField(body, "top_p", 0, 1, true, "a number in (0, 1]");
  request.minP = numberField(body, "min_p", 0, 1, false, "a number in [0, 1]");
  request.repetitionPenalty = numberField(body, "repetition_penalty", 0, inf, true, "a number > 0");
  if (auto topK = integerField(body, "top_k", -1, kMaxInt, "a whole number >= -1 (-1 or 0: all tokens)"))
    request.topK = std::max<int64_t>(*topK, 0);
  readStop(body, request);
  if (auto seed = integerField(body, "seed", std::numeric_limits<int64_t>::min(), kMaxInt, "a whole number"))
    request.seed = uint64_t(*seed);
  if (endpoint == Endpoint::Completions) {
    request.logprobs = integerField(body, "logprobs", 0, 0,
                                    "0 or null (ember returns the chosen tokens' log-probabilities, no top "
                                    "alternatives)")
                           .has_value();
  } else {
    request.logprobs = boolField(body, "logprobs");
    integerField(body, "top_logprobs", 0, 0, "0 or null (no top alternatives)");
  }
  request.stream = boolField(body, "stream");
  if (const json *options = field(body, "stream_options")) {
    if (!request.stream)
      throw ApiError(422, "'stream_options' needs \"stream\": true", "stream_options");
    if (!options->is_object())
      wrongField("stream_options", "an object", *options);
    request.includeUsage = boolField(*options, "include_usage");
  }
  request.returnTokenIds = boolField(body, "return_token_ids");
  request.ignoreEos = boolField(body, "ignore_eos");
  return request;
}

namespace {

// Each token's text and log-probability: completions' {"tokens",
// "token_logprobs", "top_logprobs", "text_offset"} or chat's {"content":
// [{"token", "logprob", "bytes", "top_logprobs"}]}.
json tokenLogprobs(Endpoint endpoint, const std::vector<int32_t> &tokens, const std::vector<double> &logprobs,
                   const rt::Tokenizer &tokenizer) {
  json content = json::array(), texts = json::array(), values = json::array(), offsets = json::array();
  int64_t offset = 0;
  for (size_t i = 0; i < tokens.size() && i < logprobs.size(); ++i) {
    std::string text = tokenizer.decode({tokens[i]});
    json bytes = json::array();
    for (unsigned char byte : text)
      bytes.push_back(int(byte));
    content.push_back({{"token", text}, {"logprob", logprobs[i]}, {"bytes", bytes}, {"top_logprobs", json::array()}});
    texts.push_back(text);
    values.push_back(logprobs[i]);
    offsets.push_back(offset);
    offset += int64_t(text.size());
  }
  if (endpoint == Endpoint::ChatCompletions)
    return {{"content", content}};
  return {{"tokens", texts}, {"token_logprobs", values}, {"top_logprobs", json()}, {"text_offset", offsets}};
}

json headerJson(const ResponseHeader &header, bool chunk) {
  const char *object = header.endpoint == Endpoint::Completions ? "text_completion"
                       : chunk                                  ? "chat.completion.chunk"
                                                                : "chat.completion";
  return {{"id", header.id}, {"object", object}, {"created", header.created}, {"model", header.model}};
}

json usageJson(int64_t promptTokens, int64_t completionTokens) {
  return {{"prompt_tokens", promptTokens},
          {"completion_tokens", completionTokens},
          {"total_tokens", promptTokens + completionTokens}};
}

// A choice's text: completions' "text", chat's message or delta.
void putText(json &choice, Endpoint endpoint, const std::string &text, bool chunk, bool first) {
  if (endpoint == Endpoint::Completions) {
    choice["text"] = text;
  } else if (!chunk) {
    choice["message"] = {{"role", "assistant"}, {"content", text}};
  } else {
    choice["delta"] = json::object();
    if (first)
      choice["delta"]["role"] = "assistant";
    if (!text.empty())
      choice["delta"]["content"] = text;
  }
}

} // namespace

json completionBody(const ResponseHeader &header, const CompletionRequest &request, const rt::Generation &generation,
                    const rt::Tokenizer &tokenizer) {
  json choice = {{"index", 0}};
  putText(choice, header.endpoint, rt::generatedText(tokenizer, generation), false, false);
  choice["logprobs"] =
      request.logprobs ? tokenLogprobs(header.endpoint, generation.tokens, generation.logprobs, tokenizer) : json();
  choice["finish_reason"] = generation.finishReason;
  if (request.returnTokenIds)
    choice["token_ids"] = generation.tokens;
  json body = headerJson(header, false);
  body["choices"] = json::array({choice});
  body["usage"] = usageJson(generation.promptTokens, int64_t(generation.tokens.size()));
  return body;
}

json streamChunk(const ResponseHeader &header, const CompletionRequest &request, const std::string &text,
                 const std::vector<int32_t> &tokens, const std::vector<double> &logprobs,
                 const std::string &finishReason, bool first, const rt::Tokenizer &tokenizer) {
  json choice = {{"index", 0}};
  putText(choice, header.endpoint, text, true, first);
  choice["logprobs"] = request.logprobs ? tokenLogprobs(header.endpoint, tokens, logprobs, tokenizer) : json();
  choice["finish_reason"] = finishReason.empty() ? json() : json(finishReason);
  if (request.returnTokenIds)
    choice["token_ids"] = tokens;
  json chunk = headerJson(header, true);
  chunk["choices"] = json::array({choice});
  return chunk;
}

json usageChunk(const ResponseHeader &header, int64_t promptTokens, int64_t completionTokens) {
  json chunk = headerJson(header, true);
  chunk["choices"] = json::array();
  chunk["usage"] = usageJson(promptTokens, completionTokens);
  return chunk;
}

std::string serverSentEvent(const json &value) {
  return "data: " + value.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

} // namespace ember::serve
