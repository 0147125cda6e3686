#pragma once

#include <array>
#include <cstdint>

namespace ember::rt {

// The descriptor MLIR's C interface (`_mlir_ciface_*`) passes for a ranked
// memref: the layout must match exactly.
template <typename T, int Rank> struct MemRefDescriptor {
  T *allocated;
  T *aligned;
  int64_t offset;
  int64_t sizes[Rank];
  int64_t strides[Rank];
};

// Row-major (identity layout) descriptor over caller-owned memory.
template <typename T, int Rank>
MemRefDescriptor<T, Rank> rowMajorMemRef(T *data, const std::array<int64_t, Rank> &shape) {
  MemRefDescriptor<T, Rank> descriptor;
  descriptor.allocated = data;
  descriptor.aligned = data;
  descriptor.offset = 0;
  int64_t stride = 1;
  for (int dim = Rank - 1; dim >= 0; --dim) {
    descriptor.sizes[dim] = shape[dim];
    descriptor.strides[dim] = stride;
    stride *= shape[dim];
  }
  return descriptor;
}

} // namespace ember::rt
