#pragma once

// Where a compiled decoder runs and where its tensors live. The Decoder keeps
// its state (weights, token table, KV caches) in backend memory and calls the
// artifact's packed entry points with memref descriptors that point there.

#include "ember/runtime/KernelProfile.h"
#include "ember/runtime/PackedArgs.h"
#include "ember/runtime/SharedLibrary.h"

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ember::rt {

// Where a buffer of backend memory lives. Host: pinned host memory mapped
// into the device's address space, which kernels read over the bus (the
// n-gram tables: a few rows per token from tens of GB). On the CPU both are
// host memory.
enum class Placement { Device, Host };

// "device" or "host"; throws "<option> must be device or host, got 'x'".
Placement parsePlacement(const std::string &name, const std::string &option);
const char *placementName(Placement placement);

// An artifact's calls as CUDA graphs: graphs captured, and calls run by
// launching one.
struct GraphCounts {
  int64_t captured = 0, launched = 0;
};

// Runs one artifact's entry points. Made by the backend for each opened
// artifact and destroyed before it: graphs of its kernels die with it.
class ArtifactCalls {
public:
  virtual ~ArtifactCalls() = default;
  // function(args). `repeats`: the caller passes the same buffers to later
  // calls of `function` with these shapes (only what they hold changes), so
  // the CUDA backend may capture the call into a graph and replay it.
  virtual void run(PackedFn function, PackedArgs &args, bool repeats);
  virtual GraphCounts graphCounts() const { return {}; }
  // Turns CUDA graphs on or off from the next call on (benchmarks compare).
  virtual void setGraphs(bool) {}
};

class Backend {
public:
  virtual ~Backend() = default;
  virtual const char *name() const = 0; // "cpu", "cuda"
  // The ember-compile target whose artifacts this backend runs ("cpu", "nvptx").
  virtual const char *compileTarget() const = 0;
  // Further ember-compile flags for this device (e.g. --chip sm_90); they
  // are part of the artifact cache key.
  virtual std::vector<std::string> compileFlags() const { return {}; }
  // True when backend memory is host memory: callers pass host buffers
  // straight to the artifact instead of staging copies.
  virtual bool hostAccessible() const = 0;
  // The device memory's datasheet bandwidth (bytes/s) for benchmark ratios;
  // 0 where unknown (the CPU).
  virtual double memoryPeakBytesPerSecond() const { return 0; }
  // What a device-to-device copy achieves (bytes read + written per second),
  // the ceiling a memory-bound kernel can reach: measured on the first call
  // (once per process), 0 where the backend does not measure it (the CPU).
  virtual double copyBytesPerSecond() { return 0; }

  // Bytes of memory the backend allocates from (the CPU: the machine's
  // physical memory); 0 where unknown.
  virtual uint64_t memoryCapacityBytes() const { return 0; }

  // Zero-filled; throws Error naming `what` and the size on failure. The
  // pointer is what kernels and copyToDevice take, whatever the placement.
  virtual void *allocate(size_t bytes, const std::string &what, Placement placement = Placement::Device) = 0;
  // `buffer` from allocate with the same placement.
  virtual void release(void *buffer, Placement placement = Placement::Device) noexcept = 0;
  // `device`: memory from allocate, of either placement.
  virtual void copyToDevice(void *device, const void *host, size_t bytes) = 0;
  virtual void copyToHost(void *host, const void *device, size_t bytes) = 0;

  // Opens an artifact compiled for compileTarget().
  virtual std::unique_ptr<SharedLibrary> openArtifact(const std::string &path) = 0;
  // Runs calls of an artifact opened here. `graphs`: replay repeated calls
  // as CUDA graphs (where the backend has them), one launch for all of a
  // call's kernels, instead of launching each kernel from the host.
  virtual std::unique_ptr<ArtifactCalls> artifactCalls(bool graphs);

  // Kernel profiling (--profile), where the backend can time kernels on the
  // device (CUDA: with events): while on, every kernel launch is timed and
  // counted per ember op.
  virtual bool profilesKernels() const { return false; }
  // Both throw unless profilesKernels() (requireKernelProfiling).
  virtual void setKernelProfiling(bool on);
  // The launches timed since the last take (waiting for running ones).
  virtual KernelProfile takeKernelProfile();
};

// Throws unless `backend` profilesKernels(), naming the backend.
void requireKernelProfiling(const Backend &backend);

// Backend memory freed with its owner (move-only).
class DeviceBuffer {
public:
  DeviceBuffer() = default;
  DeviceBuffer(Backend &backend, size_t bytes, const std::string &what, Placement placement = Placement::Device)
      : backend_(&backend), data_(backend.allocate(bytes, what, placement)), bytes_(bytes), placement_(placement) {}
  DeviceBuffer(DeviceBuffer &&other) noexcept { *this = std::move(other); }
  DeviceBuffer &operator=(DeviceBuffer &&other) noexcept {
    std::swap(backend_, other.backend_);
    std::swap(data_, other.data_);
    std::swap(bytes_, other.bytes_);
    std::swap(placement_, other.placement_);
    return *this;
  }
  ~DeviceBuffer() {
    if (data_)
      backend_->release(data_, placement_);
  }
  void *data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Placement placement() const { return placement_; }

private:
  Backend *backend_ = nullptr;
  void *data_ = nullptr;
  size_t bytes_ = 0;
  Placement placement_ = Placement::Device;
};

enum class BackendKind { Auto, Cpu, Cuda };

// "auto", "cpu" or "cuda"; throws "--backend must be auto, cpu or cuda, got 'x'".
BackendKind parseBackendKind(const std::string &name);

// Host memory, artifacts dlopen'ed as they are (nvptx artifacts refused).
std::unique_ptr<Backend> makeCpuBackend();

// The CUDA driver backend on device 0 (choose with CUDA_VISIBLE_DEVICES).
// Throws CudaUnavailable (CudaDriver.h) naming the step that failed;
// `device`, if given, receives e.g. "NVIDIA H100 80GB HBM3, sm_90".
std::unique_ptr<Backend> makeCudaBackend(std::string *device = nullptr);

// Auto picks CUDA when a driver and a device exist, else the CPU, telling
// `notice` why in one line. Cuda throws when no driver or device is usable.
std::unique_ptr<Backend> makeBackend(BackendKind kind, const std::function<void(const std::string &)> &notice);

} // namespace ember::rt
