#pragma once

// The CUDA driver API, loaded at run time from libcuda.so.1. Nothing links
// libcuda: the toolkit's stub would keep every binary from starting on a
// machine without a driver. Only the types and constants ember uses are
// declared here, so building needs no CUDA headers.

#include "ember/model/Error.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace ember::rt {

namespace cuda {
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUevent = struct CUevent_st *;
using CUmemoryPool = struct CUmemPoolHandle_st *;
using CUgraph = struct CUgraph_st *;
using CUgraphExec = struct CUgraphExec_st *;

constexpr CUresult CUDA_SUCCESS = 0;
constexpr int CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 1;
constexpr int CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X = 2; // Y, Z follow
constexpr int CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X = 5;  // Y, Z follow
constexpr int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
constexpr int CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
constexpr int CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE = 36; // kHz
constexpr int CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH = 37; // bits
constexpr int CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 0;
constexpr int CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES = 1; // static shared memory
constexpr int CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
constexpr int CU_MEMPOOL_ATTR_RELEASE_THRESHOLD = 4;
constexpr int CU_JIT_ERROR_LOG_BUFFER = 5;
constexpr int CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;
constexpr int CU_JIT_OPTIMIZATION_LEVEL = 7;
constexpr unsigned CU_STREAM_DEFAULT = 0;
constexpr unsigned CU_EVENT_DEFAULT = 0; // with timing
constexpr unsigned CU_EVENT_DISABLE_TIMING = 2;
constexpr unsigned CU_MEM_ATTACH_GLOBAL = 1;
constexpr unsigned CU_MEMHOSTALLOC_DEVICEMAP = 0x02;
constexpr unsigned CU_MEMHOSTALLOC_WRITECOMBINED = 0x04;
// Only the capturing thread's unsafe calls (a synchronization, say) break
// a capture, not other threads' work.
constexpr int CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1;
// Graph allocations still live when the graph is launched again are freed
// first.
constexpr unsigned long long CUDA_GRAPH_INSTANTIATE_FLAG_AUTO_FREE_ON_LAUNCH = 1;
// PTX ISA 8.0, which ember's kernels use, came with CUDA 12.0.
constexpr int kMinimumDriverVersion = 12000;
} // namespace cuda

// CUDA cannot run here. what() names the failed step in one line;
// summary() is the short reason `--backend auto` gives when it falls back.
class CudaUnavailable : public Error {
public:
  CudaUnavailable(const std::string &summary, const std::string &detail) : Error(detail), summary_(summary) {}
  const std::string &summary() const { return summary_; }

private:
  std::string summary_;
};

// Every entry point, by the exported name with its ABI version: cuda.h maps
// cuMemcpyHtoDAsync to cuMemcpyHtoDAsync_v2, and the unsuffixed export is the old 32-bit one.
#define EMBER_CUDA_INIT_FUNCTIONS(X)                                                                                 \
  X(cuGetErrorName, "cuGetErrorName", CUresult (*)(CUresult, const char **))                                         \
  X(cuGetErrorString, "cuGetErrorString", CUresult (*)(CUresult, const char **))                                     \
  X(cuInit, "cuInit", CUresult (*)(unsigned))                                                                        \
  X(cuDriverGetVersion, "cuDriverGetVersion", CUresult (*)(int *))
