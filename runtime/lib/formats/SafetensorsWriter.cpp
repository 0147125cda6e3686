#include "ember/runtime/SafetensorsWriter.h"

#include "ember/model/Error.h"

#include <nlohmann/json.hpp>

namespace ember::rt {

size_t TensorSpec::nbytes() const { return size_t(elementCount(shape, "tensor '" + name + "'")) * dtypeSize(dtype); }

SafetensorsWriter::SafetensorsWriter(std::string path, std::vector<TensorSpec> tensors)
    : tensors_(std::move(tensors)), file_(std::move(path)) {
  // ordered_json keeps the declaration order in the header, which readers ignore
  // but which makes files easy to inspect.
  nlohmann::ordered_json header;
  header["__metadata__"] = {{"format", "pt"}};
  for (const TensorSpec &spec : tensors_) {
    if (header.contains(spec.name))
      throw Error(file_.path() + ": tensor '" + spec.name + "' declared twice");
    if (totalBytes_ % dtypeSize(spec.dtype) != 0)
      throw Error(file_.path() + ": tensor '" + spec.name + "' would start at byte " + std::to_string(totalBytes_) +
                  ", not a multiple of its element size " + std::to_string(dtypeSize(spec.dtype)) +
                  " (declare wider dtypes first)");
    uint64_t end = totalBytes_ + spec.nbytes();
    header[spec.name] = {{"dtype", dtypeName(spec.dtype)}, {"shape", spec.shape}, {"data_offsets", {totalBytes_, end}}};
    totalBytes_ = end;
  }
  std::string headerText = header.dump();
  headerText.append((8 - headerText.size() % 8) % 8, ' '); // data section starts 8-byte aligned
  std::byte length[8];
  for (int i = 0; i < 8; ++i)
    length[i] = std::byte((uint64_t(headerText.size()) >> (8 * i)) & 0xff);
  file_.write(length, sizeof length);
  file_.write(headerText.data(), headerText.size());
}

void SafetensorsWriter::write(const void *data, size_t size) {
  if (writtenBytes_ + size > totalBytes_)
    throw Error(file_.path() + ": " + std::to_string(writtenBytes_ + size) + " bytes of tensor data written, but the " +
                "declared tensors hold only " + std::to_string(totalBytes_));
  file_.write(data, size);
  writtenBytes_ += size;
}

void SafetensorsWriter::finish() {
  if (writtenBytes_ != totalBytes_)
    throw Error(file_.path() + ": only " + std::to_string(writtenBytes_) + " of " + std::to_string(totalBytes_) +
                " bytes of tensor data were written");
  file_.close();
}

void SafetensorsWriter::commit() {
  finish();
  file_.commit();
}

void writeSafetensors(const std::string &path, const std::vector<TensorData> &tensors) {
  std::vector<TensorSpec> specs;
  for (const TensorData &tensor : tensors) {
    if (tensor.data.size() != tensor.spec.nbytes())
      throw Error(path + ": tensor '" + tensor.spec.name + "' has " + std::to_string(tensor.data.size()) +
                  " bytes of data, expected " + std::to_string(tensor.spec.nbytes()));
    specs.push_back(tensor.spec);
  }
  SafetensorsWriter writer(path, std::move(specs));
  for (const TensorData &tensor : tensors)
    writer.write(tensor.data.data(), tensor.data.size());
  writer.commit();
}

} // namespace ember::rt
