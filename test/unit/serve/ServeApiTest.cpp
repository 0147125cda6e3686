// ember-serve's request parser (what OpenAI's API accepts, what it refuses
// and with which status), its response and chunk bodies, and the Prometheus
// histogram.

#include "Api.h"
#include "Metrics.h"

#include <gtest/gtest.h>

#include <limits>

namespace ember::serve {
namespace {

using json = nlohmann::ordered_json;

CompletionRequest completion(const std::string &body) { return parseCompletionRequest(Endpoint::Completions, body); }

// The status and parameter of the error parsing `body` throws.
std::pair<int, std::string> refusal(const std::string &body, Endpoint endpoint = Endpoint::Completions) {
  try {
    parseCompletionRequest(endpoint, body);
  } catch (const ApiError &error) {
    return {error.status(),
            error.body()["error"]["param"].is_null() ? "" : error.body()["error"]["param"].get<std::string>()};
  }
  return {0, "accepted"};
}

TEST(ServeApiTest, PromptForms) {
  EXPECT_EQ(completion(R"({"prompt": "hi"})").prompt, "hi");
  EXPECT_EQ(completion(R"({"prompt": ["hi"]})").prompt, "hi");
  EXPECT_EQ(completion(R"({"prompt": [1, 2, 3]})").promptIds, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(completion(R"({"prompt": [[4, 5]]})").promptIds, (std::vector<int32_t>{4, 5}));
  EXPECT_EQ(refusal(R"({"prompt": ["a", "b"]})"), std::make_pair(422, std::string("prompt")));
  EXPECT_EQ(refusal(R"({"prompt": []})"), std::make_pair(422, std::string("prompt")));
  EXPECT_EQ(refusal(R"({"prompt": [1, -2]})"), std::make_pair(422, std::string("prompt")));
  EXPECT_EQ(refusal(R"({"prompt": [1, 2147483648]})"), std::make_pair(422, std::string("prompt")));
  EXPECT_EQ(refusal(R"({"max_tokens": 3})"), std::make_pair(400, std::string("prompt")));
  EXPECT_EQ(refusal(R"({"prompt": null})"), std::make_pair(400, std::string("prompt")));
}

TEST(ServeApiTest, ChatContentPartsBecomeText) {
  CompletionRequest request = parseCompletionRequest(
      Endpoint::ChatCompletions,
      R"({"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                       {"role": "assistant", "content": null, "name": "x"}]})");
  EXPECT_EQ(request.messages[0]["content"], "ab");
  EXPECT_TRUE(request.messages[1]["content"].is_null());
  EXPECT_EQ(request.messages[1]["name"], "x") << "other message fields reach the template";
  EXPECT_EQ(
      refusal(R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})", Endpoint::ChatCompletions)
          .first,
      422);
  EXPECT_EQ(refusal(R"({"messages": []})", Endpoint::ChatCompletions).first, 422);
}

TEST(ServeApiTest, OptionsAndTheirRanges) {
  CompletionRequest request = completion(
      R"({"prompt": "x", "max_tokens": 7, "temperature": 0.5, "top_p": 1, "top_k": -1, "min_p": 0,
          "repetition_penalty": 1.1, "stop": "END", "seed": -3, "logprobs": 0, "stream": true,
          "stream_options": {"include_usage": true}, "return_token_ids": true, "ignore_eos": true,
          "user": "ignored", "n": 1, "echo": false, "presence_penalty": 0})");
  EXPECT_EQ(request.maxTokens, 7);
  EXPECT_EQ(request.temperature, 0.5);
  EXPECT_EQ(request.topK, 0) << "-1 means every token, as 0 does";
  EXPECT_EQ(request.stop, std::vector<std::string>{"END"});
  EXPECT_EQ(request.seed, uint64_t(int64_t(-3)));
  EXPECT_TRUE(request.logprobs && request.stream && request.includeUsage && request.returnTokenIds &&
              request.ignoreEos);
  EXPECT_EQ(completion(R"({"prompt": "x", "max_completion_tokens": 9})").maxTokens, 9);
  EXPECT_FALSE(completion(R"({"prompt": "x", "temperature": null})").temperature) << "null is unset";

  for (const char *body : {R"({"prompt": "x", "max_tokens": 0})",
                           R"({"prompt": "x", "max_tokens": 1.5})",
                           R"({"prompt": "x", "max_tokens": "8"})",
                           R"({"prompt": "x", "temperature": -0.1})",
                           R"({"prompt": "x", "top_p": 0})",
                           R"({"prompt": "x", "top_p": 1.01})",
                           R"({"prompt": "x", "top_k": -2})",
                           R"({"prompt": "x", "min_p": 2})",
                           R"({"prompt": "x", "repetition_penalty": 0})",
                           R"({"prompt": "x", "stop": [""]})",
                           R"({"prompt": "x", "stop": 5})",
                           R"({"prompt": "x", "seed": 18446744073709551615})",
                           R"({"prompt": "x", "logprobs": 2})",
                           R"({"prompt": "x", "stream": "yes"})",
                           R"({"prompt": "x", "stream_options": {"include_usage": true}})",
                           R"({"prompt": "x", "n": 2})",
                           R"({"prompt": "x", "echo": true})",
                           R"({"prompt": "x", "frequency_penalty": 0.5})",
                           R"({"prompt": "x", "model": 3})",
                           R"({"prompt": "x", "response_format": {"type": "json_object"}})",
                           R"({"prompt": "x", "response_format": {"type": 5}})"})
    EXPECT_EQ(refusal(body).first, 422) << body;
  EXPECT_EQ(refusal(R"({"messages": [{"role": "user", "content": "x"}], "top_logprobs": 2})", Endpoint::ChatCompletions)
                .second,
            "top_logprobs");
}

