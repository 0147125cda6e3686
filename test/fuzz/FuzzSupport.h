#pragma once

// What ember's libFuzzer harnesses share. Bad input must end in
// ember::Error (a clear message, what the tools print and exit 1 on);
// a signal, a sanitizer report or any other exception is a finding.

#include "ember/model/Config.h"
#include "ember/runtime/Decoder.h"
#include "ember/model/Error.h"
#include "ember/model/ModelAbi.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>

#include <sys/mman.h>
#include <unistd.h>

namespace ember::fuzz {

template <typename Body> void expectOnlyErrors(Body body) {
  try {
    body();
  } catch (const ember::Error &) {
  } catch (const std::exception &other) {
    std::fprintf(stderr, "not an ember::Error: %s\n", other.what());
    std::abort();
  }
}

// Reads every byte, so the sanitizers see views that leave their mapping.
inline void touch(const void *data, size_t bytes) {
  volatile uint8_t sum = 0;
  for (size_t i = 0; i < bytes; ++i)
    sum = uint8_t(sum + static_cast<const uint8_t *>(data)[i]);
}

// The input as a file with a path (an anonymous memory file).
class MemoryFile {
public:
  MemoryFile(const uint8_t *data, size_t size) : fd_(memfd_create("ember-fuzz", 0)) {
    if (fd_ < 0 || (size && ::write(fd_, data, size) != ssize_t(size))) {
      std::perror("memfd");
      std::abort();
    }
  }
  ~MemoryFile() { ::close(fd_); }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

private:
  int fd_;
};

inline std::filesystem::path temporaryDirectory(const char *prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (std::string(prefix) + ".XXXXXX")).string();
  if (!mkdtemp(pattern.data())) {
    std::perror("mkdtemp");
    std::abort();
  }
  return pattern;
}

// What every tool computes from a config it accepted: the weight list (all
// shapes), the n-gram table sizes and one slot's sequence state.
inline void useConfig(const ember::ModelConfig &config) {
  int64_t elements = 0;
  for (const ember::AbiWeight &weight : ember::modelWeights(config))
    for (int64_t extent : weight.shape)
      elements += extent;
  touch(&elements, sizeof elements);
  int64_t rows = config.ngramTotalRows() + config.ngramTableWidth();
  touch(&rows, sizeof rows);
  rt::sequenceStateBytes(config, rt::kDefaultMaxContext, 1, true, 0);
}

} // namespace ember::fuzz
