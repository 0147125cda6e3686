#include "ember/runtime/Npy.h"

#include "ember/runtime/AtomicFile.h"
#include "ember/model/Error.h"
#include "ember/model/Parsing.h"

#include <cstring>
#include <regex>

namespace ember::rt {

static constexpr char kMagic[] = "\x93NUMPY";
static constexpr size_t kMagicSize = 6;

static std::unique_ptr<AtomicOutputFile> stageNpyBytes(const std::string &path, const char *descr, const void *data,
                                                       size_t elementSize, const Shape &shape) {
  std::string dims; // Python tuple syntax: "()", "(5,)", "(5, 96)"
  for (size_t i = 0; i < shape.size(); ++i)
    dims += (i ? ", " : "") + std::to_string(shape[i]);
  std::string shapeText = "(" + dims + (shape.size() == 1 ? ",)" : ")");
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shapeText + ", }";
  // Magic (6) + version (2) + length (2) + header + '\n' is padded to a multiple of 64.
  size_t unpadded = kMagicSize + 4 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  if (header.size() > 0xffff)
    throw Error(path + ": shape " + formatShape(shape) + " is too long for an NPY v1.0 header");
  std::string prefix(kMagic, kMagicSize);
  prefix += '\x01';
  prefix += '\x00';
  prefix += char(header.size() & 0xff);
  prefix += char(header.size() >> 8);

  auto file = std::make_unique<AtomicOutputFile>(path);
  file->write(prefix.data(), prefix.size());
  file->write(header.data(), header.size());
  file->write(data, size_t(elementCount(shape, path)) * elementSize);
  file->close();
  return file;
}

std::unique_ptr<AtomicOutputFile> stageNpy(const std::string &path, const float *data, const Shape &shape) {
  return stageNpyBytes(path, "<f4", data, sizeof(float), shape);
}

std::unique_ptr<AtomicOutputFile> stageNpy(const std::string &path, const int32_t *data, const Shape &shape) {
  return stageNpyBytes(path, "<i4", data, sizeof(int32_t), shape);
}

void writeNpy(const std::string &path, const float *data, const Shape &shape) { stageNpy(path, data, shape)->commit(); }

void writeNpy(const std::string &path, const int32_t *data, const Shape &shape) {
  stageNpy(path, data, shape)->commit();
}

template <typename T> static NpyArray<T> readNpy(const std::string &path, const std::string &expectedDescr) {
  std::string bytes = readFile(path);
  if (bytes.size() < kMagicSize + 4 || bytes.compare(0, kMagicSize, kMagic, kMagicSize) != 0)
    throw Error(path + ": not an NPY file (bad magic)");
  auto major = uint8_t(bytes[6]);
  size_t lengthBytes = major == 1 ? 2 : 4;
  if (bytes.size() < 8 + lengthBytes)
    throw Error(path + ": truncated NPY header");
  size_t headerLength = 0;
  for (size_t i = 0; i < lengthBytes; ++i)
    headerLength |= size_t(uint8_t(bytes[8 + i])) << (8 * i);
  size_t dataStart = 8 + lengthBytes + headerLength;
  if (dataStart > bytes.size())
    throw Error(path + ": NPY header length " + std::to_string(headerLength) + " exceeds file size");
  std::string header = bytes.substr(8 + lengthBytes, headerLength);

  std::smatch match;
  if (!std::regex_search(header, match, std::regex("'descr':\\s*'([^']*)'")) || match[1] != expectedDescr)
    throw Error(path + ": expected dtype '" + expectedDescr + "', header is " + header);
  if (!std::regex_search(header, std::regex("'fortran_order':\\s*False")))
    throw Error(path + ": only C-order arrays are supported, header is " + header);
  if (!std::regex_search(header, match, std::regex("'shape':\\s*\\(([^)]*)\\)")))
    throw Error(path + ": no shape in header " + header);
  NpyArray<T> array;
  std::string dims = match[1];
  static const std::regex number("\\d+");
  for (std::sregex_iterator it(dims.begin(), dims.end(), number), end; it != end; ++it)
    array.shape.push_back(std::stoll(it->str()));
  size_t count = size_t(elementCount(array.shape, path));
  if (bytes.size() - dataStart != count * sizeof(T))
    throw Error(path + ": shape " + formatShape(array.shape) + " needs " + std::to_string(count * sizeof(T)) +
                " data bytes, file has " + std::to_string(bytes.size() - dataStart));
  array.data.resize(count);
  std::memcpy(array.data.data(), bytes.data() + dataStart, count * sizeof(T));
  return array;
}

NpyArray<float> readNpyFloat(const std::string &path) { return readNpy<float>(path, "<f4"); }
NpyArray<int32_t> readNpyInt32(const std::string &path) { return readNpy<int32_t>(path, "<i4"); }

} // namespace ember::rt
