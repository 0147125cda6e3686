#include "ember/runtime/Safetensors.h"

#include "ember/runtime/AtomicFile.h"
#include "ember/model/Error.h"
#include "ember/model/Parsing.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ember::rt {

namespace fs = std::filesystem;
using nlohmann::json;

static constexpr char kIndexFileName[] = "model.safetensors.index.json";
static constexpr char kSingleFileName[] = "model.safetensors";

SafetensorsFile::SafetensorsFile(const std::string &path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw Error(path + ": cannot open: " + std::strerror(errno));
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    int savedErrno = errno;
    ::close(fd);
    throw Error(path + ": cannot stat: " + std::strerror(savedErrno));
  }
  fileSize_ = size_t(info.st_size);
  if (fileSize_ < 8) {
    ::close(fd);
    throw Error(path + ": file is " + std::to_string(fileSize_) +
                " bytes, shorter than the 8-byte safetensors header length");
  }
  void *mapping = ::mmap(nullptr, fileSize_, PROT_READ, MAP_PRIVATE, fd, 0);
  int savedErrno = errno;
  ::close(fd); // the mapping keeps the file alive
  if (mapping == MAP_FAILED)
    throw Error(path + ": mmap failed: " + std::strerror(savedErrno));
  mapping_ = static_cast<const std::byte *>(mapping);
  try {
    parseHeader();
  } catch (...) {
    ::munmap(const_cast<std::byte *>(mapping_), fileSize_);
    throw;
  }
}

SafetensorsFile::~SafetensorsFile() { ::munmap(const_cast<std::byte *>(mapping_), fileSize_); }

const TensorView *SafetensorsFile::find(const std::string &name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

static uint64_t readLittleEndian64(const std::byte *bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i)
    value = (value << 8) | uint64_t(bytes[i]);
  return value;
}

void SafetensorsFile::parseHeader() {
  uint64_t headerLength = readLittleEndian64(mapping_);
  if (headerLength > fileSize_ - 8)
    throw Error(path_ + ": header length " + std::to_string(headerLength) + " exceeds file size " +
                std::to_string(fileSize_));
  const char *headerBegin = reinterpret_cast<const char *>(mapping_ + 8);
  json header;
  try {
    header = json::parse(headerBegin, headerBegin + headerLength);
  } catch (const json::exception &e) {
    throw Error(path_ + ": invalid JSON header: " + e.what());
  }
  if (!header.is_object())
    throw Error(path_ + ": invalid header: expected a JSON object, got " + header.dump());

  const std::byte *dataSection = mapping_ + 8 + headerLength;
  uint64_t dataSize = fileSize_ - 8 - headerLength;
  struct Range {
    uint64_t begin, end;
    const std::string *name;
  };
  std::vector<Range> ranges;
  for (const auto &[name, entry] : header.items()) {
    if (name == "__metadata__")
      continue;
    std::string where = path_ + ": tensor '" + name + "'";
    if (!entry.is_object() || !entry.contains("dtype") || !entry["dtype"].is_string())
      throw Error(where + ": missing or malformed 'dtype' in " + entry.dump());
    std::string dtypeText = entry["dtype"].get<std::string>();
    DType dtype;
    try {
      dtype = parseDType(dtypeText);
    } catch (const Error &) {
      throw Error(where + ": unsupported dtype '" + dtypeText + "' (expected F32, BF16 or F16)");
    }
    const json &shapeJson = entry.value("shape", json());
    Shape shape;
    if (!shapeJson.is_array())
      throw Error(where + ": missing or malformed 'shape' in " + entry.dump());
    for (const json &dim : shapeJson) {
      if (!dim.is_number_integer() || dim.get<int64_t>() < 0)
        throw Error(where + ": shape " + shapeJson.dump() + " must hold non-negative integers");
      shape.push_back(dim.get<int64_t>());
    }
    const json &offsets = entry.value("data_offsets", json());
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
      throw Error(where + ": 'data_offsets' must be two non-negative integers, got " + offsets.dump());
    uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
    std::string offsetsText = "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "]";
    if (begin > end)
      throw Error(where + ": " + offsetsText + " have begin > end");
    if (end > dataSize)
      throw Error(where + ": " + offsetsText + " are out of range (data section has " +
                  std::to_string(dataSize) + " bytes; the file is truncated or the offsets are wrong)");
    uint64_t needed = uint64_t(elementCount(shape, where)) * dtypeSize(dtype);
    if (end - begin != needed)
      throw Error(where + ": " + offsetsText + " hold " + std::to_string(end - begin) + " bytes but dtype " +
                  dtypeText + " with shape " + formatShape(shape) + " needs " + std::to_string(needed));
    auto [it, inserted] =
        tensors_.emplace(name, TensorView{name, dtype, shape, dataSection + begin, size_t(needed), path_});
    if (needed)
      ranges.push_back({begin, end, &it->first});
  }
  std::sort(ranges.begin(), ranges.end(), [](const Range &a, const Range &b) { return a.begin < b.begin; });
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].begin < ranges[i - 1].end)
      throw Error(path_ + ": tensors '" + *ranges[i - 1].name + "' and '" + *ranges[i].name +
                  "' have overlapping data offsets");
}

