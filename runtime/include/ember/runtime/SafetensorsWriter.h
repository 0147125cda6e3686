#pragma once

#include "ember/runtime/AtomicFile.h"
#include "ember/model/DType.h"
#include "ember/model/Shape.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ember::rt {

struct TensorSpec {
  std::string name;
  DType dtype;
  Shape shape;
  size_t nbytes() const; // prod(shape) * dtypeSize(dtype)
};

// Streams one safetensors file. The header comes first, so every tensor is
// declared up front; data is then appended in declaration order, in chunks of
// any size. Tensors are stored back to back in that order, without gaps, so
// tensors declared consecutively can later be used as one buffer. Each tensor
// must start at a multiple of its element size (declare wider dtypes first);
// the data section itself starts 8-byte aligned.
class SafetensorsWriter {
public:
  SafetensorsWriter(std::string path, std::vector<TensorSpec> tensors);

  // Appends `size` bytes of data, continuing with the next tensor when one is full.
  void write(const void *data, size_t size);
  // Checks that all data was written and closes the temporary file.
  void finish();
  // finish() if needed, then renames the file into place.
  void commit();

  const std::vector<TensorSpec> &tensors() const { return tensors_; }
  uint64_t dataBytes() const { return totalBytes_; }

private:
  std::vector<TensorSpec> tensors_;
  AtomicOutputFile file_;
  uint64_t totalBytes_ = 0;
  uint64_t writtenBytes_ = 0;
};

// Test and tool convenience: one file from in-memory tensors (data.size() must
// equal spec.nbytes()).
struct TensorData {
  TensorSpec spec;
  std::vector<std::byte> data;
};
void writeSafetensors(const std::string &path, const std::vector<TensorData> &tensors);

} // namespace ember::rt
