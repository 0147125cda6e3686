#pragma once

#include "ember/model/DType.h"
#include "ember/runtime/Safetensors.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ember::rt {

// Several tensors with identical trailing dimensions viewed as one buffer
// concatenated along dim 0. When they already lie back to back in the same
// mapped file (ember-synth writes them so) and have the buffer's dtype this is
// a view; otherwise the data is copied once into an owned buffer, converting
// the dtype where it differs.
class ConcatenatedRows {
public:
  // All parts must share one dtype, which the buffer keeps.
  explicit ConcatenatedRows(const std::vector<const TensorView *> &parts);
  // Parts of any dtype, converted to `dtype`.
  ConcatenatedRows(const std::vector<const TensorView *> &parts, DType dtype);
  ConcatenatedRows(ConcatenatedRows &&) = default;
  ConcatenatedRows &operator=(ConcatenatedRows &&) = default;

  const std::byte *data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  DType dtype() const { return dtype_; }
  int64_t rows() const { return rows_; }              // sum of the parts' dim 0
  const Shape &rowShape() const { return rowShape_; } // the common trailing dims
  bool isZeroCopy() const { return zeroCopy_; }

private:
  const std::byte *data_ = nullptr;
  size_t nbytes_ = 0;
  DType dtype_ = DType::F32;
  int64_t rows_ = 0;
  Shape rowShape_;
  bool zeroCopy_ = false;
  std::vector<std::byte> owned_; // moving a vector keeps its buffer, so data_ stays valid
};

} // namespace ember::rt
