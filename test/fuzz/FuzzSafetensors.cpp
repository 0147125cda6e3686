// libFuzzer: one safetensors file (header and data) through SafetensorsFile,
// the checkpoint loader's parser. Bad input must end in ember::Error;
// anything else (a signal, a sanitizer report, another exception) is a bug.

#include "FuzzSupport.h"

#include "ember/runtime/Safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ember::fuzz::MemoryFile file(data, size);
  ember::fuzz::expectOnlyErrors([&] {
    ember::rt::SafetensorsFile tensors(file.path());
    for (const auto &[name, view] : tensors.tensors())
      ember::fuzz::touch(view.data, view.nbytes);
  });
  return 0;
}
