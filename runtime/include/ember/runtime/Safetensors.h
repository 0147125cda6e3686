#pragma once

#include "ember/model/DType.h"
#include "ember/model/Shape.h"

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace ember::rt {

// One tensor inside a memory-mapped safetensors file (valid while the owning
// SafetensorsFile/Checkpoint lives).
struct TensorView {
  std::string name;
  DType dtype;
  Shape shape;
  const std::byte *data;
  size_t nbytes;
  std::string file; // path of the file holding it
};

// One safetensors file, mapped read-only; the header is fully validated at
// open (offsets in range, sizes matching dtype x shape, no overlaps).
class SafetensorsFile {
public:
  explicit SafetensorsFile(const std::string &path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile &) = delete;
  SafetensorsFile &operator=(const SafetensorsFile &) = delete;

  const std::string &path() const { return path_; }
  const TensorView *find(const std::string &name) const;
  const std::map<std::string, TensorView> &tensors() const { return tensors_; }

private:
  void parseHeader();

  std::string path_;
  const std::byte *mapping_ = nullptr;
  size_t fileSize_ = 0;
  std::map<std::string, TensorView> tensors_;
};

// A model directory: model.safetensors.index.json ("weight_map": tensor ->
// shard) when present, else model.safetensors; any further *.safetensors files
// in the directory (e.g. model-auxiliary.safetensors) are loaded as well.
class Checkpoint {
public:
  explicit Checkpoint(const std::string &dir);

  const std::string &dir() const { return dir_; }
  const TensorView *find(const std::string &name) const;
  // Throws "<dir>: missing tensor '<name>'".
  const TensorView &get(const std::string &name) const;
  // Also checks the shape: "<file>: tensor '<name>': expected shape [..], got [..]".
  const TensorView &get(const std::string &name, const Shape &expectedShape) const;
  std::vector<std::string> names() const; // sorted
  const std::vector<std::unique_ptr<SafetensorsFile>> &files() const { return files_; }

private:
  void addFile(const std::string &fileName);
  void checkIndex(const std::string &indexPath);

  std::string dir_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const TensorView *> tensors_;
};

// Tensors of `checkpoint` holding NaN or Inf, each as "<name>: <count> of
// <elements> values are not finite (first at <index>)", in name order;
// empty when all are finite.
std::vector<std::string> nonFiniteTensors(const Checkpoint &checkpoint);

} // namespace ember::rt
