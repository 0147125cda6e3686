// libFuzzer: tokenizer.json files. Whatever loads must then encode and
// decode a fixed text without a signal, a sanitizer report or any error but
// ember::Error.

#include "FuzzSupport.h"

#include "ember/runtime/Tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ember::fuzz::MemoryFile file(data, size);
  ember::fuzz::expectOnlyErrors([&] {
    ember::rt::Tokenizer tokenizer = ember::rt::Tokenizer::load(file.path());
    std::vector<int32_t> ids = tokenizer.encode("Hello <s> wörld 123 👍🏽\n\tcode(x) {}");
    std::string text = tokenizer.decode(ids, /*skipSpecialTokens=*/true);
    ember::fuzz::touch(text.data(), text.size());
  });
  return 0;
}
