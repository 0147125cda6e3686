// The mgpu* functions that MLIR's gpu-to-llvm lowering and gpu.binary
// translation make an nvptx artifact call (signatures as MLIR 22 emits them),
// on the runtime's CUDA session. Debian ships no libmlir_cuda_runtime, and
// ours shares the backend's context and stream.
//
// Resolution: nvptx artifacts leave these symbols undefined. Executables
// linking EmberRuntime export them (runtime/CMakeLists.txt, mgpu.exports)
// and contain them once they use a Backend (makeBackend -> makeCudaBackend ->
// takeMgpuError), so dlopen binds the artifact's references to them.
//
// One stream per thread: mgpuStreamCreate returns the calling thread's
// stream (CudaSession::threadStream) and mgpuStreamDestroy keeps it, so an
// artifact call costs no stream creation, a single in-order stream satisfies
// every async dependency the host code expresses, and calls from two threads
// overlap on the device.
//
// Launches: mgpuLaunchKernel checks each launch against the device's and the
// kernel's limits and records an error naming the kernel, its ember op and
// the limit instead of launching (CudaKernels.h); with profiling on it times
// the kernel (KernelProfiler.h).

#include "KernelProfiler.h"

#include <atomic>
#include <cstdint>
#include <mutex>
#include <utility>

namespace ember::rt {

namespace {

using namespace cuda;

std::mutex errorMutex;
std::string pendingError;
std::atomic<bool> hasPendingError{false};

void recordError(const std::string &message) {
  std::lock_guard<std::mutex> lock(errorMutex);
  if (pendingError.empty()) // later failures are usually consequences
    pendingError = message;
  hasPendingError = true;
}

// The session bound to this thread, or nullptr (recorded) without one. After
// a failure, work-issuing calls stop (`afterError` false) so a failed
// allocation is not followed by kernels writing through a null pointer.
const CudaSession *ready(const char *function, bool afterError = false) {
  if (hasPendingError && !afterError)
    return nullptr;
  CudaSession *session = cudaSessionOrNull();
  if (!session) {
    recordError(std::string(function) +
                ": no CUDA context (nvptx artifacts run only after the CUDA backend is created)");
    return nullptr;
  }
  CUresult bound = session->bind();
  if (bound != CUDA_SUCCESS) {
    recordError(std::string(function) + ": cuCtxSetCurrent failed: " + session->driver->describe(bound));
    return nullptr;
  }
  return session;
}

bool succeeded(const CudaSession &session, CUresult result, const char *function, const char *call) {
  if (result == CUDA_SUCCESS)
    return true;
  recordError(std::string(function) + ": " + call + " failed: " + session.driver->describe(result));
  return false;
}

// Registers the kernels of a module just loaded from `image`.
void registerModule(CUmodule module, const void *image, const char *function) {
  try {
    registerKernelModule(module, image);
  } catch (const Error &error) {
    recordError(std::string(function) + ": " + error.what());
  }
}

} // namespace

namespace {
thread_local bool capturingGraph = false;
} // namespace

void setCapturingGraph(bool capturing) { capturingGraph = capturing; }

std::string takeMgpuError() {
  std::lock_guard<std::mutex> lock(errorMutex);
  hasPendingError = false;
  return std::exchange(pendingError, std::string());
}

} // namespace ember::rt

using namespace ember;
using namespace ember::rt;
using namespace ember::rt::cuda;

