#include "ember/runtime/NgramArtifact.h"

#include "ember/runtime/Error.h"

#include <cstring>
#include <dlfcn.h>

namespace ember::rt {

static std::string lastDlError() {
  const char *message = dlerror();
  return message ? message : "unknown dlopen error";
}

NgramArtifact::NgramArtifact(const std::string &path) : path_(path) {
  dlerror(); // clear any stale error
  handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle_)
    throw Error(path + ": cannot load compiled artifact: " + lastDlError());
  embed_ = reinterpret_cast<NgramEmbedFn>(dlsym(handle_, kNgramEmbedSymbol));
  if (!embed_) {
    std::string message = lastDlError();
    dlclose(handle_);
    throw Error(path + ": artifact lacks symbol '" + kNgramEmbedSymbol + "': " + message);
  }
}

NgramArtifact::~NgramArtifact() { dlclose(handle_); }

ConcatenatedRows::ConcatenatedRows(const std::vector<const TensorView *> &parts) {
  if (parts.empty())
    throw Error("ConcatenatedRows: no tensors given");
  const TensorView &first = *parts.front();
  if (first.shape.empty())
    throw Error(first.file + ": tensor '" + first.name + "' is a scalar; cannot concatenate rows");
  dtype_ = first.dtype;
  rowShape_.assign(first.shape.begin() + 1, first.shape.end());
  bool contiguous = true;
  for (size_t i = 0; i < parts.size(); ++i) {
    const TensorView &part = *parts[i];
    if (part.dtype != dtype_)
      throw Error(part.file + ": tensor '" + part.name + "' has dtype " + dtypeName(part.dtype) + " but tensor '" +
                  first.name + "' has " + dtypeName(dtype_) + "; concatenated tensors need one dtype");
    if (part.shape.empty() || Shape(part.shape.begin() + 1, part.shape.end()) != rowShape_)
      throw Error(part.file + ": tensor '" + part.name + "' has shape " + formatShape(part.shape) +
                  ", expected rows of shape " + formatShape(rowShape_) + " like tensor '" + first.name + "'");
    if (i > 0) {
      const TensorView &previous = *parts[i - 1];
      contiguous = contiguous && part.file == previous.file && part.data == previous.data + previous.nbytes;
    }
    rows_ += part.shape[0];
    nbytes_ += part.nbytes;
  }
  if (contiguous) {
    data_ = first.data;
    zeroCopy_ = true;
    return;
  }
  owned_.resize(nbytes_);
  size_t offset = 0;
  for (const TensorView *part : parts) {
    std::memcpy(owned_.data() + offset, part->data, part->nbytes);
    offset += part->nbytes;
  }
  data_ = owned_.data();
}

} // namespace ember::rt
