// The CUDA driver backend: device memory through the driver API, artifacts
// compiled for nvptx whose host code calls the mgpu* shim (CudaShim.cpp).

#include "KernelProfiler.h"

#include "ember/runtime/Backend.h"

#include <atomic>
#include <cstdint>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace ember::rt {

using namespace cuda;

namespace {
std::atomic<CudaSession *> session{nullptr};

// "sm_90" -> 90, or -1.
int smNumber(const std::string &chip) {
  return chip.rfind("sm_", 0) == 0 && chip.size() > 3 && chip.find_first_not_of("0123456789", 3) == std::string::npos
             ? std::stoi(chip.substr(3))
             : -1;
}

// Throws unless kernels marked `kernels` ("<chip> <format>", the artifact's
// ember_nvptx_kernels) run on a GPU of `deviceChip`: a cubin only on its own
// major version at the same or a newer minor one (CUDA's binary
// compatibility), PTX (alone or in a fatbin) on its chip or any newer one,
// through the driver's JIT.
void checkKernelsRunOn(const std::string &path, const std::string &kernels, const std::string &deviceName,
                       const std::string &deviceChip) {
  std::string chip = kernels.substr(0, kernels.find(' ')), format = kernels.substr(kernels.find(' ') + 1);
  int built = smNumber(chip), device = smNumber(deviceChip);
  bool runs = format == "cubin" ? built / 10 == device / 10 && built <= device : built <= device;
  if (built < 0 || device < 0 || !runs)
    throw Error(path + ": its kernels were compiled for " + chip + " (" + format + "), which " + deviceName + " (" +
                deviceChip + ") cannot run; compile for this GPU (ember-compile --target nvptx --chip " + deviceChip +
                ")");
}
} // namespace

CUresult CudaSession::bind() const noexcept {
  // The current context is per thread; artifacts may be called from any.
  thread_local CUcontext bound = nullptr;
  if (bound == context)
    return CUDA_SUCCESS;
  CUresult result = driver->cuCtxSetCurrent(context);
  if (result == CUDA_SUCCESS)
    bound = context;
  return result;
}

namespace {
// A thread's hold on one of the session's streams, given back when the
// thread ends (std::async starts a thread per task).
struct StreamLease {
  const CudaSession *session = nullptr;
  CUstream stream = nullptr;
  ~StreamLease() {
    if (!stream)
      return;
    std::lock_guard<std::mutex> lock(session->idleStreamsMutex);
    session->idleStreams.push_back(stream);
  }
};
} // namespace

CUresult CudaSession::threadStream(CUstream *stream) const noexcept {
  thread_local StreamLease lease;
  if (!lease.stream) {
    {
      std::lock_guard<std::mutex> lock(idleStreamsMutex);
      if (!idleStreams.empty()) {
        lease.stream = idleStreams.back();
        idleStreams.pop_back();
      }
    }
    // A blocking stream also orders against the setup's work, should any
    // reach the legacy default stream.
    if (!lease.stream)
      if (CUresult result = driver->cuStreamCreate(&lease.stream, CU_STREAM_DEFAULT))
        return result;
    lease.session = this;
  }
  *stream = lease.stream;
  return CUDA_SUCCESS;
}

CUstream CudaSession::readyStream(const std::string &doing) const {
  std::string error = takeMgpuError();
  if (!error.empty())
    throw Error("CUDA error in compiled code, found before " + doing + ": " + error);
  driver->check(bind(), "cuCtxSetCurrent");
  CUstream stream = nullptr;
  driver->check(threadStream(&stream), "cuStreamCreate");
  return stream;
}

CudaSession *cudaSessionOrNull() { return session.load(); }

