#pragma once

#include "ember/model/DType.h"
#include "ember/runtime/Safetensors.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace ember::rt {

// Several tensors with identical trailing dimensions viewed as one buffer
// concatenated along dim 0. When they already lie back to back in the same
// mapped file (ember-synth writes them so) and have the buffer's dtype this is
// a view; otherwise the data is copied once into an owned buffer, converting
// the dtype where it differs, or, deferred, only streamed where its user
// places it (streamTo). The parts must outlive it.
//
// Block-scaled FP8 parts (F8_E4M3 matrices of an FP8 checkpoint) are
// dequantized on the way: value * scaleInv[row / blockRows][col / blockCols]
// in f32, then converted to the buffer's dtype (as DeepSeek's FP8-to-BF16
// conversion does). The caller has checked each scale tensor's shape.
struct BlockScales {
  std::vector<const TensorView *> scaleInv; // one per part; null: the part is not scaled
  int64_t blockRows = 0;
  int64_t blockCols = 0;
};

class ConcatenatedRows {
public:
  enum class Copy { Now, Deferred };
  // Values computed rather than read (random weights of a model no disk
  // holds): generate(first, count, out) writes elements [first, first +
  // count) of the row-major buffer. streamTo calls it from several threads
  // at once, on disjoint ranges; data() is null.
  using Generator = std::function<void(uint64_t first, size_t count, float *out)>;
  ConcatenatedRows(const Shape &shape, DType dtype, Generator generate);
  // All parts must share one dtype, which the buffer keeps.
  explicit ConcatenatedRows(const std::vector<const TensorView *> &parts);
  // Parts of any dtype, converted to `dtype`. Deferred: a buffer that is
  // not a view is never held (data() is null).
  ConcatenatedRows(const std::vector<const TensorView *> &parts, DType dtype, Copy copy = Copy::Now,
                   BlockScales scales = {});
  ConcatenatedRows(ConcatenatedRows &&) = default;
  ConcatenatedRows &operator=(ConcatenatedRows &&) = default;

  const std::byte *data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  DType dtype() const { return dtype_; }
  int64_t rows() const { return rows_; }              // sum of the parts' dim 0
  const Shape &rowShape() const { return rowShape_; } // the common trailing dims
  bool isZeroCopy() const { return zeroCopy_; }

  // The bytes of the buffer in order, converted, as sink(offset, data,
  // bytes) calls of at most kStreamChunkBytes each: whatever holds them
  // needs no copy of the whole buffer on the way.
  static constexpr size_t kStreamChunkBytes = size_t(64) << 20;
  using Sink = std::function<void(size_t offset, const std::byte *data, size_t bytes)>;
  void streamTo(const Sink &sink) const;

private:
  const std::byte *data_ = nullptr;
  size_t nbytes_ = 0;
  DType dtype_ = DType::F32;
  int64_t rows_ = 0;
  Shape rowShape_;
  bool zeroCopy_ = false;
  std::vector<const TensorView *> parts_;
  BlockScales scales_;
  Generator generate_;
  std::vector<std::byte> owned_; // moving a vector keeps its buffer, so data_ stays valid
};

} // namespace ember::rt
