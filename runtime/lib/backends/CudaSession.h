#pragma once

// State shared by the CUDA backend and the mgpu* functions compiled nvptx
// artifacts call (CudaShim.cpp). Private to the runtime library.

#include "ember/runtime/Backend.h"
#include "ember/runtime/CudaDriver.h"

#include <array>
#include <mutex>
#include <string>
#include <vector>

namespace ember::rt {

// The driver, device 0's primary context and the streams artifact work runs
// on. Created by the first CUDA backend and kept until the process exits:
// artifacts unload their kernels from static destructors.
struct CudaSession {
  std::unique_ptr<CudaDriver> driver;
  cuda::CUdevice device = 0;
  cuda::CUcontext context = nullptr;
  std::string deviceName; // "NVIDIA H100 80GB HBM3"
  std::string chip;       // "sm_90"
  // From the memory clock and bus width (double data rate); 0 if the driver
  // does not say.
  double memoryPeakBytesPerSecond = 0;
  int multiprocessors = 0;
  uint64_t totalMemoryBytes = 0; // the device memory's size (cuDeviceTotalMem)
  // What the driver refuses a launch beyond (with a bare
  // CUDA_ERROR_INVALID_VALUE); mgpuLaunchKernel checks launches against
  // them first to say which limit a kernel exceeds.
  struct LaunchLimits {
    int64_t threadsPerBlock = 0;
    std::array<int64_t, 3> block{}, grid{}; // x, y, z
    int64_t sharedBytesOptIn = 0;           // per block, static + dynamic, once a kernel opts in
  } limits;

  // Makes the context current on the calling thread.
  cuda::CUresult bind() const noexcept;

  // The calling thread's stream, which all its device work (the backend's
  // copies and allocations, the artifact's kernels) goes on, so calls from
  // two threads overlap on the device: Decoder::prefill embeds the next
  // chunk while this chunk's layers run. Nothing per call uses the legacy
  // default stream, which would serialize them. A thread keeps its stream
  // until it ends; the stream then returns to a pool for the next thread.
  // Needs the context bound.
  cuda::CUresult threadStream(cuda::CUstream *stream) const noexcept;
  // Throws what an artifact's last call ran into (takeMgpuError), naming
  // what the caller was about to do; binds the context to this thread and
  // returns the thread's stream.
  cuda::CUstream readyStream(const std::string &doing) const;

  mutable std::mutex idleStreamsMutex;
  mutable std::vector<cuda::CUstream> idleStreams;
};

// Opens the session once per process; throws CudaUnavailable.
CudaSession &openCudaSession();
// The session, or nullptr before openCudaSession succeeded.
CudaSession *cudaSessionOrNull();

// The first failure of an mgpu* call since the last take, "" if none. The
// artifact's generated code cannot handle exceptions, so the shim records
// failures (and stops launching work) and the backend throws them.
std::string takeMgpuError();

// While the calling thread captures a CUDA graph of an artifact call, the
// shim leaves out the synchronization the artifact's host code ends with:
// it is not allowed in a capture, and the graph's launch is synchronized
// instead.
void setCapturingGraph(bool capturing);

// The CUDA backend's ArtifactCalls (CudaGraphs.cpp).
std::unique_ptr<ArtifactCalls> makeCudaArtifactCalls(const CudaSession &session, bool graphs);

} // namespace ember::rt
