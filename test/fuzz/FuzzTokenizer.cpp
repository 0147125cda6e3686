// libFuzzer: text through a byte-level BPE tokenizer (the FuzzTokenizerJson
// seed, which HF tokenizers wrote). Byte-level BPE is lossless, so valid
// UTF-8 must come back whole from decode(encode(text)); anything else must
// be refused with an ember::Error.

#include "FuzzSupport.h"

#include "ember/runtime/Tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const ember::rt::Tokenizer tokenizer = ember::rt::Tokenizer::load(EMBER_FUZZ_TOKENIZER);
  std::string text(reinterpret_cast<const char *>(data), size);
  ember::fuzz::expectOnlyErrors([&] {
    std::string back = tokenizer.decode(tokenizer.encode(text, /*addSpecialTokens=*/false));
    if (back != text) {
      std::fprintf(stderr, "decode(encode(text)) differs from the text\n");
      std::abort();
    }
  });
  return 0;
}
