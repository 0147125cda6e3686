// A stand-in libcuda.so.1 with one device ("Fake CUDA device", sm_90 with an
// H200's launch limits, a 256 GB/s memory peak) whose memory is host memory,
// so the CUDA backend's allocations, copies and streams run without a GPU.
// Kernels run on the host (FakeCudaKernels.cpp). Every call that takes or
// creates a stream is recorded with the calling thread (fake_cuda_calls).
// Allocations over 1 TiB fail with CUDA_ERROR_OUT_OF_MEMORY.

#include "FakeCudaDevice.h"
#include "FakeCudaDriver.h"

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

namespace {

constexpr size_t kMemoryBytes = size_t(1) << 40;

std::mutex callsMutex;
std::vector<FakeCudaCall> calls;

// A context, stream or memory pool: a distinct address that is never read.
void *newHandle() {
  static std::mutex mutex;
  static std::vector<std::unique_ptr<char>> handles; // freed at exit
  std::lock_guard<std::mutex> lock(mutex);
  handles.push_back(std::make_unique<char>());
  return handles.back().get();
}

// Kernels run when launched, so an event records the host time of its
// cuEventRecord: elapsed times are host times, not device times.
struct FakeEvent {
  bool timing;
  std::chrono::steady_clock::time_point recorded{};
  bool isRecorded = false;
};

using Pointer = unsigned long long;
void *host(Pointer pointer) { return reinterpret_cast<void *>(uintptr_t(pointer)); }

} // namespace

using namespace fake_cuda;

int fake_cuda::recordCall(const char *function, void *stream) {
  std::lock_guard<std::mutex> lock(callsMutex);
  calls.push_back({function, stream, std::this_thread::get_id()});
  return kSuccess;
}

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
  *version = 13000;
  return kSuccess;
}
int cuGetErrorName(int error, const char **name) {
  *name = errorName(error);
  return *name ? kSuccess : kInvalidValue;
}
int cuGetErrorString(int error, const char **text) {
  *text = errorString(error);
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
  if (std::optional<int> known = deviceAttribute(attribute)) {
    *value = *known;
    return kSuccess;
  }
  return kInvalidValue;
}
int cuDeviceGetDefaultMemPool(void **pool, int) {
  *pool = newHandle();
  return kSuccess;
}
int cuMemPoolSetAttribute(void *, int, void *) { return kSuccess; }
int cuDevicePrimaryCtxRetain(void **context, int) {
  *context = newHandle();
  return kSuccess;
}
int cuCtxSetCurrent(void *) { return kSuccess; }

int cuMemAllocManaged(Pointer *pointer, size_t bytes, unsigned) {
  *pointer = Pointer(uintptr_t(std::calloc(bytes, 1)));
  return kSuccess;
}
int cuMemAllocAsync(Pointer *pointer, size_t bytes, void *stream) {
  recordCall("cuMemAllocAsync", stream);
  if (bytes > kMemoryBytes)
    return kOutOfMemory;
  *pointer = Pointer(uintptr_t(std::malloc(bytes)));
  std::memset(host(*pointer), 0xA5, bytes); // like device memory, not zeroed
  return kSuccess;
}
int cuMemFreeAsync(Pointer pointer, void *stream) {
  std::free(host(pointer));
  return recordCall("cuMemFreeAsync", stream);
}
int cuMemsetD8Async(Pointer pointer, unsigned char value, size_t count, void *stream) {
  std::memset(host(pointer), value, count);
  return recordCall("cuMemsetD8Async", stream);
}
int cuMemsetD16Async(Pointer pointer, unsigned short value, size_t count, void *stream) {
  for (size_t i = 0; i < count; ++i)
    static_cast<unsigned short *>(host(pointer))[i] = value;
  return recordCall("cuMemsetD16Async", stream);
}
int cuMemsetD32Async(Pointer pointer, unsigned value, size_t count, void *stream) {
  for (size_t i = 0; i < count; ++i)
    static_cast<unsigned *>(host(pointer))[i] = value;
  return recordCall("cuMemsetD32Async", stream);
}
int cuMemcpyHtoDAsync_v2(Pointer device, const void *source, size_t bytes, void *stream) {
  std::memcpy(host(device), source, bytes);
  return recordCall("cuMemcpyHtoDAsync_v2", stream);
}
int cuMemcpyDtoHAsync_v2(void *destination, Pointer device, size_t bytes, void *stream) {
  std::memcpy(destination, host(device), bytes);
  return recordCall("cuMemcpyDtoHAsync_v2", stream);
}
int cuMemcpyAsync(Pointer destination, Pointer source, size_t bytes, void *stream) {
  std::memcpy(host(destination), host(source), bytes);
  return recordCall("cuMemcpyAsync", stream);
}

int cuStreamCreate(void **stream, unsigned) {
  *stream = newHandle();
  return recordCall("cuStreamCreate", *stream);
}
// Kernels and copies finish before their call returns.
int cuStreamSynchronize(void *stream) { return recordCall("cuStreamSynchronize", stream); }
int cuStreamWaitEvent(void *stream, void *, unsigned) { return recordCall("cuStreamWaitEvent", stream); }

int cuEventCreate(void **event, unsigned flags) {
  *event = new FakeEvent{(flags & kEventDisableTiming) == 0};
  return kSuccess;
}
int cuEventDestroy_v2(void *event) {
  delete static_cast<FakeEvent *>(event);
  return kSuccess;
}
int cuEventRecord(void *event, void *stream) {
  auto *fake = static_cast<FakeEvent *>(event);
  fake->recorded = std::chrono::steady_clock::now();
  fake->isRecorded = true;
  return recordCall("cuEventRecord", stream);
}
int cuEventSynchronize(void *) { return kSuccess; }
int cuEventQuery(void *) { return kSuccess; }
// Like the driver: both events recorded, both with timing.
int cuEventElapsedTime(float *milliseconds, void *start, void *end) {
  auto *from = static_cast<FakeEvent *>(start), *to = static_cast<FakeEvent *>(end);
  if (!from || !to)
    return kInvalidHandle;
  if (!from->timing || !to->timing || !from->isRecorded || !to->isRecorded)
    return kInvalidHandle;
  *milliseconds = std::chrono::duration<float, std::milli>(to->recorded - from->recorded).count();
  return kSuccess;
}
int cuEventElapsedTime_v2(float *milliseconds, void *start, void *end) {
  return cuEventElapsedTime(milliseconds, start, end);
}

} // extern "C"