extern "C" {

// format bin/fatbin: a cubin or fatbin image.
CUmodule mgpuModuleLoad(void *data, size_t /*size*/) {
  CUmodule module = nullptr;
  if (const CudaSession *s = ready(__func__))
    if (succeeded(*s, s->driver->cuModuleLoadData(&module, data), __func__, "cuModuleLoadData"))
      registerModule(module, data, __func__);
  return module;
}

// format isa: NUL-terminated PTX, compiled by the driver now.
CUmodule mgpuModuleLoadJIT(void *data, int optLevel) {
  CUmodule module = nullptr;
  const CudaSession *s = ready(__func__);
  if (!s)
    return nullptr;
  char log[4096] = "";
  int options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES, CU_JIT_OPTIMIZATION_LEVEL};
  void *values[] = {log, reinterpret_cast<void *>(uintptr_t(sizeof log)), reinterpret_cast<void *>(intptr_t(optLevel))};
  CUresult result = s->driver->cuModuleLoadDataEx(&module, data, 3, options, values);
  if (result != CUDA_SUCCESS)
    recordError(std::string(__func__) + ": cuModuleLoadDataEx (PTX JIT) failed: " + s->driver->describe(result) +
                (log[0] ? std::string(": ") + log : std::string()));
  else
    registerModule(module, data, __func__);
  return module;
}

void mgpuModuleUnload(CUmodule module) {
  if (module)
    forgetKernelModule(module);
  // Runs from the artifact's destructors, possibly after the driver shut
  // down at exit: failures are not worth reporting.
  if (const CudaSession *s = module ? ready(__func__, true) : nullptr)
    s->driver->cuModuleUnload(module);
}

// Compiled code calls this before every launch: once the kernel is known,
// it costs a lookup.
CUfunction mgpuModuleGetFunction(CUmodule module, const char *name) {
  CUfunction function = nullptr;
  const CudaSession *s = ready(__func__);
  if (!s)
    return nullptr;
  CUresult result = s->driver->cuModuleGetFunction(&function, module, name);
  if (result != CUDA_SUCCESS) {
    recordError(std::string(__func__) + ": cuModuleGetFunction(" + name + ") failed: " + s->driver->describe(result));
    return function;
  }
  try {
    kernelFor(*s, function, module, name);
  } catch (const Error &error) {
    recordError(std::string(__func__) + ": " + error.what());
  }
  return function;
}

void mgpuLaunchKernel(CUfunction function, intptr_t gridX, intptr_t gridY, intptr_t gridZ, intptr_t blockX,
                      intptr_t blockY, intptr_t blockZ, int32_t sharedMemory, CUstream stream, void **params,
                      void **extra, size_t /*paramsCount*/) {
  const CudaSession *s = ready(__func__);
  if (!s)
    return;
  const LaunchDims dims{{gridX, gridY, gridZ}, {blockX, blockY, blockZ}, sharedMemory};
  try {
    LaunchedKernel &kernel = kernelFor(*s, function);
    if (std::string problem = checkLaunch(*s, kernel, dims); !problem.empty()) {
      recordError(kernel.describe(dims) + ": " + problem);
      return;
    }
    auto launch = [&] {
      return s->driver->cuLaunchKernel(function, unsigned(gridX), unsigned(gridY), unsigned(gridZ), unsigned(blockX),
                                       unsigned(blockY), unsigned(blockZ), unsigned(sharedMemory), stream, params,
                                       extra);
    };
    CUresult result = profilingKernels() ? timeLaunch(*s, kernel, dims, stream, launch) : launch();
    if (result != CUDA_SUCCESS)
      recordError(kernel.describe(dims) + ": cuLaunchKernel failed: " + s->driver->describe(result));
  } catch (const Error &error) {
    recordError(std::string(__func__) + ": " + error.what());
  }
}

CUstream mgpuStreamCreate() {
  CUstream stream = nullptr;
  if (const CudaSession *s = ready(__func__))
    succeeded(*s, s->threadStream(&stream), __func__, "cuStreamCreate");
  return stream;
}

void mgpuStreamDestroy(CUstream) {}

// Where asynchronous kernel faults surface, and profiled launches get their
// times. Left out while capturing a graph (setCapturingGraph).
void mgpuStreamSynchronize(CUstream stream) {
  if (capturingGraph)
    return;
  const CudaSession *s = ready(__func__);
  if (!s || !succeeded(*s, s->driver->cuStreamSynchronize(stream), __func__, "cuStreamSynchronize"))
    return;
  try {
    collectTimedLaunches(*s, stream);
  } catch (const Error &error) {
    recordError(std::string(__func__) + ": " + error.what());
  }
}

