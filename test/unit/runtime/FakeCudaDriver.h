// What the fake CUDA device's files (FakeCudaDevice.cpp, FakeCudaKernels.cpp)
// share: the driver's result codes and the device's attributes. The limits
// are an H200's (compute capability 9.0), which the fake enforces as the
// driver does.
#pragma once

#include <cstddef>
#include <optional>

namespace fake_cuda {

constexpr int kSuccess = 0, kInvalidValue = 1, kOutOfMemory = 2, kInvalidImage = 200, kInvalidHandle = 400,
              kNotFound = 500, kIllegalAddress = 700, kNotSupported = 801, kLaunchFailed = 719;
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

// CU_DEVICE_ATTRIBUTE_* values the fake knows; nullopt for the rest.
std::optional<int> deviceAttribute(int attribute);

} // namespace fake_cuda
