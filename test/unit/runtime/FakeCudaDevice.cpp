// A stand-in libcuda.so.1 with one device ("Fake CUDA device", sm_90 with an
// H200's launch limits, a 256 GB/s memory peak) whose memory is host memory,
// so the CUDA backend's allocations, copies and streams run without a GPU.
// Kernels run on the host (FakeCudaKernels.cpp). Every call that takes or
// creates a stream is recorded with the calling thread (fake_cuda_calls).
// Work issued to a capturing stream is recorded into a graph instead of
// running, and what a capture does not allow breaks it (FakeCudaGraphs.cpp).
// Allocations over 1 TiB fail with CUDA_ERROR_OUT_OF_MEMORY.

#include "FakeCudaDevice.h"
#include "FakeCudaDriver.h"

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <unistd.h>

namespace {

// The device's memory is host memory: half of the host's, as a device
// declares its size (cuDeviceTotalMem) and fails allocations beyond it with
// CUDA_ERROR_OUT_OF_MEMORY, where malloc would overcommit and the first
// touch would kill the process.
size_t memoryBytes() {
  static const size_t bytes = [] {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? size_t(pages) * size_t(page) / 2 : size_t(1) << 32;
  }();
  return bytes;
}

std::mutex allocationsMutex;
// Live allocations, never destroyed: frees may run from destructors at exit.
auto &allocations = *new std::map<const std::byte *, size_t>;
size_t allocatedBytes = 0;

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

// Live events, as the driver tracks them: a handle not created (or already
// destroyed) is CUDA_ERROR_INVALID_HANDLE, and events never destroyed
// belong to the context until exit (never freed, so still reachable for
// LeakSanitizer, and usable by destructors that run at exit).
std::mutex eventsMutex;
auto &liveEvents = *new std::unordered_map<void *, std::unique_ptr<FakeEvent>>;

FakeEvent *liveEvent(void *handle) {
  std::lock_guard<std::mutex> lock(eventsMutex);
  auto found = liveEvents.find(handle);
  return found == liveEvents.end() ? nullptr : found->second.get();
}

using Pointer = unsigned long long;
void *host(Pointer pointer) { return reinterpret_cast<void *>(uintptr_t(pointer)); }

} // namespace

using namespace fake_cuda;

bool fake_cuda::isDeviceRange(const void *device, size_t bytes) {
  auto *address = static_cast<const std::byte *>(device);
  std::lock_guard<std::mutex> lock(allocationsMutex);
  auto after = allocations.upper_bound(address);
  if (after == allocations.begin())
    return false;
  auto found = std::prev(after);
  return address + bytes <= found->first + found->second;
}

int fake_cuda::recordCall(const char *function, void *stream) {
  std::lock_guard<std::mutex> lock(callsMutex);
  calls.push_back({function, stream, std::this_thread::get_id()});
  return kSuccess;
}

