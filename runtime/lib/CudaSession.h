#pragma once

// State shared by the CUDA backend and the mgpu* functions compiled nvptx
// artifacts call (CudaShim.cpp). Private to the runtime library.

#include "ember/runtime/CudaDriver.h"

#include <string>

namespace ember::rt {

// The driver, device 0's primary context and the one stream all artifact
// work runs on. Created by the first CUDA backend and kept until the process
// exits: artifacts unload their kernels from static destructors.
struct CudaSession {
  std::unique_ptr<CudaDriver> driver;
  cuda::CUdevice device = 0;
  cuda::CUcontext context = nullptr;
  cuda::CUstream stream = nullptr;
  std::string deviceName; // "NVIDIA H100 80GB HBM3"
  std::string chip;       // "sm_90"

  // Makes the context current on the calling thread.
  cuda::CUresult bind() const noexcept;
};

// Opens the session once per process; throws CudaUnavailable.
CudaSession &openCudaSession();
// The session, or nullptr before openCudaSession succeeded.
CudaSession *cudaSessionOrNull();

// The first failure of an mgpu* call since the last take, "" if none. The
// artifact's generated code cannot handle exceptions, so the shim records
// failures (and stops launching work) and the backend throws them.
std::string takeMgpuError();

} // namespace ember::rt
