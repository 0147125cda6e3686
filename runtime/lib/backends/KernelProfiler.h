#pragma once

// Kernel profiling in the mgpu* shim (--profile). While it is on,
// mgpuLaunchKernel records a timing event on the launch's stream before and
// after the kernel; once that stream synchronizes (every artifact call ends
// with mgpuStreamSynchronize), their elapsed time is added to the kernel's
// ember op and the events are reused. Each thread launches on its own
// stream, so launches queue per stream. Private to the runtime library.

#include "CudaKernels.h"

#include "ember/runtime/KernelProfile.h"

namespace ember::rt {

// The one test a launch pays while profiling is off.
extern std::atomic<bool> kernelProfilingOn;
inline bool profilingKernels() { return kernelProfilingOn.load(std::memory_order_relaxed); }

struct ProfiledOp; // an ember op's running totals

struct TimedLaunch {
  ProfiledOp *op = nullptr;
  std::optional<double> modelledBytes;
  int64_t blocks = 0, threads = 0; // of the launch
  cuda::CUevent start = nullptr, stop = nullptr;
  cuda::CUstream stream = nullptr;
};
// Both throw Error when an event call fails.
TimedLaunch startTimedLaunch(const CudaSession &session, const LaunchedKernel &kernel, const LaunchDims &dims,
                             cuda::CUstream stream);
void finishTimedLaunch(const CudaSession &session, TimedLaunch &launch, cuda::CUresult launched);

// Runs launch() (the cuLaunchKernel call) between two timing events.
template <typename Launch>
cuda::CUresult timeLaunch(const CudaSession &session, const LaunchedKernel &kernel, const LaunchDims &dims,
                          cuda::CUstream stream, const Launch &launch) {
  TimedLaunch timed = startTimedLaunch(session, kernel, dims, stream);
  cuda::CUresult result = launch();
  finishTimedLaunch(session, timed, result);
  return result;
}

// Adds the times of the launches on `stream`, which has just synchronized.
// Throws Error when reading an event fails.
void collectTimedLaunches(const CudaSession &session, cuda::CUstream stream);

// Every launch timed since the last take (waiting for those still running),
// grouped per ember op.
KernelProfile takeKernelProfile(const CudaSession &session);

} // namespace ember::rt
