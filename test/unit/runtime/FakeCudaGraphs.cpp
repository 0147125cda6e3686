// Stream capture and CUDA graphs on the fake CUDA device, with the driver's
// rules: while a stream captures, the work issued to it (kernels, memsets,
// device copies, graph allocations) is recorded, not run, and
// cuGraphLaunch runs the records in order on the launch's stream, kernels
// with the arguments they had at capture. What the driver refuses during a
// capture breaks it, so that cuStreamEndCapture fails with
// CUDA_ERROR_STREAM_CAPTURE_INVALIDATED:
// - synchronizing the capturing stream (CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED);
// - copies between the device and pageable host memory (the same);
// - freeing memory that no allocation of this capture returned, or twice
//   (CUDA_ERROR_INVALID_VALUE: a free node frees a graph allocation);
// - in thread-local mode, the capturing thread's unsafe calls
//   (cuMemAllocManaged, cuMemHostAlloc: CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED).
// Graph allocations stay valid until the last graph or executable graph
// made from the capture is destroyed. Events and cross-stream capture are
// not modelled (cuEventRecord and cuStreamWaitEvent on a capturing stream
// fail with CUDA_ERROR_NOT_SUPPORTED), nor child graphs.

#include "FakeCudaDriver.h"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace {

using namespace fake_cuda;

// Memory a capture allocated, freed with the last graph using it.
struct GraphMemory {
  std::vector<void *> allocations;
  ~GraphMemory() {
    for (void *allocation : allocations)
      freeDeviceMemory(allocation);
  }
};

struct Capture {
  std::thread::id thread;
  int error = kSuccess; // what broke it
  std::vector<GraphOp> ops;
  std::shared_ptr<GraphMemory> memory = std::make_shared<GraphMemory>();
  std::set<void *> freed;
};

// A graph or an executable graph: the records, shared by the two.
struct FakeGraph {
  std::shared_ptr<const std::vector<GraphOp>> ops;
  std::shared_ptr<GraphMemory> memory;
};

constexpr int kCaptureModeGlobal = 0, kCaptureModeRelaxed = 2;

std::mutex mutex;
std::map<void *, Capture> captures; // by stream
std::set<void *> liveGraphs, liveExecs;

// A graph or executable graph of `live`; CUDA_ERROR_INVALID_VALUE for a
// handle it does not hold.
int destroy(std::set<void *> &live, void *handle) {
  std::lock_guard<std::mutex> lock(mutex);
  if (!live.erase(handle))
    return kInvalidValue;
  delete static_cast<FakeGraph *>(handle);
  return kSuccess;
}

Capture *captureOf(void *stream) {
  auto found = captures.find(stream);
  return found == captures.end() ? nullptr : &found->second;
}

} // namespace

namespace fake_cuda {

bool isCapturing(void *stream) {
  std::lock_guard<std::mutex> lock(mutex);
  return stream && captureOf(stream);
}

void *threadCaptureStream() {
  std::lock_guard<std::mutex> lock(mutex);
  for (const auto &[stream, capture] : captures)
    if (capture.thread == std::this_thread::get_id())
      return stream;
  return nullptr;
}

int captureOp(void *stream, GraphOp op) {
  std::lock_guard<std::mutex> lock(mutex);
  Capture *capture = captureOf(stream);
  if (!capture)
    return kIllegalState;
  if (capture->error == kSuccess)
    capture->ops.push_back(std::move(op));
  return capture->error == kSuccess ? kSuccess : kCaptureInvalidated;
}

int breakCapture(void *stream, int error) {
  std::lock_guard<std::mutex> lock(mutex);
  if (Capture *capture = captureOf(stream); capture && capture->error == kSuccess)
    capture->error = error;
  return error;
}

int captureAllocation(void *stream, void *memory) {
  std::lock_guard<std::mutex> lock(mutex);
  Capture *capture = captureOf(stream);
  if (!capture)
    return kIllegalState;
  capture->memory->allocations.push_back(memory);
  return kSuccess;
}

int captureFree(void *stream, void *memory) {
  std::lock_guard<std::mutex> lock(mutex);
  Capture *capture = captureOf(stream);
  if (!capture)
    return kIllegalState;
  const std::vector<void *> &ours = capture->memory->allocations;
  bool allocatedHere = std::find(ours.begin(), ours.end(), memory) != ours.end();
  if (!allocatedHere || !capture->freed.insert(memory).second) {
    if (capture->error == kSuccess)
      capture->error = kInvalidValue;
    return kInvalidValue;
  }
  return kSuccess;
}

} // namespace fake_cuda

extern "C" {

int cuStreamBeginCapture_v2(void *stream, int mode) {
  if (!stream)
    return kCaptureUnsupported; // the legacy default stream cannot capture
  if (mode < kCaptureModeGlobal || mode > kCaptureModeRelaxed)
    return kInvalidValue;
  std::lock_guard<std::mutex> lock(mutex);
  if (captureOf(stream))
    return kIllegalState;
  captures[stream].thread = std::this_thread::get_id();
  return recordCall("cuStreamBeginCapture_v2", stream);
}

int cuStreamEndCapture(void *stream, void **graph) {
  if (!graph)
    return kInvalidValue;
  *graph = nullptr;
  std::lock_guard<std::mutex> lock(mutex);
  Capture *capture = captureOf(stream);
  if (!capture)
    return kIllegalState;
  if (capture->thread != std::this_thread::get_id())
    return kCaptureWrongThread;
  Capture ended = std::move(*capture);
  captures.erase(stream);
  recordCall("cuStreamEndCapture", stream);
  if (ended.error != kSuccess)
    return kCaptureInvalidated;
  auto *made =
      new FakeGraph{std::make_shared<const std::vector<GraphOp>>(std::move(ended.ops)), std::move(ended.memory)};
  liveGraphs.insert(made);
  *graph = made;
  return kSuccess;
}

int cuGraphInstantiateWithFlags(void **exec, void *graph, unsigned long long) {
  if (!exec)
    return kInvalidValue;
  std::lock_guard<std::mutex> lock(mutex);
  if (!liveGraphs.count(graph))
    return kInvalidValue;
  auto *made = new FakeGraph(*static_cast<FakeGraph *>(graph));
  liveExecs.insert(made);
  *exec = made;
  return kSuccess;
}

int cuGraphDestroy(void *graph) { return destroy(liveGraphs, graph); }
int cuGraphExecDestroy(void *exec) { return destroy(liveExecs, exec); }

// The records run in order on the calling thread; the first failure ends
// the launch with its result (a kernel's CUDA_ERROR_ILLEGAL_ADDRESS, say).
int cuGraphLaunch(void *exec, void *stream) {
  std::shared_ptr<const std::vector<GraphOp>> ops;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (!liveExecs.count(exec))
      return kInvalidValue;
    if (stream && captureOf(stream))
      return kNotSupported; // a graph launched into a capture: child graphs are not modelled
    ops = static_cast<FakeGraph *>(exec)->ops;
  }
  recordCall("cuGraphLaunch", stream);
  for (const GraphOp &op : *ops)
    if (int result = op(stream); result != kSuccess)
      return result;
  return kSuccess;
}

} // extern "C"
