#include "ember/runtime/PackedArgs.h"

#include "ember/model/Error.h"

namespace ember::rt {

template <int Rank> static MemRefDescriptor<void, Rank> descriptor(const void *data, const Shape &shape) {
  std::array<int64_t, Rank> sizes{};
  std::copy(shape.begin(), shape.end(), sizes.begin());
  // The compiled code only reads weights; the C interface has no const.
  return rowMajorMemRef<void, Rank>(const_cast<void *>(data), sizes);
}

void PackedArgs::addMemRef(const void *data, const Shape &shape) {
  switch (shape.size()) {
  case 1:
    storage_.emplace_back(descriptor<1>(data, shape));
    break;
  case 2:
    storage_.emplace_back(descriptor<2>(data, shape));
    break;
  case 3:
    storage_.emplace_back(descriptor<3>(data, shape));
    break;
  case 4:
    storage_.emplace_back(descriptor<4>(data, shape));
    break;
  default:
    throw Error("packed arguments: memref of rank " + std::to_string(shape.size()) + " " + formatShape(shape) +
                " is not supported (ranks 1 to 4)");
  }
  pointers_.push_back(std::visit([](auto &value) -> void * { return &value; }, storage_.back()));
  sizes_.push_back(std::visit([](auto &value) { return sizeof value; }, storage_.back()));
}

void PackedArgs::addAll(const PackedArgs &other) {
  pointers_.insert(pointers_.end(), other.pointers_.begin(), other.pointers_.end());
  sizes_.insert(sizes_.end(), other.sizes_.begin(), other.sizes_.end());
}

std::string PackedArgs::fingerprint() const {
  std::string bytes;
  for (size_t i = 0; i < pointers_.size(); ++i)
    bytes.append(static_cast<const char *>(pointers_[i]), sizes_[i]);
  return bytes;
}

} // namespace ember::rt
