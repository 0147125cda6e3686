#include "ember/runtime/Backend.h"

#include "ember/runtime/Error.h"

#include <cstdlib>
#include <cstring>

namespace ember::rt {

BackendKind parseBackendKind(const std::string &name) {
  if (name == "auto")
    return BackendKind::Auto;
  if (name == "cpu")
    return BackendKind::Cpu;
  if (name == "cuda")
    return BackendKind::Cuda;
  throw Error("--backend must be auto, cpu or cuda, got '" + name + "'");
}

namespace {

class CpuBackend final : public Backend {
public:
  const char *name() const override { return "cpu"; }
  const char *compileTarget() const override { return "cpu"; }
  bool hostAccessible() const override { return true; }

  void *allocate(size_t bytes, const std::string &what) override {
    void *buffer = std::calloc(bytes ? bytes : 1, 1);
    if (!buffer)
      throw Error("out of host memory allocating " + std::to_string(bytes) + " bytes for " + what);
    return buffer;
  }
  void release(void *buffer) noexcept override { std::free(buffer); }
  void copyToDevice(void *device, const void *host, size_t bytes) override { std::memcpy(device, host, bytes); }
  void copyToHost(void *host, const void *device, size_t bytes) override { std::memcpy(host, device, bytes); }

  std::unique_ptr<SharedLibrary> openArtifact(const std::string &path) override {
    return std::make_unique<SharedLibrary>(path);
  }
};

} // namespace

std::unique_ptr<Backend> makeCpuBackend() { return std::make_unique<CpuBackend>(); }

std::unique_ptr<Backend> makeBackend(BackendKind kind, const std::function<void(const std::string &)> &notice) {
  // The CUDA driver backend is not built yet: auto falls back, cuda refuses.
  if (kind == BackendKind::Cuda)
    throw Error("--backend cuda: this build has no CUDA backend");
  if (kind == BackendKind::Auto && notice)
    notice("backend: cpu (this build has no CUDA backend)");
  return makeCpuBackend();
}

} // namespace ember::rt
