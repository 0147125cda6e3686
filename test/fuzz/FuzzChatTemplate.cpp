// libFuzzer: chat templates (Jinja text). Whatever parses must then render a
// fixed conversation (with tools and a system message) without a signal, a
// sanitizer report, unbounded time or memory, or any error but ember::Error.

#include "FuzzSupport.h"

#include "ember/runtime/ChatTemplate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const nlohmann::ordered_json messages = nlohmann::ordered_json::parse(R"([
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi 👋 <s>"},
    {"role": "assistant", "content": "Hello", "tool_calls": [{"name": "f", "arguments": {"x": 1}}]},
    {"role": "user", "content": ["a", "b"]}])");
  static const nlohmann::ordered_json variables = {{"tools", {{{"name", "f"}, {"parameters", {{"x", "int"}}}}}},
                                                   {"bos_token", "<s>"}};
  std::string source(reinterpret_cast<const char *>(data), size);
  ember::fuzz::expectOnlyErrors([&] {
    ember::rt::ChatTemplate chatTemplate(source, "fuzz.jinja");
    std::string text = chatTemplate.render(messages, /*addGenerationPrompt=*/true, variables);
    ember::fuzz::touch(text.data(), text.size());
  });
  return 0;
}
