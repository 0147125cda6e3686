// A stand-in libcuda.so.1 with one device ("Fake CUDA device", sm_90, a
// 256 GB/s memory peak) whose memory is host memory, so the CUDA backend's
// allocations, copies and streams run without a GPU. Kernels do not run:
// cuLaunchKernel only records the launch. Every call that takes or creates
// a stream is recorded with the calling thread (fake_cuda_calls).
// Allocations over 1 TiB fail with CUDA_ERROR_OUT_OF_MEMORY.

#include "FakeCudaDevice.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

namespace {

constexpr int kSuccess = 0, kInvalidValue = 1, kOutOfMemory = 2;
constexpr size_t kMemoryBytes = size_t(1) << 40;

std::mutex callsMutex;
std::vector<FakeCudaCall> calls;

int record(const char *function, void *stream) {
  std::lock_guard<std::mutex> lock(callsMutex);
  calls.push_back({function, stream, std::this_thread::get_id()});
  return kSuccess;
}

// Distinct non-null handles for contexts, modules, functions, streams and events.
template <typename Handle> Handle newHandle() { return reinterpret_cast<Handle>(new char); }

using Pointer = unsigned long long;
void *host(Pointer pointer) { return reinterpret_cast<void *>(uintptr_t(pointer)); }

} // namespace

extern "C" {

__attribute__((visibility("default"))) size_t fake_cuda_calls(FakeCudaCall *out, size_t capacity) {
  std::lock_guard<std::mutex> lock(callsMutex);
  for (size_t i = 0; i < calls.size() && i < capacity; ++i)
    out[i] = calls[i];
  return calls.size();
}

__attribute__((visibility("default"))) void fake_cuda_clear_calls() {
  std::lock_guard<std::mutex> lock(callsMutex);
  calls.clear();
}

int cuInit(unsigned) { return kSuccess; }
int cuDriverGetVersion(int *version) {
  *version = 12080;
  return kSuccess;
}
int cuGetErrorName(int error, const char **name) {
  *name = error == kSuccess        ? "CUDA_SUCCESS"
          : error == kOutOfMemory  ? "CUDA_ERROR_OUT_OF_MEMORY"
          : error == kInvalidValue ? "CUDA_ERROR_INVALID_VALUE"
                                   : nullptr;
  return *name ? kSuccess : kInvalidValue;
}
int cuGetErrorString(int error, const char **text) {
  *text = error == kSuccess        ? "no error"
          : error == kOutOfMemory  ? "out of memory"
          : error == kInvalidValue ? "invalid argument"
                                   : nullptr;
  return *text ? kSuccess : kInvalidValue;
}

int cuDeviceGetCount(int *count) {
  *count = 1;
  return kSuccess;
}
int cuDeviceGet(int *device, int ordinal) {
  *device = ordinal;
  return ordinal == 0 ? kSuccess : kInvalidValue;
}
int cuDeviceGetName(char *name, int length, int) {
  std::strncpy(name, "Fake CUDA device", size_t(length));
  return kSuccess;
}
int cuDeviceGetAttribute(int *value, int attribute, int) {
  // Compute capability 9.0; a 1 GHz, 1024-bit memory: 256 GB/s peak.
  *value = attribute == 75 ? 9 : attribute == 36 ? 1000000 : attribute == 37 ? 1024 : 0;
  return kSuccess;
}
int cuDeviceGetDefaultMemPool(void **pool, int) {
  *pool = newHandle<void *>();
  return kSuccess;
}
int cuMemPoolSetAttribute(void *, int, void *) { return kSuccess; }
int cuDevicePrimaryCtxRetain(void **context, int) {
  *context = newHandle<void *>();
  return kSuccess;
}
int cuCtxSetCurrent(void *) { return kSuccess; }

int cuMemAllocManaged(Pointer *pointer, size_t bytes, unsigned) {
  *pointer = Pointer(uintptr_t(std::calloc(bytes, 1)));
  return kSuccess;
}
int cuMemAllocAsync(Pointer *pointer, size_t bytes, void *stream) {
  record("cuMemAllocAsync", stream);
  if (bytes > kMemoryBytes)
    return kOutOfMemory;
  *pointer = Pointer(uintptr_t(std::malloc(bytes)));
  std::memset(host(*pointer), 0xA5, bytes); // like device memory, not zeroed
  return kSuccess;
}
int cuMemFreeAsync(Pointer pointer, void *stream) {
  std::free(host(pointer));
  return record("cuMemFreeAsync", stream);
}
int cuMemsetD8Async(Pointer pointer, unsigned char value, size_t count, void *stream) {
  std::memset(host(pointer), value, count);
  return record("cuMemsetD8Async", stream);
}
int cuMemsetD16Async(Pointer pointer, unsigned short value, size_t count, void *stream) {
  for (size_t i = 0; i < count; ++i)
    static_cast<unsigned short *>(host(pointer))[i] = value;
  return record("cuMemsetD16Async", stream);
}
int cuMemsetD32Async(Pointer pointer, unsigned value, size_t count, void *stream) {
  for (size_t i = 0; i < count; ++i)
    static_cast<unsigned *>(host(pointer))[i] = value;
  return record("cuMemsetD32Async", stream);
}
int cuMemcpyHtoDAsync_v2(Pointer device, const void *source, size_t bytes, void *stream) {
  std::memcpy(host(device), source, bytes);
  return record("cuMemcpyHtoDAsync_v2", stream);
}
int cuMemcpyDtoHAsync_v2(void *destination, Pointer device, size_t bytes, void *stream) {
  std::memcpy(destination, host(device), bytes);
  return record("cuMemcpyDtoHAsync_v2", stream);
}
int cuMemcpyAsync(Pointer destination, Pointer source, size_t bytes, void *stream) {
  std::memcpy(host(destination), host(source), bytes);
  return record("cuMemcpyAsync", stream);
}

int cuModuleLoadData(void **module, const void *) {
  *module = newHandle<void *>();
  return kSuccess;
}
int cuModuleLoadDataEx(void **module, const void *image, unsigned, int *, void **) {
  return cuModuleLoadData(module, image);
}
int cuModuleUnload(void *) { return kSuccess; }
int cuModuleGetFunction(void **function, void *, const char *) {
  *function = newHandle<void *>();
  return kSuccess;
}
int cuLaunchKernel(void *, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, void *stream, void **,
                   void **) {
  return record("cuLaunchKernel", stream);
}

int cuStreamCreate(void **stream, unsigned) {
  *stream = newHandle<void *>();
  return record("cuStreamCreate", *stream);
}
int cuStreamSynchronize(void *stream) { return record("cuStreamSynchronize", stream); }
int cuStreamWaitEvent(void *stream, void *, unsigned) { return record("cuStreamWaitEvent", stream); }
int cuEventCreate(void **event, unsigned) {
  *event = newHandle<void *>();
  return kSuccess;
}
int cuEventDestroy_v2(void *) { return kSuccess; }
int cuEventRecord(void *, void *stream) { return record("cuEventRecord", stream); }
int cuEventSynchronize(void *) { return kSuccess; }

} // extern "C"
