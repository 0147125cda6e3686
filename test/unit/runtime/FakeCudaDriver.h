// What the fake CUDA device's files (FakeCudaDevice.cpp, FakeCudaKernels.cpp)
// share: the driver's result codes and the device's attributes. The limits
// are an H200's (compute capability 9.0), which the fake enforces as the
// driver does.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>

namespace fake_cuda {

constexpr int kSuccess = 0, kInvalidValue = 1, kOutOfMemory = 2, kInvalidImage = 200, kInvalidHandle = 400,
              kIllegalState = 401, kNotFound = 500, kIllegalAddress = 700, kNotSupported = 801, kLaunchFailed = 719,
              kCaptureUnsupported = 900, kCaptureInvalidated = 901, kCaptureWrongThread = 908;
constexpr unsigned kEventDisableTiming = 2;

const char *errorName(int error);
const char *errorString(int error);

// Records a driver call that takes or creates `stream` (fake_cuda_calls).
int recordCall(const char *function, void *stream);

// Whether [device, device + bytes) lies in one allocation of device memory
// (isDeviceRange) or one device mapping of pinned host memory
// (isMappedHostRange): what copies and memsets may touch.
bool isDeviceRange(const void *device, size_t bytes);
bool isMappedHostRange(const void *device, size_t bytes);
// Whether [host, host + bytes) lies in one cuMemHostAlloc allocation.
bool isPinnedHostRange(const void *host, size_t bytes);

// Frees an allocation of device memory (cuMemFreeAsync without a stream).
int freeDeviceMemory(void *device);

// Stream capture (FakeCudaGraphs.cpp). A recorded operation, run by
// cuGraphLaunch on the launch's stream.
using GraphOp = std::function<int(void *stream)>;
bool isCapturing(void *stream);
// The stream the calling thread captures, or nullptr: the thread's unsafe
// calls break that capture.
void *threadCaptureStream();
// Records `op` into `stream`'s capture.
int captureOp(void *stream, GraphOp op);
// A call the driver refuses during a capture: breaks it, returns `error`.
int breakCapture(void *stream, int error);
// cuMemAllocAsync and cuMemFreeAsync during a capture: graph memory, kept
// until the graphs made from the capture are destroyed; a free must be of
// this capture's allocation, once.
int captureAllocation(void *stream, void *memory);
int captureFree(void *stream, void *memory);

// CU_DEVICE_ATTRIBUTE_* values the fake knows; nullopt for the rest.
std::optional<int> deviceAttribute(int attribute);

} // namespace fake_cuda
