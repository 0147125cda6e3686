#include "KernelProfiler.h"

#include <algorithm>
#include <deque>
#include <map>
#include <tuple>

namespace ember::rt {

using namespace cuda;

std::atomic<bool> kernelProfilingOn{false};

struct ProfiledOp {
  int64_t launches = 0, unmodelledLaunches = 0, blocks = 0, threads = 0;
  double seconds = 0, modelledBytes = 0;
};

namespace {

// A row of the profile: the manifest's function, op index and op, or for a
// kernel its artifact does not list, its name alone.
struct OpKey {
  std::string function;
  int64_t opIndex;
  std::string op;
  bool operator<(const OpKey &other) const {
    return std::tie(function, opIndex, op) < std::tie(other.function, other.opIndex, other.op);
  }
};

OpKey keyOf(const LaunchedKernel &kernel) {
  if (kernel.origin)
    return {kernel.origin->function, kernel.origin->opIndex, kernel.origin->op};
  return {"", -1, kernel.name};
}

// Launches a stream may have waiting for their times; past it a launch
// waits for the oldest, so a stream that never synchronizes holds a
// bounded number of events.
constexpr size_t kMaxTimedLaunchesPerStream = 4096;

std::mutex profilerMutex;
std::map<OpKey, ProfiledOp> ops; // never erased: timed launches point at them
std::unordered_map<CUstream, std::deque<TimedLaunch>> waiting;
std::atomic<size_t> waitingCount{0};
std::vector<CUevent> idleEvents;

// Needs profilerMutex.
CUevent takeEvent(const CudaSession &session) {
  CUevent event = nullptr;
  if (!idleEvents.empty()) {
    event = idleEvents.back();
    idleEvents.pop_back();
  } else if (CUresult result = session.driver->cuEventCreate(&event, CU_EVENT_DEFAULT)) {
    throw Error("cuEventCreate (timing a kernel) failed: " + session.driver->describe(result));
  }
  return event;
}

// Needs profilerMutex.
void releaseEvents(const TimedLaunch &launch) {
  for (CUevent event : {launch.start, launch.stop})
    if (event)
      idleEvents.push_back(event);
}

// Waits for a launch to finish (no wait once its stream synchronized),
// adds its time to its op and keeps its events for the next. Needs
// profilerMutex. Returns the failure of reading its time, if any.
CUresult addTime(const CudaSession &session, const TimedLaunch &launch) {
  float milliseconds = 0;
  CUresult result = session.driver->cuEventSynchronize(launch.stop);
  if (result == CUDA_SUCCESS)
    result = session.driver->cuEventElapsedTime(&milliseconds, launch.start, launch.stop);
  releaseEvents(launch);
  --waitingCount;
  if (result != CUDA_SUCCESS)
    return result;
  ProfiledOp &op = *launch.op;
  ++op.launches;
  op.seconds += milliseconds / 1e3;
  op.blocks += launch.blocks;
  op.threads += launch.threads;
  if (launch.modelledBytes)
    op.modelledBytes += *launch.modelledBytes;
  else
    ++op.unmodelledLaunches;
  return CUDA_SUCCESS;
}

// addTime for the oldest `count` launches of `queue`, taking them off it.
// Needs profilerMutex.
void addAll(const CudaSession &session, std::deque<TimedLaunch> &queue, size_t count) {
  CUresult failed = CUDA_SUCCESS;
  for (; count > 0 && !queue.empty(); --count, queue.pop_front())
    if (CUresult result = addTime(session, queue.front()); failed == CUDA_SUCCESS)
      failed = result;
  if (failed != CUDA_SUCCESS)
    throw Error("reading a kernel's time (cuEventSynchronize, cuEventElapsedTime) failed: " +
                session.driver->describe(failed));
}

void record(const CudaSession &session, CUevent event, CUstream stream, const char *which) {
  if (CUresult result = session.driver->cuEventRecord(event, stream))
    throw Error(std::string("cuEventRecord (") + which + " of a timed kernel) failed: " +
                session.driver->describe(result));
}

} // namespace

TimedLaunch startTimedLaunch(const CudaSession &session, const LaunchedKernel &kernel, const LaunchDims &dims,
                             CUstream stream) {
  TimedLaunch launch;
  launch.blocks = dims.grid[0] * dims.grid[1] * dims.grid[2];
  launch.threads = launch.blocks * dims.block[0] * dims.block[1] * dims.block[2];
  ArtifactCallScope::Shape call = ArtifactCallScope::current();
  launch.modelledBytes = kernel.origin ? kernel.origin->bytesAt(call.rows, call.start) : std::nullopt;
  launch.stream = stream;
  std::lock_guard<std::mutex> lock(profilerMutex);
  launch.op = &ops[keyOf(kernel)];
  launch.start = takeEvent(session);
  try {
    launch.stop = takeEvent(session);
    record(session, launch.start, stream, "start");
  } catch (...) {
    releaseEvents(launch);
    throw;
  }
  return launch;
}

void finishTimedLaunch(const CudaSession &session, TimedLaunch &launch, CUresult launched) {
  std::lock_guard<std::mutex> lock(profilerMutex);
  if (launched != CUDA_SUCCESS) {
    releaseEvents(launch);
    return;
  }
  try {
    record(session, launch.stop, launch.stream, "stop");
  } catch (...) {
    releaseEvents(launch);
    throw;
  }
  std::deque<TimedLaunch> &queue = waiting[launch.stream];
  queue.push_back(launch);
  ++waitingCount;
  if (queue.size() > kMaxTimedLaunchesPerStream)
    addAll(session, queue, 1);
}

void collectTimedLaunches(const CudaSession &session, CUstream stream) {
  if (waitingCount.load(std::memory_order_relaxed) == 0)
    return;
  std::lock_guard<std::mutex> lock(profilerMutex);
  auto queue = waiting.find(stream);
  if (queue != waiting.end())
    addAll(session, queue->second, queue->second.size());
}

KernelProfile takeKernelProfile(const CudaSession &session) {
  std::lock_guard<std::mutex> lock(profilerMutex);
  for (auto &[stream, queue] : waiting)
    addAll(session, queue, queue.size());
  KernelProfile profile;
  profile.device = session.deviceName + " (" + session.chip + ", " + std::to_string(session.multiprocessors) +
                   " multiprocessors)";
  profile.memoryPeakBytesPerSecond = session.memoryPeakBytesPerSecond;
  for (auto &[key, op] : ops) {
    if (op.launches == 0)
      continue;
    profile.rows.push_back({key.function, key.op, key.opIndex, op.launches, op.seconds,
                            op.unmodelledLaunches ? std::nullopt : std::optional<double>(op.modelledBytes),
                            op.blocks, op.threads});
    op = ProfiledOp();
  }
  std::stable_sort(profile.rows.begin(), profile.rows.end(),
                   [](const KernelProfileRow &a, const KernelProfileRow &b) { return a.seconds > b.seconds; });
  return profile;
}

} // namespace ember::rt
