#pragma once

#include "ember/model/Shape.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ember::rt {

class AtomicOutputFile;

// NPY v1.0, little endian, C order; written atomically (tmp file + rename).
void writeNpy(const std::string &path, const float *data, const Shape &shape);   // '<f4'
void writeNpy(const std::string &path, const int32_t *data, const Shape &shape); // '<i4'
// The same, written but not committed: a tool with several outputs commits
// them together once all are written.
std::unique_ptr<AtomicOutputFile> stageNpy(const std::string &path, const float *data, const Shape &shape);
std::unique_ptr<AtomicOutputFile> stageNpy(const std::string &path, const int32_t *data, const Shape &shape);

template <typename T> struct NpyArray {
  Shape shape;
  std::vector<T> data;
};

// Readers for '<f4' / '<i4' C-order arrays (v1.0-v3.0 headers); throw on any
// other dtype or layout.
NpyArray<float> readNpyFloat(const std::string &path);
NpyArray<int32_t> readNpyInt32(const std::string &path);

} // namespace ember::rt
