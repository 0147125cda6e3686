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

// Elements [0, count) as `dtype`, in chunks of at most kStreamChunkBytes:
// each chunk's floats come from fill(first, length, out) on all host
// threads at once (a slice each, in blocks that stay in L1), are converted
// and go to sink at `offset` plus their place.
static void streamFilled(size_t count, DType dtype, size_t offset, const ConcatenatedRows::Generator &fill,
                         const ConcatenatedRows::Sink &sink) {
  size_t chunk = ConcatenatedRows::kStreamChunkBytes / dtypeSize(dtype);
  size_t threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::byte> converted(std::min(chunk, count) * dtypeSize(dtype));
  for (size_t begin = 0; begin < count; begin += chunk) {
    size_t n = std::min(chunk, count - begin), slice = (n + threads - 1) / threads;
    std::vector<std::future<void>> workers;
    for (size_t from = 0; from < n; from += slice)
      workers.push_back(std::async(std::launch::async, [&, from] {
        constexpr size_t kBlock = 4096;
        float floats[kBlock];
        for (size_t at = from, end = std::min(from + slice, n); at < end; at += kBlock) {
          size_t length = std::min(kBlock, end - at);
          fill(begin + at, length, floats);
          convertFromFloat(floats, length, dtype, converted.data() + at * dtypeSize(dtype));
        }
      }));
    for (std::future<void> &worker : workers)
      worker.get();
    sink(offset + begin * dtypeSize(dtype), converted.data(), n * dtypeSize(dtype));
  }
}

// `part` in `dtype`: as it lies when it has that dtype, else converted.
static void streamPart(const TensorView &part, DType dtype, size_t offset, const ConcatenatedRows::Sink &sink) {
  constexpr size_t kChunkBytes = ConcatenatedRows::kStreamChunkBytes;
  if (part.dtype == dtype) {
    for (size_t begin = 0; begin < part.nbytes; begin += kChunkBytes)
      sink(offset + begin, part.data + begin, std::min(kChunkBytes, part.nbytes - begin));
    return;
  }
  size_t size = dtypeSize(part.dtype);
  streamFilled(
      part.nbytes / size, dtype, offset,
      [&](uint64_t first, size_t count, float *out) {
        convertToFloat(part.data + first * size, part.dtype, count, out);
      },
      sink);
}

// A block-scaled matrix part, dequantized: each value times its block's scale.
static void streamScaledPart(const TensorView &part, const TensorView &scaleInv, const BlockScales &blocks, DType dtype,
                             size_t offset, const ConcatenatedRows::Sink &sink) {
  uint64_t cols = uint64_t(part.shape[1]), blockRows = uint64_t(blocks.blockRows),
           blockCols = uint64_t(blocks.blockCols);
  uint64_t scaleCols = (cols + blockCols - 1) / blockCols;
  std::vector<float> scales(scaleInv.nbytes / dtypeSize(scaleInv.dtype));
  convertToFloat(scaleInv.data, scaleInv.dtype, scales.size(), scales.data());
  size_t size = dtypeSize(part.dtype);
  streamFilled(
      part.nbytes / size, dtype, offset,
      [&](uint64_t first, size_t count, float *out) {
        convertToFloat(part.data + first * size, part.dtype, count, out);
        // Walks the elements by row and block: no division per element.
        uint64_t row = first / cols, col = first % cols, block = col / blockCols, inBlock = col % blockCols;
        const float *scaleRow = scales.data() + row / blockRows * scaleCols;
        for (size_t i = 0; i < count; ++i) {
          out[i] *= scaleRow[block];
          if (++inBlock == blockCols)
            inBlock = 0, ++block;
          if (++col == cols) {
            col = block = inBlock = 0;
            scaleRow = scales.data() + ++row / blockRows * scaleCols;
          }
        }
      },
      sink);
}

void ConcatenatedRows::streamTo(const Sink &sink) const {
  if (generate_) {
    streamFilled(nbytes_ / dtypeSize(dtype_), dtype_, 0, generate_, sink);
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
