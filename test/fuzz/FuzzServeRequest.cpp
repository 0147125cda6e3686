// libFuzzer: ember-serve's request bodies (the first byte picks the
// endpoint) through parseCompletionRequest, and an accepted request's
// response and stream chunk built. Bad input must end in ApiError.

#include "FuzzSupport.h"

#include "Api.h"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace ember::serve;
  if (size == 0)
    return 0;
  static const ember::rt::Tokenizer tokenizer = ember::rt::Tokenizer::load(EMBER_FUZZ_TOKENIZER);
  Endpoint endpoint = data[0] % 2 ? Endpoint::ChatCompletions : Endpoint::Completions;
  std::string body(reinterpret_cast<const char *>(data) + 1, size - 1);
  try {
    CompletionRequest request = parseCompletionRequest(endpoint, body);
    ember::rt::Generation generation;
    generation.tokens = {1, 2, 3};
    generation.logprobs = {-0.5, -1.0, -2.0};
    generation.finishReason = "length";
    generation.stopString = request.stop.empty() ? "" : request.stop.front();
    ResponseHeader header{endpoint, "cmpl-0", request.model, 0};
    std::string out = completionBody(header, request, generation, tokenizer).dump();
    out += serverSentEvent(
        streamChunk(header, request, "text", generation.tokens, generation.logprobs, "", true, tokenizer));
    ember::fuzz::touch(out.data(), out.size());
  } catch (const ApiError &error) {
    std::string out = error.body().dump();
    ember::fuzz::touch(out.data(), out.size());
  }
  return 0;
}
