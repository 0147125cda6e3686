// libFuzzer: --prompt-ids lists ("1,5,9"; ember-run splits prompts at ';'
// first) through parseTokenIds.

#include "FuzzSupport.h"

#include "ember/runtime/CommandLine.h"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  ember::fuzz::expectOnlyErrors([&] {
    for (int32_t id : ember::rt::parseTokenIds(text, "--prompt-ids"))
      ember::fuzz::touch(&id, sizeof id);
  });
  return 0;
}
