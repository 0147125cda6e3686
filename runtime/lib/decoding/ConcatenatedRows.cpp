#include "ember/runtime/ConcatenatedRows.h"

#include "ember/model/Error.h"

#include <algorithm>
#include <cstring>
#include <future>
#include <thread>

namespace ember::rt {

static DType commonDType(const std::vector<const TensorView *> &parts) {
  if (parts.empty())
    throw Error("ConcatenatedRows: no tensors given");
  const TensorView &first = *parts.front();
  for (const TensorView *part : parts)
    if (part->dtype != first.dtype)
      throw Error(part->file + ": tensor '" + part->name + "' has dtype " + dtypeName(part->dtype) + " but tensor '" +
                  first.name + "' has " + dtypeName(first.dtype) + "; concatenated tensors need one dtype");
  return first.dtype;
}

ConcatenatedRows::ConcatenatedRows(const std::vector<const TensorView *> &parts)
    : ConcatenatedRows(parts, commonDType(parts)) {}

// `part` converted to `dtype`, through float in bounded chunks, so a large
// tensor needs no float copy of its own; the same dtype goes as it lies.
static void streamPart(const TensorView &part, DType dtype, size_t offset, const ConcatenatedRows::Sink &sink) {
  constexpr size_t kChunkBytes = ConcatenatedRows::kStreamChunkBytes;
  if (part.dtype == dtype) {
    for (size_t begin = 0; begin < part.nbytes; begin += kChunkBytes)
      sink(offset + begin, part.data + begin, std::min(kChunkBytes, part.nbytes - begin));
    return;
  }
  size_t count = part.nbytes / dtypeSize(part.dtype), chunk = kChunkBytes / sizeof(float);
  std::vector<float> floats(std::min(chunk, count));
  std::vector<std::byte> converted(floats.size() * dtypeSize(dtype));
  for (size_t begin = 0; begin < count; begin += chunk) {
    size_t n = std::min(chunk, count - begin);
    convertToFloat(part.data + begin * dtypeSize(part.dtype), part.dtype, n, floats.data());
    convertFromFloat(floats.data(), n, dtype, converted.data());
    sink(offset + begin * dtypeSize(dtype), converted.data(), n * dtypeSize(dtype));
  }
}

// A block-scaled matrix part, dequantized in chunks of whole rows.
static void streamScaledPart(const TensorView &part, const TensorView &scaleInv, const BlockScales &blocks, DType dtype,
                             size_t offset, const ConcatenatedRows::Sink &sink) {
  int64_t rows = part.shape[0], cols = part.shape[1];
  int64_t scaleCols = (cols + blocks.blockCols - 1) / blocks.blockCols;
  std::vector<float> scales(scaleInv.nbytes / dtypeSize(scaleInv.dtype));
  convertToFloat(scaleInv.data, scaleInv.dtype, scales.size(), scales.data());
  int64_t chunkRows = std::max<int64_t>(1, int64_t(ConcatenatedRows::kStreamChunkBytes / sizeof(float)) / cols);
  std::vector<float> floats(size_t(std::min(chunkRows, rows) * cols));
  std::vector<std::byte> converted(floats.size() * dtypeSize(dtype));
  for (int64_t begin = 0; begin < rows; begin += chunkRows) {
    int64_t n = std::min(chunkRows, rows - begin);
    size_t count = size_t(n * cols);
    convertToFloat(part.data + size_t(begin * cols) * dtypeSize(part.dtype), part.dtype, count, floats.data());
    for (int64_t row = 0; row < n; ++row) {
      const float *scaleRow = scales.data() + (begin + row) / blocks.blockRows * scaleCols;
      float *values = floats.data() + row * cols;
      for (int64_t col = 0; col < cols; ++col)
        values[col] *= scaleRow[col / blocks.blockCols];
    }
    convertFromFloat(floats.data(), count, dtype, converted.data());
    sink(offset + size_t(begin * cols) * dtypeSize(dtype), converted.data(), count * dtypeSize(dtype));
  }
}

// Generated values in chunks, each chunk split among the host's threads.
static void streamGenerated(const ConcatenatedRows::Generator &generate, size_t count, DType dtype,
                            const ConcatenatedRows::Sink &sink) {
  size_t chunk = ConcatenatedRows::kStreamChunkBytes / dtypeSize(dtype);
  size_t threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::byte> converted(std::min(chunk, count) * dtypeSize(dtype));
  for (size_t begin = 0; begin < count; begin += chunk) {
    size_t n = std::min(chunk, count - begin), slice = (n + threads - 1) / threads;
    std::vector<std::future<void>> workers;
    for (size_t from = 0; from < n; from += slice)
      workers.push_back(std::async(std::launch::async, [&, from] {
        constexpr size_t kBlock = 4096; // floats that stay in L1, not a slice-sized buffer to fault in
        float floats[kBlock];
        for (size_t at = from, end = std::min(from + slice, n); at < end; at += kBlock) {
          size_t length = std::min(kBlock, end - at);
          generate(begin + at, length, floats);
          convertFromFloat(floats, length, dtype, converted.data() + at * dtypeSize(dtype));
        }
      }));
    for (std::future<void> &worker : workers)
      worker.get();
    sink(begin * dtypeSize(dtype), converted.data(), n * dtypeSize(dtype));
  }
}

void ConcatenatedRows::streamTo(const Sink &sink) const {
  if (generate_) {
    streamGenerated(generate_, nbytes_ / dtypeSize(dtype_), dtype_, sink);
    return;
  }
  if (zeroCopy_) {
    TensorView whole = *parts_.front();
    whole.data = data_;
    whole.nbytes = nbytes_;
    streamPart(whole, dtype_, 0, sink);
    return;
  }
  size_t offset = 0;
  for (size_t i = 0; i < parts_.size(); ++i) {
    const TensorView &part = *parts_[i];
    const TensorView *scaleInv = i < scales_.scaleInv.size() ? scales_.scaleInv[i] : nullptr;
    if (scaleInv)
      streamScaledPart(part, *scaleInv, scales_, dtype_, offset, sink);
    else
      streamPart(part, dtype_, offset, sink);
    offset += part.nbytes / dtypeSize(part.dtype) * dtypeSize(dtype_);
  }
}

ConcatenatedRows::ConcatenatedRows(const Shape &shape, DType dtype, Generator generate)
    : nbytes_(size_t(elementCount(shape, "a generated weight")) * dtypeSize(dtype)), dtype_(dtype),
      rows_(shape.empty() ? 1 : shape[0]), rowShape_(shape.empty() ? shape : Shape(shape.begin() + 1, shape.end())),
      generate_(std::move(generate)) {}

ConcatenatedRows::ConcatenatedRows(const std::vector<const TensorView *> &parts, DType dtype, Copy copy,
                                   BlockScales scales)
    : dtype_(dtype), parts_(parts), scales_(std::move(scales)) {
  if (parts.empty())
    throw Error("ConcatenatedRows: no tensors given");
  const TensorView &first = *parts.front();
  if (first.shape.empty())
    throw Error(first.file + ": tensor '" + first.name + "' is a scalar; cannot concatenate rows");
  rowShape_.assign(first.shape.begin() + 1, first.shape.end());
  bool zeroCopy = true;
  for (size_t i = 0; i < parts.size(); ++i) {
    const TensorView &part = *parts[i];
    if (part.shape.empty() || Shape(part.shape.begin() + 1, part.shape.end()) != rowShape_)
      throw Error(part.file + ": tensor '" + part.name + "' has shape " + formatShape(part.shape) +
                  ", expected rows of shape " + formatShape(rowShape_) + " like tensor '" + first.name + "'");
    zeroCopy = zeroCopy && part.dtype == dtype && !(i < scales_.scaleInv.size() && scales_.scaleInv[i]);
    if (i > 0) {
      const TensorView &previous = *parts[i - 1];
      zeroCopy = zeroCopy && part.file == previous.file && part.data == previous.data + previous.nbytes;
    }
    rows_ += part.shape[0];
    nbytes_ += part.nbytes / dtypeSize(part.dtype) * dtypeSize(dtype);
  }
  if (zeroCopy) {
    data_ = first.data;
    zeroCopy_ = true;
    return;
  }
  if (copy == Copy::Deferred)
    return;
  owned_.resize(nbytes_);
  streamTo(
      [&](size_t offset, const std::byte *data, size_t bytes) { std::memcpy(owned_.data() + offset, data, bytes); });
  data_ = owned_.data();
}

} // namespace ember::rt