CudaSession &openCudaSession() {
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  if (CudaSession *open = session.load())
    return *open;
  auto created = std::make_unique<CudaSession>();
  created->driver = CudaDriver::load();
  const CudaDriver &driver = *created->driver;
  auto need = [&](CUresult result, const char *call) {
    if (result != CUDA_SUCCESS)
      throw CudaUnavailable(std::string("CUDA unusable: ") + call + " failed: " + driver.errorName(result),
                            std::string(call) + " failed: " + driver.describe(result));
  };
  int count = 0;
  need(driver.cuDeviceGetCount(&count), "cuDeviceGetCount");
  if (count == 0)
    throw CudaUnavailable("no CUDA device", "cuDeviceGetCount found no CUDA device");
  need(driver.cuDeviceGet(&created->device, 0), "cuDeviceGet");
  char name[256] = "";
  need(driver.cuDeviceGetName(name, sizeof name, created->device), "cuDeviceGetName");
  created->deviceName = name;
  auto attribute = [&](int attribute) {
    int value = 0;
    need(driver.cuDeviceGetAttribute(&value, attribute, created->device),
         ("cuDeviceGetAttribute(" + std::to_string(attribute) + ")").c_str());
    return value;
  };
  created->chip = "sm_" + std::to_string(attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)) +
                  std::to_string(attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR));
  int memoryClockKHz = 0, busWidthBits = 0;
  if (driver.cuDeviceGetAttribute(&memoryClockKHz, CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE, created->device) ==
          CUDA_SUCCESS &&
      driver.cuDeviceGetAttribute(&busWidthBits, CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH, created->device) ==
          CUDA_SUCCESS)
    created->memoryPeakBytesPerSecond = 2.0 * memoryClockKHz * 1e3 * busWidthBits / 8;
  created->multiprocessors = attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
  size_t totalMemory = 0;
  need(driver.cuDeviceTotalMem(&totalMemory, created->device), "cuDeviceTotalMem_v2");
  created->totalMemoryBytes = totalMemory;
  CudaSession::LaunchLimits &limits = created->limits;
  limits.threadsPerBlock = attribute(CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK);
  for (int axis = 0; axis < 3; ++axis) {
    limits.block[size_t(axis)] = attribute(CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X + axis);
    limits.grid[size_t(axis)] = attribute(CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X + axis);
  }
  limits.sharedBytesOptIn = attribute(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
  need(driver.cuDevicePrimaryCtxRetain(&created->context, created->device), "cuDevicePrimaryCtxRetain");
  need(created->bind(), "cuCtxSetCurrent");
  // The pool keeps freed temporaries for the next artifact call instead of
  // returning them to the OS at every synchronization.
  CUmemoryPool pool = nullptr;
  uint64_t keepAll = std::numeric_limits<uint64_t>::max();
  need(driver.cuDeviceGetDefaultMemPool(&pool, created->device), "cuDeviceGetDefaultMemPool");
  need(driver.cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &keepAll), "cuMemPoolSetAttribute");
  session = created.release(); // kept until exit, see CudaSession
  return *session.load();
}

namespace {

class CudaBackend final : public Backend {
public:
  explicit CudaBackend(CudaSession &session) : s_(session) {
    takeMgpuError(); // e.g. from an nvptx artifact opened before CUDA was up
  }
  const char *name() const override { return "cuda"; }
  const char *compileTarget() const override { return "nvptx"; }
  std::vector<std::string> compileFlags() const override { return {"--chip", s_.chip}; }
  bool hostAccessible() const override { return false; }
  double memoryPeakBytesPerSecond() const override { return s_.memoryPeakBytesPerSecond; }
  uint64_t memoryCapacityBytes() const override { return s_.totalMemoryBytes; }

