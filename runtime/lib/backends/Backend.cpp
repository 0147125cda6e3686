#include "ember/runtime/Backend.h"

#include "ember/runtime/CudaDriver.h"
#include "ember/model/Error.h"

#include <cstdlib>
#include <cstring>
#include <optional>
#include <unistd.h>

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

Placement parsePlacement(const std::string &name, const std::string &option) {
  if (name == "device")
    return Placement::Device;
  if (name == "host")
    return Placement::Host;
  throw Error(option + " must be device or host, got '" + name + "'");
}

const char *placementName(Placement placement) { return placement == Placement::Host ? "host" : "device"; }

namespace {

class CpuBackend final : public Backend {
public:
  const char *name() const override { return "cpu"; }
  const char *compileTarget() const override { return "cpu"; }
  bool hostAccessible() const override { return true; }
  uint64_t memoryCapacityBytes() const override {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page) : 0;
  }

  void *allocate(size_t bytes, const std::string &what, Placement) override {
    void *buffer = std::calloc(bytes ? bytes : 1, 1);
    if (!buffer)
      throw Error("out of host memory allocating " + std::to_string(bytes) + " bytes for " + what);
    return buffer;
  }
  void release(void *buffer, Placement) noexcept override { std::free(buffer); }
  void copyToDevice(void *device, const void *host, size_t bytes) override { std::memcpy(device, host, bytes); }
  void copyToHost(void *host, const void *device, size_t bytes) override { std::memcpy(host, device, bytes); }

  std::unique_ptr<SharedLibrary> openArtifact(const std::string &path) override {
    // Its host code expects device memory: refuse it rather than crash, and
    // before dlopen runs its constructors (they load its kernels).
    if (std::optional<std::string> kernels = readExportedString(path, "ember_nvptx_kernels"))
      throw Error(path + " is an nvptx artifact (CUDA kernels: " + *kernels + "): run it with --backend cuda");
    return std::make_unique<SharedLibrary>(path);
  }
};

} // namespace

void requireKernelProfiling(const Backend &backend) {
  if (!backend.profilesKernels())
    throw Error(std::string("--profile times kernel launches with CUDA events, which needs the cuda backend; this "
                            "run uses the ") +
                backend.name() + " backend");
}

void Backend::setKernelProfiling(bool) { requireKernelProfiling(*this); }

void ArtifactCalls::run(PackedFn function, PackedArgs &args, bool) { function(args.data()); }

std::unique_ptr<ArtifactCalls> Backend::artifactCalls(bool) { return std::make_unique<ArtifactCalls>(); }

KernelProfile Backend::takeKernelProfile() {
  requireKernelProfiling(*this);
  return {};
}

std::unique_ptr<Backend> makeCpuBackend() { return std::make_unique<CpuBackend>(); }

std::unique_ptr<Backend> makeBackend(BackendKind kind, const std::function<void(const std::string &)> &notice) {
  if (kind == BackendKind::Cpu)
    return makeCpuBackend();
  try {
    std::string device;
    std::unique_ptr<Backend> cuda = makeCudaBackend(&device);
    if (kind == BackendKind::Auto && notice)
      notice("backend: cuda (" + device + ")");
    return cuda;
  } catch (const CudaUnavailable &error) {
    if (kind == BackendKind::Cuda)
      throw Error(std::string("--backend cuda: ") + error.what());
    if (notice)
      notice("backend: cpu (" + error.summary() + ")");
    return makeCpuBackend();
  }
}

} // namespace ember::rt
