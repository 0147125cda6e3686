// The fake CUDA device's pinned host memory (cuMemHostAlloc), held to the
// driver's contract: only memory allocated with CU_MEMHOSTALLOC_DEVICEMAP
// has a device address, cuMemHostGetDevicePointer is the one way to get
// it, and cuMemFreeHost takes the host address it returned. The device
// address is a second mapping of the same pages, never the host address
// (the driver promises nothing else for write-combined memory), so code
// that hands kernels the host pointer, or frees the device one, fails here
// as it would on some systems with a GPU.

#include "FakeCudaDriver.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>

#include <sys/mman.h>
#include <unistd.h>

namespace {

using namespace fake_cuda;
using Pointer = unsigned long long;

constexpr unsigned kPortable = 0x01, kDeviceMap = 0x02, kWriteCombined = 0x04;

struct HostAllocation {
  size_t bytes;
  std::byte *device; // nullptr without kDeviceMap
};

std::mutex hostMutex;
// By host address; never destroyed: frees may run from destructors at exit.
auto &hostAllocations = *new std::map<std::byte *, HostAllocation>;

void *mapShared(int file, size_t bytes) {
  void *view = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, file, 0);
  return view == MAP_FAILED ? nullptr : view;
}

} // namespace

bool fake_cuda::isMappedHostRange(const void *device, size_t bytes) {
  auto *address = static_cast<const std::byte *>(device);
  std::lock_guard<std::mutex> lock(hostMutex);
  for (const auto &[host, allocation] : hostAllocations)
    if (allocation.device && address >= allocation.device && address + bytes <= allocation.device + allocation.bytes)
      return true;
  return false;
}

bool fake_cuda::isPinnedHostRange(const void *hostMemory, size_t bytes) {
  auto *address = static_cast<const std::byte *>(hostMemory);
  std::lock_guard<std::mutex> lock(hostMutex);
  auto after = hostAllocations.upper_bound(const_cast<std::byte *>(address));
  if (after == hostAllocations.begin())
    return false;
  auto found = std::prev(after);
  return address + bytes <= found->first + found->second.bytes;
}

extern "C" {

int cuMemHostAlloc(void **pointer, size_t bytes, unsigned flags) {
  if (bytes == 0 || (flags & ~(kPortable | kDeviceMap | kWriteCombined)))
    return kInvalidValue;
  if (void *capturing = threadCaptureStream())
    return breakCapture(capturing, kCaptureUnsupported);
  recordCall("cuMemHostAlloc", nullptr);
  int file = memfd_create("fake-cuda-pinned", MFD_CLOEXEC);
  if (file < 0)
    return kOutOfMemory;
  void *host = ftruncate(file, off_t(bytes)) == 0 ? mapShared(file, bytes) : nullptr;
  void *device = host && (flags & kDeviceMap) ? mapShared(file, bytes) : nullptr;
  close(file); // the mappings keep the pages
  if (!host || ((flags & kDeviceMap) && !device)) {
    if (host)
      munmap(host, bytes);
    return kOutOfMemory;
  }
  std::lock_guard<std::mutex> lock(hostMutex);
  hostAllocations.emplace(static_cast<std::byte *>(host), HostAllocation{bytes, static_cast<std::byte *>(device)});
  *pointer = host;
  return kSuccess;
}

int cuMemHostGetDevicePointer_v2(Pointer *device, void *host, unsigned flags) {
  if (flags != 0)
    return kInvalidValue;
  auto *address = static_cast<std::byte *>(host);
  std::lock_guard<std::mutex> lock(hostMutex);
  auto after = hostAllocations.upper_bound(address);
  if (after == hostAllocations.begin())
    return kInvalidValue;
  auto found = std::prev(after);
  const HostAllocation &allocation = found->second;
  if (!allocation.device || address >= found->first + allocation.bytes)
    return kInvalidValue;
  *device = Pointer(uintptr_t(allocation.device + (address - found->first)));
  return kSuccess;
}

int cuMemFreeHost(void *host) {
  std::lock_guard<std::mutex> lock(hostMutex);
  auto found = hostAllocations.find(static_cast<std::byte *>(host));
  if (found == hostAllocations.end())
    return kInvalidValue; // not a host address cuMemHostAlloc returned
  munmap(found->first, found->second.bytes);
  if (found->second.device)
    munmap(found->second.device, found->second.bytes);
  hostAllocations.erase(found);
  return kSuccess;
}

} // extern "C"
