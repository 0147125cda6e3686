#pragma once

#include "ember/runtime/Backend.h"
#include "ember/model/DType.h"
#include "ember/model/Error.h"
#include "ember/runtime/SafetensorsWriter.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace ember::rt::test {

// A fresh directory under $TMPDIR, removed with everything in it.
class TempDir {
public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ember-rt-test-XXXXXX").string();
    if (!mkdtemp(pattern.data()))
      throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string &name) const { return (path_ / name).string(); }
  std::string path() const { return path_.string(); }

private:
  std::filesystem::path path_;
};

// A file the build made for a test (a helper library): at `builtPath`, or
// where $EMBER_TEST_FILES_DIR says, by its name (scripts/gpu-bundle carries
// the files of the tests it runs on another machine).
inline std::string testFile(const std::string &builtPath) {
  const char *dir = std::getenv("EMBER_TEST_FILES_DIR");
  if (!dir || !*dir)
    return builtPath;
  return (std::filesystem::path(dir) / std::filesystem::path(builtPath).filename()).string();
}

inline void writeBytes(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

// A hand-made safetensors file: length prefix + header text + data bytes, for
// files the real writer refuses to produce.
inline void writeRawSafetensors(const std::string &path, const std::string &header, size_t dataBytes) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i)
    bytes[size_t(i)] = char((uint64_t(header.size()) >> (8 * i)) & 0xff);
  writeBytes(path, bytes + header + std::string(dataBytes, '\0'));
}

// A tensor of the given dtype holding `values` (converted).
inline TensorData tensorFrom(const std::string &name, DType dtype, Shape shape, const std::vector<float> &values) {
  TensorData tensor{{name, dtype, std::move(shape)}, {}};
  tensor.data.resize(values.size() * dtypeSize(dtype));
  convertFromFloat(values.data(), values.size(), dtype, tensor.data.data());
  return tensor;
}

// values 0, 1, 2, ... as a tensor of `shape`.
inline TensorData iotaTensor(const std::string &name, DType dtype, Shape shape, float start = 0) {
  size_t count = 1;
  for (int64_t dim : shape)
    count *= size_t(dim);
  std::vector<float> values(count);
  for (size_t i = 0; i < count; ++i)
    values[i] = start + float(i);
  return tensorFrom(name, dtype, std::move(shape), values);
}

// Asserts that `statement` throws an Error whose message contains every one
// of `fragments`.
#define EXPECT_ERROR_CONTAINS(statement, ...)                                                                       \
  do {                                                                                                              \
    try {                                                                                                           \
      statement;                                                                                                    \
      ADD_FAILURE() << "expected an ember::Error from: " #statement;                                           \
    } catch (const ::ember::Error &error) {                                                                     \
      for (const std::string &fragment : std::vector<std::string>{__VA_ARGS__})                                     \
        EXPECT_NE(std::string(error.what()).find(fragment), std::string::npos)                                      \
            << "message: " << error.what() << "\nmissing: " << fragment;                                            \
    }                                                                                                               \
  } while (0)

// A new buffer of `count` floats reads back as zeros, and what is copied to
// it reads back unchanged.
inline void expectZeroedRoundTrip(Backend &backend, size_t count, Placement placement = Placement::Device) {
  std::vector<float> host(count, 7.0f), back(count, 1.0f);
  DeviceBuffer buffer(backend, count * sizeof(float), "the test buffer", placement);
  backend.copyToHost(back.data(), buffer.data(), count * sizeof(float));
  EXPECT_EQ(back, std::vector<float>(count, 0.0f));
  backend.copyToDevice(buffer.data(), host.data(), count * sizeof(float));
  backend.copyToHost(back.data(), buffer.data(), count * sizeof(float));
  EXPECT_EQ(back, host);
}

} // namespace ember::rt::test