int fake_cuda::freeDeviceMemory(void *device) {
  std::lock_guard<std::mutex> lock(allocationsMutex);
  auto found = allocations.find(static_cast<const std::byte *>(device));
  if (found == allocations.end())
    return kInvalidValue; // not an allocation of this device
  allocatedBytes -= found->second;
  allocations.erase(found);
  std::free(device);
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
int cuDeviceTotalMem_v2(size_t *bytes, int) {
  *bytes = memoryBytes();
  return kSuccess;
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

// `fill` is what fresh memory holds.
int allocate(Pointer *pointer, size_t bytes, int fill) {
  std::lock_guard<std::mutex> lock(allocationsMutex);
  void *memory = bytes <= memoryBytes() - allocatedBytes ? std::malloc(bytes ? bytes : 1) : nullptr;
  if (!memory)
    return kOutOfMemory;
  std::memset(memory, fill, bytes);
  allocations.emplace(static_cast<const std::byte *>(memory), bytes);
  allocatedBytes += bytes;
  *pointer = Pointer(uintptr_t(memory));
  return kSuccess;
}

int cuMemAllocManaged(Pointer *pointer, size_t bytes, unsigned) {
  if (void *capturing = threadCaptureStream())
    return breakCapture(capturing, kCaptureUnsupported);
  return allocate(pointer, bytes, 0);
}
int cuMemAllocAsync(Pointer *pointer, size_t bytes, void *stream) {
  recordCall("cuMemAllocAsync", stream);
  int result = allocate(pointer, bytes, 0xA5); // like device memory, not zeroed
  if (result == kSuccess && isCapturing(stream))
    return captureAllocation(stream, host(*pointer));
  return result;
}
int cuMemFreeAsync(Pointer pointer, void *stream) {
  recordCall("cuMemFreeAsync", stream);
  return isCapturing(stream) ? captureFree(stream, host(pointer)) : freeDeviceMemory(host(pointer));
}
// Copies and memsets reach only device memory: a host pointer where a
// device one belongs is CUDA_ERROR_INVALID_VALUE, as the driver says.
static bool reachable(Pointer pointer, size_t bytes) {
  return isDeviceRange(host(pointer), bytes) || isMappedHostRange(host(pointer), bytes);
}

// Records `op` when `stream` captures; nullopt: run it now.
static std::optional<int> captured(void *stream, GraphOp op) {
  if (!isCapturing(stream))
    return std::nullopt;
  return captureOp(stream, std::move(op));
}
// A copy between the device and `hostMemory` joins a capture only from
// pinned memory; the driver refuses pageable memory there.
static std::optional<int> capturedHostCopy(void *stream, const void *hostMemory, size_t bytes, GraphOp op) {
  if (isCapturing(stream) && !isPinnedHostRange(hostMemory, bytes))
    return breakCapture(stream, kCaptureUnsupported);
  return captured(stream, std::move(op));
}

int cuMemsetD8Async(Pointer pointer, unsigned char value, size_t count, void *stream) {
  if (!reachable(pointer, count))
    return kInvalidValue;
  if (auto result = captured(stream, [=](void *s) { return cuMemsetD8Async(pointer, value, count, s); }))
    return *result;
  std::memset(host(pointer), value, count);
  return recordCall("cuMemsetD8Async", stream);
}
int cuMemsetD16Async(Pointer pointer, unsigned short value, size_t count, void *stream) {
  if (!reachable(pointer, count * sizeof(unsigned short)))
    return kInvalidValue;
  if (auto result = captured(stream, [=](void *s) { return cuMemsetD16Async(pointer, value, count, s); }))
    return *result;
  for (size_t i = 0; i < count; ++i)
    static_cast<unsigned short *>(host(pointer))[i] = value;
  return recordCall("cuMemsetD16Async", stream);
}
int cuMemsetD32Async(Pointer pointer, unsigned value, size_t count, void *stream) {
  if (!reachable(pointer, count * sizeof(unsigned)))
    return kInvalidValue;
  if (auto result = captured(stream, [=](void *s) { return cuMemsetD32Async(pointer, value, count, s); }))
    return *result;
  for (size_t i = 0; i < count; ++i)
    static_cast<unsigned *>(host(pointer))[i] = value;
  return recordCall("cuMemsetD32Async", stream);
}
int cuMemcpyHtoDAsync_v2(Pointer device, const void *source, size_t bytes, void *stream) {
  if (!reachable(device, bytes))
    return kInvalidValue;
  if (auto result = capturedHostCopy(stream, source, bytes,
                                     [=](void *s) { return cuMemcpyHtoDAsync_v2(device, source, bytes, s); }))
    return *result;
  std::memcpy(host(device), source, bytes);
  return recordCall("cuMemcpyHtoDAsync_v2", stream);
}
int cuMemcpyDtoHAsync_v2(void *destination, Pointer device, size_t bytes, void *stream) {
  if (!reachable(device, bytes))
    return kInvalidValue;
  if (auto result = capturedHostCopy(stream, destination, bytes,
                                     [=](void *s) { return cuMemcpyDtoHAsync_v2(destination, device, bytes, s); }))
    return *result;
  std::memcpy(destination, host(device), bytes);
  return recordCall("cuMemcpyDtoHAsync_v2", stream);
}
int cuMemcpyAsync(Pointer destination, Pointer source, size_t bytes, void *stream) {
  if (!reachable(destination, bytes) || !reachable(source, bytes))
    return kInvalidValue;
  if (auto result = captured(stream, [=](void *s) { return cuMemcpyAsync(destination, source, bytes, s); }))
    return *result;
  std::memcpy(host(destination), host(source), bytes);
  return recordCall("cuMemcpyAsync", stream);
}

int cuStreamCreate(void **stream, unsigned) {
  *stream = newHandle();
  return recordCall("cuStreamCreate", *stream);
}
// Kernels and copies finish before their call returns.
int cuStreamSynchronize(void *stream) {
  recordCall("cuStreamSynchronize", stream);
  return isCapturing(stream) ? breakCapture(stream, kCaptureUnsupported) : kSuccess;
}
int cuStreamWaitEvent(void *stream, void *, unsigned) {
  recordCall("cuStreamWaitEvent", stream);
  return isCapturing(stream) ? breakCapture(stream, kNotSupported) : kSuccess;
}

int cuEventCreate(void **event, unsigned flags) {
  auto created = std::make_unique<FakeEvent>(FakeEvent{(flags & kEventDisableTiming) == 0});
  std::lock_guard<std::mutex> lock(eventsMutex);
  *event = created.get();
  liveEvents.emplace(*event, std::move(created));
  return kSuccess;
}
int cuEventDestroy_v2(void *event) {
  std::lock_guard<std::mutex> lock(eventsMutex);
  return liveEvents.erase(event) ? kSuccess : kInvalidHandle;
}
int cuEventRecord(void *event, void *stream) {
  FakeEvent *fake = liveEvent(event);
  if (!fake)
    return kInvalidHandle;
  if (isCapturing(stream))
    return breakCapture(stream, kNotSupported);
  fake->recorded = std::chrono::steady_clock::now();
  fake->isRecorded = true;
  return recordCall("cuEventRecord", stream);
}
int cuEventSynchronize(void *event) { return liveEvent(event) ? kSuccess : kInvalidHandle; }
int cuEventQuery(void *event) { return liveEvent(event) ? kSuccess : kInvalidHandle; }
// Like the driver: both events recorded, both with timing.
int cuEventElapsedTime(float *milliseconds, void *start, void *end) {
  FakeEvent *from = liveEvent(start), *to = liveEvent(end);
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