Checkpoint::Checkpoint(const std::string &dir) : dir_(dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error(dir + ": not a directory (expected a model directory with config.json and safetensors)");
  fs::path root(dir);
  if (fs::exists(root / kIndexFileName)) {
    checkIndex((root / kIndexFileName).string());
  } else if (fs::exists(root / kSingleFileName)) {
    addFile(kSingleFileName);
  } else {
    throw Error(dir + ": found neither " + kIndexFileName + " nor " + kSingleFileName);
  }
  // Extra shards outside the index, e.g. the real model's model-auxiliary.safetensors.
  std::vector<std::string> extras;
  for (const auto &item : fs::directory_iterator(root))
    if (item.is_regular_file() && item.path().extension() == ".safetensors")
      extras.push_back(item.path().filename().string());
  std::sort(extras.begin(), extras.end());
  for (const std::string &name : extras) {
    std::string path = (root / name).string();
    bool loaded = std::any_of(files_.begin(), files_.end(), [&](const auto &f) { return f->path() == path; });
    if (!loaded)
      addFile(name);
  }
}

void Checkpoint::addFile(const std::string &fileName) {
  files_.push_back(std::make_unique<SafetensorsFile>((fs::path(dir_) / fileName).string()));
  for (const auto &[name, view] : files_.back()->tensors()) {
    auto [it, inserted] = tensors_.emplace(name, &view);
    if (!inserted)
      throw Error(dir_ + ": tensor '" + name + "' appears in both " + it->second->file + " and " + view.file);
  }
}

void Checkpoint::checkIndex(const std::string &indexPath) {
  json index = readJsonFile(indexPath);
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    throw Error(indexPath + ": missing object 'weight_map'");
  const json &weightMap = index["weight_map"];
  std::set<std::string> shards;
  for (const auto &[tensor, shard] : weightMap.items()) {
    if (!shard.is_string())
      throw Error(indexPath + ": weight_map entry '" + tensor + "' must be a file name, got " + shard.dump());
    std::string shardName = shard.get<std::string>();
    // A shard is a file of the model directory: a path out of it (absolute,
    // or through a folder or '..') would load someone else's file.
    if (shardName.empty() || fs::path(shardName).has_parent_path() || shardName == "." || shardName == ".." ||
        shardName.find('/') != std::string::npos)
      throw Error(indexPath + ": weight_map entry '" + tensor + "' names shard '" + shardName +
                  "', which is not a file name inside the model directory " + dir_);
    if (!fs::exists(fs::path(dir_) / shardName))
      throw Error(indexPath + ": weight_map entry '" + tensor + "' names shard '" + shardName +
                  "', which does not exist in " + dir_);
    shards.insert(shardName);
  }
  for (const std::string &shard : shards)
    addFile(shard);
  for (const auto &[tensor, shard] : weightMap.items()) {
    const TensorView *view = find(tensor);
    std::string expectedPath = (fs::path(dir_) / shard.get<std::string>()).string();
    if (!view || view->file != expectedPath)
      throw Error(indexPath + ": weight_map maps tensor '" + tensor + "' to '" + shard.get<std::string>() +
                  "', but that file does not contain it");
  }
}

const TensorView *Checkpoint::find(const std::string &name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : it->second;
}

const TensorView &Checkpoint::get(const std::string &name) const {
  if (const TensorView *view = find(name))
    return *view;
  throw Error(dir_ + ": missing tensor '" + name + "'");
}

const TensorView &Checkpoint::get(const std::string &name, const Shape &expectedShape) const {
  const TensorView &view = get(name);
  if (view.shape != expectedShape)
    throw Error(view.file + ": tensor '" + name + "': expected shape " + formatShape(expectedShape) + ", got " +
                formatShape(view.shape));
  return view;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> result;
  for (const auto &entry : tensors_)
    result.push_back(entry.first);
  return result;
}

std::vector<std::string> nonFiniteTensors(const Checkpoint &checkpoint) {
  std::vector<std::string> found;
  std::vector<float> values;
  constexpr size_t kChunk = 1 << 20; // converted a piece at a time: tables are GBs
  for (const std::string &name : checkpoint.names()) {
    const TensorView &view = checkpoint.get(name);
    size_t count = view.nbytes / dtypeSize(view.dtype), bad = 0, first = 0;
    for (size_t start = 0; start < count; start += kChunk) {
      size_t n = std::min(kChunk, count - start);
      values.resize(n);
      convertToFloat(view.data + start * dtypeSize(view.dtype), view.dtype, n, values.data());
      for (size_t i = 0; i < n; ++i)
        if (!std::isfinite(values[i]) && bad++ == 0)
          first = start + i;
    }
    if (bad)
      found.push_back(name + ": " + std::to_string(bad) + " of " + std::to_string(count) +
                      " values are not finite (first at flat index " + std::to_string(first) + ")");
  }
  return found;
}

} // namespace ember::rt
