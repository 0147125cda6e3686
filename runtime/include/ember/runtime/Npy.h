#pragma once

#include "ember/runtime/Shape.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ember::rt {

// NPY v1.0, little endian, C order; written atomically (tmp file + rename).
void writeNpy(const std::string &path, const float *data, const Shape &shape);   // '<f4'
void writeNpy(const std::string &path, const int32_t *data, const Shape &shape); // '<i4'

template <typename T> struct NpyArray {
  Shape shape;
  std::vector<T> data;
};

// Readers for '<f4' / '<i4' C-order arrays (v1.0-v3.0 headers); throw on any
// other dtype or layout.
NpyArray<float> readNpyFloat(const std::string &path);
NpyArray<int32_t> readNpyInt32(const std::string &path);

} // namespace ember::rt