TEST(ServeApiTest, BodiesThatAreNotRequests) {
  for (const char *body : {"", "{", "[1]", "\"text\"", "{\"prompt\": \"x\"} trailing", "\xff\xfe"})
    EXPECT_EQ(refusal(body).first, 400) << body;
  ApiError error(429, "busy");
  EXPECT_EQ(error.body().dump(), R"({"error":{"message":"busy","type":"rate_limit_error","param":null,"code":429}})");
}

class ServeResponseTest : public ::testing::Test {
protected:
  rt::Tokenizer tokenizer_ = rt::Tokenizer::load(EMBER_TEST_TOKENIZER);
  ResponseHeader header_{Endpoint::Completions, "cmpl-1", "tiny", 42};
};

TEST_F(ServeResponseTest, CompletionBodyCarriesTextIdsUsageAndLogprobs) {
  CompletionRequest request = completion(R"({"prompt": "x", "logprobs": 0, "return_token_ids": true})");
  rt::Generation generation;
  generation.promptTokens = 3;
  generation.tokens = tokenizer_.encode("ab cd", /*addSpecialTokens=*/false);
  generation.logprobs.assign(generation.tokens.size(), -0.25);
  generation.finishReason = "stop";
  generation.stopString = " c"; // the text ends before it
  json body = completionBody(header_, request, generation, tokenizer_);
  EXPECT_EQ(body["object"], "text_completion");
  EXPECT_EQ(body["choices"][0]["text"], "ab");
  EXPECT_EQ(body["choices"][0]["token_ids"], json(generation.tokens));
  EXPECT_EQ(body["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(body["choices"][0]["logprobs"]["token_logprobs"].size(), generation.tokens.size());
  EXPECT_EQ(body["usage"], (json{{"prompt_tokens", 3},
                                 {"completion_tokens", int64_t(generation.tokens.size())},
                                 {"total_tokens", 3 + int64_t(generation.tokens.size())}}));
}

TEST_F(ServeResponseTest, ChatChunksCarryTheRoleFirst) {
  header_.endpoint = Endpoint::ChatCompletions;
  CompletionRequest request =
      parseCompletionRequest(Endpoint::ChatCompletions, R"({"messages": [{"role": "user", "content": "x"}]})");
  json first = streamChunk(header_, request, "He", {5}, {}, "", true, tokenizer_);
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"], (json{{"role", "assistant"}, {"content", "He"}}));
  EXPECT_TRUE(first["choices"][0]["finish_reason"].is_null());
  json last = streamChunk(header_, request, "", {}, {}, "length", false, tokenizer_);
  EXPECT_EQ(last["choices"][0]["delta"], json::object());
  EXPECT_EQ(last["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(serverSentEvent(json{{"a", "\xff"}}), "data: {\"a\":\"\xef\xbf\xbd\"}\n\n") << "invalid UTF-8 replaced";
}

TEST(ServeMetricsTest, HistogramBucketsAreCumulative) {
  Histogram histogram({0.1, 1});
  for (double value : {0.05, 0.1, 0.5, 3.0})
    histogram.observe(value);
  std::string out;
  histogram.render(out, "x_seconds", "help");
  EXPECT_EQ(out, "# HELP x_seconds help\n# TYPE x_seconds histogram\n"
                 "x_seconds_bucket{le=\"0.1\"} 2\nx_seconds_bucket{le=\"1\"} 3\nx_seconds_bucket{le=\"+Inf\"} 4\n"
                 "x_seconds_sum 3.65\nx_seconds_count 4\n");
}

} // namespace
} // namespace ember::serve