  // Device memory comes from the stream-ordered pool: cuMemAlloc and
  // cuMemFree would synchronize the device, and Call allocates its staging
  // buffers while another thread's call may be running.
  void *allocate(size_t bytes, const std::string &what, Placement placement) override {
    if (placement == Placement::Host)
      return allocateMappedHost(bytes, what);
    CUstream stream = ready("allocating device memory for " + what);
    CUdeviceptr pointer = 0;
    CUresult result = driver().cuMemAllocAsync(&pointer, bytes ? bytes : 1, stream);
    if (result != CUDA_SUCCESS)
      throw Error("cannot allocate " + std::to_string(bytes) + " bytes of device memory for " + what + " on " +
                  s_.deviceName + ": cuMemAllocAsync failed: " + driver().describe(result));
    const char *call = "cuMemsetD8Async";
    result = driver().cuMemsetD8Async(pointer, 0, bytes, stream);
    if (result == CUDA_SUCCESS) {
      call = "cuStreamSynchronize";
      result = driver().cuStreamSynchronize(stream);
    }
    if (result != CUDA_SUCCESS) {
      driver().cuMemFreeAsync(pointer, stream);
      driver().check(result, ("zeroing the device memory for " + what + ": " + call).c_str());
    }
    return reinterpret_cast<void *>(pointer);
  }

  // Every call synchronizes its stream before returning, so whatever used
  // the buffer has finished, on any stream.
  void release(void *buffer, Placement placement) noexcept override {
    if (placement == Placement::Host) {
      std::lock_guard<std::mutex> lock(mappedHostMutex_);
      auto found = mappedHost_.find(buffer);
      if (found != mappedHost_.end() && s_.bind() == CUDA_SUCCESS) {
        driver().cuMemFreeHost(found->second);
        mappedHost_.erase(found);
      }
      return;
    }
    CUstream stream = nullptr;
    if (buffer && s_.bind() == CUDA_SUCCESS && s_.threadStream(&stream) == CUDA_SUCCESS)
      driver().cuMemFreeAsync(CUdeviceptr(buffer), stream);
  }

  void copyToDevice(void *device, const void *host, size_t bytes) override {
    CUstream stream = ready("copying to the device");
    if (bytes) {
      driver().check(driver().cuMemcpyHtoDAsync(CUdeviceptr(device), host, bytes, stream), "cuMemcpyHtoDAsync_v2");
      driver().check(driver().cuStreamSynchronize(stream), "cuStreamSynchronize (after copying to the device)");
    }
  }

  void copyToHost(void *host, const void *device, size_t bytes) override {
    CUstream stream = ready("copying to the host");
    if (bytes) {
      driver().check(driver().cuMemcpyDtoHAsync(host, CUdeviceptr(device), bytes, stream), "cuMemcpyDtoHAsync_v2");
      driver().check(driver().cuStreamSynchronize(stream), "cuStreamSynchronize (after copying to the host)");
    }
  }

  // The artifact's constructors load its kernels into the current context;
  // the shim reads their ember ops from its kernel manifest meanwhile.
  std::unique_ptr<SharedLibrary> openArtifact(const std::string &path) override {
    ready("opening " + path);
    // Read from the file: dlopen runs the artifact's constructors, which load
    // its kernels on the device.
    std::optional<std::string> kernels = readExportedString(path, "ember_nvptx_kernels");
    if (!kernels && isElf64File(path))
      throw Error(path + " is not an nvptx artifact (it lacks ember_nvptx_kernels): --backend cuda runs what "
                         "ember-compile --target nvptx produces");
    if (kernels)
      checkKernelsRunOn(path, *kernels, s_.deviceName, s_.chip);
    auto library = std::make_unique<SharedLibrary>(path);
    std::string error = takeMgpuError();
    if (!error.empty())
      throw Error(path + ": loading its kernels (" + kernels.value_or("?") + ") on " + s_.deviceName + " (" + s_.chip +
                  ") failed: " + error);
    return library;
  }

  std::unique_ptr<ArtifactCalls> artifactCalls(bool graphs) override { return makeCudaArtifactCalls(s_, graphs); }

  bool profilesKernels() const override { return true; }
  void setKernelProfiling(bool on) override { kernelProfilingOn = on; }
  KernelProfile takeKernelProfile() override {
    ready("reading the kernel profile");
    KernelProfile profile = rt::takeKernelProfile(s_);
    profile.copyBytesPerSecond = copyBytesPerSecond();
    return profile;
  }