#define EMBER_CUDA_FUNCTIONS(X)                                                                                      \
  X(cuDeviceGetCount, "cuDeviceGetCount", CUresult (*)(int *))                                                       \
  X(cuDeviceGet, "cuDeviceGet", CUresult (*)(CUdevice *, int))                                                       \
  X(cuDeviceGetName, "cuDeviceGetName", CUresult (*)(char *, int, CUdevice))                                         \
  X(cuDeviceGetAttribute, "cuDeviceGetAttribute", CUresult (*)(int *, int, CUdevice))                                \
  X(cuDeviceTotalMem, "cuDeviceTotalMem_v2", CUresult (*)(size_t *, CUdevice))                                       \
  X(cuDeviceGetDefaultMemPool, "cuDeviceGetDefaultMemPool", CUresult (*)(CUmemoryPool *, CUdevice))                  \
  X(cuMemPoolSetAttribute, "cuMemPoolSetAttribute", CUresult (*)(CUmemoryPool, int, void *))                         \
  X(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain", CUresult (*)(CUcontext *, CUdevice))                       \
  X(cuCtxSetCurrent, "cuCtxSetCurrent", CUresult (*)(CUcontext))                                                     \
  X(cuMemAllocManaged, "cuMemAllocManaged", CUresult (*)(CUdeviceptr *, size_t, unsigned))                           \
  X(cuMemAllocAsync, "cuMemAllocAsync", CUresult (*)(CUdeviceptr *, size_t, CUstream))                               \
  X(cuMemFreeAsync, "cuMemFreeAsync", CUresult (*)(CUdeviceptr, CUstream))                                           \
  X(cuMemHostAlloc, "cuMemHostAlloc", CUresult (*)(void **, size_t, unsigned))                                       \
  X(cuMemHostGetDevicePointer, "cuMemHostGetDevicePointer_v2", CUresult (*)(CUdeviceptr *, void *, unsigned))       \
  X(cuMemFreeHost, "cuMemFreeHost", CUresult (*)(void *))                                                            \
  X(cuMemsetD8Async, "cuMemsetD8Async", CUresult (*)(CUdeviceptr, unsigned char, size_t, CUstream))                  \
  X(cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2", CUresult (*)(CUdeviceptr, const void *, size_t, CUstream))            \
  X(cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2", CUresult (*)(void *, CUdeviceptr, size_t, CUstream))                  \
  X(cuMemsetD16Async, "cuMemsetD16Async", CUresult (*)(CUdeviceptr, unsigned short, size_t, CUstream))               \
  X(cuMemsetD32Async, "cuMemsetD32Async", CUresult (*)(CUdeviceptr, unsigned, size_t, CUstream))                     \
  X(cuMemcpyAsync, "cuMemcpyAsync", CUresult (*)(CUdeviceptr, CUdeviceptr, size_t, CUstream))                        \
  X(cuModuleLoadData, "cuModuleLoadData", CUresult (*)(CUmodule *, const void *))                                    \
  X(cuModuleLoadDataEx, "cuModuleLoadDataEx", CUresult (*)(CUmodule *, const void *, unsigned, int *, void **))      \
  X(cuModuleUnload, "cuModuleUnload", CUresult (*)(CUmodule))                                                        \
  X(cuModuleGetFunction, "cuModuleGetFunction", CUresult (*)(CUfunction *, CUmodule, const char *))                  \
  X(cuFuncGetAttribute, "cuFuncGetAttribute", CUresult (*)(int *, int, CUfunction))                                  \
  X(cuFuncSetAttribute, "cuFuncSetAttribute", CUresult (*)(CUfunction, int, int))                                    \
  X(cuLaunchKernel, "cuLaunchKernel",                                                                                \
    CUresult (*)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, CUstream,        \
                 void **, void **))                                                                                  \
  X(cuStreamCreate, "cuStreamCreate", CUresult (*)(CUstream *, unsigned))                                            \
  X(cuStreamSynchronize, "cuStreamSynchronize", CUresult (*)(CUstream))                                              \
  X(cuStreamWaitEvent, "cuStreamWaitEvent", CUresult (*)(CUstream, CUevent, unsigned))                               \
  X(cuEventCreate, "cuEventCreate", CUresult (*)(CUevent *, unsigned))                                               \
  X(cuEventDestroy, "cuEventDestroy_v2", CUresult (*)(CUevent))                                                      \
  X(cuEventRecord, "cuEventRecord", CUresult (*)(CUevent, CUstream))                                                 \
  X(cuEventSynchronize, "cuEventSynchronize", CUresult (*)(CUevent))                                                 \
  X(cuEventElapsedTime, "cuEventElapsedTime", CUresult (*)(float *, CUevent, CUevent))                              \
  X(cuStreamBeginCapture, "cuStreamBeginCapture_v2", CUresult (*)(CUstream, int))                                    \
  X(cuStreamEndCapture, "cuStreamEndCapture", CUresult (*)(CUstream, CUgraph *))                                     \
  X(cuGraphInstantiate, "cuGraphInstantiateWithFlags",                                                              \
    CUresult (*)(CUgraphExec *, CUgraph, unsigned long long))                                                        \
  X(cuGraphLaunch, "cuGraphLaunch", CUresult (*)(CUgraphExec, CUstream))                                             \
  X(cuGraphExecDestroy, "cuGraphExecDestroy", CUresult (*)(CUgraphExec))                                             \
  X(cuGraphDestroy, "cuGraphDestroy", CUresult (*)(CUgraph))

class CudaDriver {
public:
  // dlopen()s `library` (searched like any library: LD_LIBRARY_PATH, then the
  // system paths), runs cuInit and resolves every entry point. Throws
  // CudaUnavailable naming the step that failed.
  static std::unique_ptr<CudaDriver> load(const std::string &library = "libcuda.so.1");
  ~CudaDriver();
  CudaDriver(const CudaDriver &) = delete;
  CudaDriver &operator=(const CudaDriver &) = delete;

  // "CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)".
  std::string describe(cuda::CUresult result) const;
  // "CUDA_ERROR_NO_DEVICE".
  std::string errorName(cuda::CUresult result) const;
  // Throws Error("<call> failed: <describe(result)>") unless it succeeded.
  void check(cuda::CUresult result, const char *call) const;
  // Where the library was found, for messages.
  const std::string &path() const { return path_; }

#define EMBER_CUDA_MEMBER(member, symbol, type)                                                                      \
  using member##_t = type;                                                                                           \
  member##_t member = nullptr;
  using CUresult = cuda::CUresult;
  using CUdevice = cuda::CUdevice;
  using CUdeviceptr = cuda::CUdeviceptr;
  using CUcontext = cuda::CUcontext;
  using CUmodule = cuda::CUmodule;
  using CUfunction = cuda::CUfunction;
  using CUstream = cuda::CUstream;
  using CUevent = cuda::CUevent;
  using CUmemoryPool = cuda::CUmemoryPool;
  using CUgraph = cuda::CUgraph;
  using CUgraphExec = cuda::CUgraphExec;
  EMBER_CUDA_INIT_FUNCTIONS(EMBER_CUDA_MEMBER)
  EMBER_CUDA_FUNCTIONS(EMBER_CUDA_MEMBER)
#undef EMBER_CUDA_MEMBER

private:
  CudaDriver() = default;
  void *handle_ = nullptr;
  std::string library_, path_;
};

} // namespace ember::rt
