#include "ember/runtime/ConcatenatedRows.h"

#include "ember/model/Error.h"

#include <algorithm>
#include <cstring>

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

// Converts through float in bounded chunks, so a large tensor needs no
// float copy of its own.
static void convertInto(const TensorView &part, DType dtype, std::byte *out) {
  if (part.dtype == dtype) {
    std::memcpy(out, part.data, part.nbytes);
    return;
  }
  constexpr size_t kChunk = size_t(1) << 16;
  std::vector<float> buffer(kChunk);
  size_t count = part.nbytes / dtypeSize(part.dtype);
  for (size_t begin = 0; begin < count; begin += kChunk) {
    size_t n = std::min(kChunk, count - begin);
    convertToFloat(part.data + begin * dtypeSize(part.dtype), part.dtype, n, buffer.data());
    convertFromFloat(buffer.data(), n, dtype, out + begin * dtypeSize(dtype));
  }
}

ConcatenatedRows::ConcatenatedRows(const std::vector<const TensorView *> &parts, DType dtype) : dtype_(dtype) {
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
    zeroCopy = zeroCopy && part.dtype == dtype;
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
  owned_.resize(nbytes_);
  size_t offset = 0;
  for (const TensorView *part : parts) {
    convertInto(*part, dtype, owned_.data() + offset);
    offset += part->nbytes / dtypeSize(part->dtype) * dtypeSize(dtype);
  }
  data_ = owned_.data();
}

} // namespace ember::rt