  // 256 MiB, past the L2 of any GPU, copied 5 times after a warm-up.
  double copyBytesPerSecond() override {
    static std::once_flag measured;
    static double rate = 0;
    std::call_once(measured, [&] { rate = measureCopy(size_t(256) << 20, 5); });
    return rate;
  }

private:
  const CudaDriver &driver() const { return *s_.driver; }

  // Write-combined: the host writes it once, kernels read it over the bus,
  // and only cuMemHostGetDevicePointer gives the address they read it at.
  void *allocateMappedHost(size_t bytes, const std::string &what) {
    ready("allocating pinned host memory for " + what);
    void *host = nullptr;
    CUresult result =
        driver().cuMemHostAlloc(&host, bytes ? bytes : 1, CU_MEMHOSTALLOC_DEVICEMAP | CU_MEMHOSTALLOC_WRITECOMBINED);
    if (result != CUDA_SUCCESS)
      throw Error("cannot allocate " + std::to_string(bytes) + " bytes of pinned host memory for " + what +
                  ": cuMemHostAlloc failed: " + driver().describe(result));
    CUdeviceptr device = 0;
    result = driver().cuMemHostGetDevicePointer(&device, host, 0);
    if (result != CUDA_SUCCESS) {
      driver().cuMemFreeHost(host);
      throw Error("cannot map the pinned host memory for " + what + " into " + s_.deviceName +
                  ": cuMemHostGetDevicePointer_v2 failed: " + driver().describe(result));
    }
    std::memset(host, 0, bytes);
    std::lock_guard<std::mutex> lock(mappedHostMutex_);
    mappedHost_.emplace(reinterpret_cast<void *>(device), host);
    return reinterpret_cast<void *>(device);
  }

  double measureCopy(size_t bytes, int copies) {
    void *source = allocate(bytes, "the copy-rate measurement", Placement::Device), *target = nullptr;
    CUevent start = nullptr, stop = nullptr;
    float milliseconds = 0;
    CUresult result = CUDA_SUCCESS;
    try {
      target = allocate(bytes, "the copy-rate measurement", Placement::Device);
      CUstream stream = ready("measuring the device-to-device copy rate");
      auto copy = [&] { return driver().cuMemcpyAsync(CUdeviceptr(target), CUdeviceptr(source), bytes, stream); };
      result = driver().cuEventCreate(&start, 0);
      if (result == CUDA_SUCCESS)
        result = driver().cuEventCreate(&stop, 0);
      if (result == CUDA_SUCCESS)
        result = copy();
      if (result == CUDA_SUCCESS)
        result = driver().cuEventRecord(start, stream);
      for (int i = 0; i < copies && result == CUDA_SUCCESS; ++i)
        result = copy();
      if (result == CUDA_SUCCESS)
        result = driver().cuEventRecord(stop, stream);
      if (result == CUDA_SUCCESS)
        result = driver().cuEventSynchronize(stop);
      if (result == CUDA_SUCCESS)
        result = driver().cuEventElapsedTime(&milliseconds, start, stop);
    } catch (...) {
      release(source, Placement::Device);
      throw;
    }
    for (CUevent event : {start, stop})
      if (event)
        driver().cuEventDestroy(event);
    release(target, Placement::Device);
    release(source, Placement::Device);
    driver().check(result, "measuring the device-to-device copy rate");
    return milliseconds > 0 ? 2.0 * double(bytes) * copies / (milliseconds / 1e3) : 0;
  }

  CUstream ready(const std::string &doing) { return s_.readyStream(doing); }

  CudaSession &s_;
  std::mutex mappedHostMutex_;
  std::unordered_map<void *, void *> mappedHost_; // device address -> host address of Placement::Host buffers
};

} // namespace

std::unique_ptr<Backend> makeCudaBackend(std::string *device) {
  CudaSession &opened = openCudaSession();
  if (device)
    *device = opened.deviceName + ", " + opened.chip;
  return std::make_unique<CudaBackend>(opened);
}

} // namespace ember::rt