void mgpuStreamWaitEvent(CUstream stream, CUevent event) {
  if (const CudaSession *s = ready(__func__))
    succeeded(*s, s->driver->cuStreamWaitEvent(stream, event, 0), __func__, "cuStreamWaitEvent");
}

CUevent mgpuEventCreate() {
  CUevent event = nullptr;
  if (const CudaSession *s = ready(__func__))
    succeeded(*s, s->driver->cuEventCreate(&event, CU_EVENT_DISABLE_TIMING), __func__, "cuEventCreate");
  return event;
}

void mgpuEventDestroy(CUevent event) {
  if (const CudaSession *s = event ? ready(__func__, true) : nullptr)
    succeeded(*s, s->driver->cuEventDestroy(event), __func__, "cuEventDestroy_v2");
}

void mgpuEventSynchronize(CUevent event) {
  if (const CudaSession *s = ready(__func__))
    succeeded(*s, s->driver->cuEventSynchronize(event), __func__, "cuEventSynchronize");
}

void mgpuEventRecord(CUevent event, CUstream stream) {
  if (const CudaSession *s = ready(__func__))
    succeeded(*s, s->driver->cuEventRecord(event, stream), __func__, "cuEventRecord");
}

// Temporaries come from the device's stream-ordered pool (see
// openCudaSession), which makes per-call allocation cheap. The flag is an
// i8 in MLIR's declaration.
void *mgpuMemAlloc(uint64_t bytes, CUstream stream, uint8_t hostShared) {
  CUdeviceptr pointer = 0;
  const CudaSession *s = bytes ? ready(__func__) : nullptr;
  if (s && hostShared)
    succeeded(*s, s->driver->cuMemAllocManaged(&pointer, bytes, CU_MEM_ATTACH_GLOBAL), __func__, "cuMemAllocManaged");
  else if (s)
    succeeded(*s, s->driver->cuMemAllocAsync(&pointer, bytes, stream), __func__,
              ("cuMemAllocAsync(" + std::to_string(bytes) + " bytes)").c_str());
  return reinterpret_cast<void *>(pointer);
}

void mgpuMemFree(void *pointer, CUstream stream) {
  if (const CudaSession *s = pointer ? ready(__func__, true) : nullptr)
    succeeded(*s, s->driver->cuMemFreeAsync(CUdeviceptr(pointer), stream), __func__, "cuMemFreeAsync");
}

void mgpuMemcpy(void *destination, void *source, size_t bytes, CUstream stream) {
  if (const CudaSession *s = ready(__func__))
    succeeded(*s, s->driver->cuMemcpyAsync(CUdeviceptr(destination), CUdeviceptr(source), bytes, stream), __func__,
              "cuMemcpyAsync");
}

void mgpuMemset32(void *destination, unsigned value, size_t count, CUstream stream) {
  if (const CudaSession *s = ready(__func__))
    succeeded(*s, s->driver->cuMemsetD32Async(CUdeviceptr(destination), value, count, stream), __func__,
              "cuMemsetD32Async");
}

void mgpuMemset16(void *destination, unsigned short value, size_t count, CUstream stream) {
  if (const CudaSession *s = ready(__func__))
    succeeded(*s, s->driver->cuMemsetD16Async(CUdeviceptr(destination), value, count, stream), __func__,
              "cuMemsetD16Async");
}

// The session always uses device 0 (select one with CUDA_VISIBLE_DEVICES).
void mgpuSetDefaultDevice(int32_t device) {
  if (device != 0)
    recordError("mgpuSetDefaultDevice(" + std::to_string(device) +
                "): ember runs on device 0; choose the GPU with CUDA_VISIBLE_DEVICES");
}

} // extern "C"
