// The CUDA backend's ArtifactCalls: calls of an nvptx artifact replayed as
// CUDA graphs. The host code of one decode step launches a hundred kernels
// or more, each costing the host microseconds, about as long as a small
// kernel runs; a graph launches them all in one call.
//
// Why a replay is the call: the artifact's host code computes its launches
// (grids, kernel arguments, temporaries) from its arguments alone, memref
// descriptors, and never reads device memory (the nvptx pipeline refuses
// host code that would). Two calls of one entry point with byte-equal
// descriptors therefore make the same launches; only the values in device
// memory (tokens, positions, the caches) differ, and kernels read those
// when they run. A call is captured the second time its arguments are seen,
// since a first may be a one-off (a prefill chunk), and replayed from then
// on; kernel profiling times launches one by one, so it runs calls directly.

#include "CudaSession.h"
#include "KernelProfiler.h"

#include <atomic>
#include <map>
#include <mutex>

namespace ember::rt {

namespace {

using namespace cuda;

// Graphs (and arguments seen once) kept per artifact; the least recently
// used goes first. A graph holds its temporaries' memory.
constexpr size_t kMaxGraphs = 64;

class CapturingGraph {
public:
  CapturingGraph() { setCapturingGraph(true); }
  ~CapturingGraph() { setCapturingGraph(false); }
};

class CudaGraphCalls final : public ArtifactCalls {
public:
  CudaGraphCalls(const CudaSession &session, bool graphs) : s_(session), graphs_(graphs) {}

  void run(PackedFn function, PackedArgs &args, bool repeats) override {
    if (!graphs_ || !repeats || profilingKernels())
      return function(args.data());
    std::string key(reinterpret_cast<const char *>(&function), sizeof function);
    key += args.fingerprint();
    std::shared_ptr<Graph> graph;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto found = seen_.find(key);
      if (found == seen_.end()) {
        remember(key);
        return function(args.data());
      }
      found->second.lastUse = ++clock_;
      graph = found->second.graph;
    }
    CUstream stream = s_.readyStream("running an artifact call as a CUDA graph");
    if (!graph) {
      graph = capture(function, args, stream);
      std::lock_guard<std::mutex> lock(mutex_);
      auto found = seen_.find(key);
      if (found == seen_.end())
        found = remember(key);
      found->second.graph = graph;
      ++counts_.captured;
    }
    s_.driver->check(s_.driver->cuGraphLaunch(graph->exec, stream), "cuGraphLaunch");
    s_.driver->check(s_.driver->cuStreamSynchronize(stream), "cuStreamSynchronize (after cuGraphLaunch)");
    std::lock_guard<std::mutex> lock(mutex_);
    ++counts_.launched;
  }

  void setGraphs(bool on) override { graphs_ = on; }

  GraphCounts graphCounts() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return counts_;
  }

private:
  struct Graph {
    const CudaDriver &driver;
    CUgraphExec exec = nullptr;
    ~Graph() {
      if (exec)
        driver.cuGraphExecDestroy(exec);
    }
  };
  struct Seen {
    uint64_t lastUse = 0;
    std::shared_ptr<Graph> graph; // null until the second call
  };

  std::map<std::string, Seen>::iterator remember(const std::string &key) {
    if (seen_.size() >= kMaxGraphs) {
      auto oldest = seen_.begin();
      for (auto entry = seen_.begin(); entry != seen_.end(); ++entry)
        if (entry->second.lastUse < oldest->second.lastUse)
          oldest = entry;
      seen_.erase(oldest); // a launch still using its graph holds it
    }
    return seen_.emplace(key, Seen{++clock_, nullptr}).first;
  }

  std::shared_ptr<Graph> capture(PackedFn function, PackedArgs &args, CUstream stream) {
    const CudaDriver &driver = *s_.driver;
    const char *instead = " (--cuda-graphs off launches the kernels one by one instead)";
    CUgraph captured = nullptr;
    CUresult ended = CUDA_SUCCESS;
    {
      CapturingGraph capturing;
      driver.check(driver.cuStreamBeginCapture(stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
                   (std::string("cuStreamBeginCapture_v2") + instead).c_str());
      function(args.data());
      ended = driver.cuStreamEndCapture(stream, &captured);
    }
    auto graph = std::make_shared<Graph>(Graph{driver});
    std::string error = takeMgpuError();
    CUresult made =
        ended == CUDA_SUCCESS && error.empty()
            ? driver.cuGraphInstantiate(&graph->exec, captured, CUDA_GRAPH_INSTANTIATE_FLAG_AUTO_FREE_ON_LAUNCH)
            : CUDA_SUCCESS;
    if (captured)
      driver.cuGraphDestroy(captured);
    if (!error.empty())
      throw Error("capturing a CUDA graph of an artifact call: " + error + instead);
    driver.check(ended, (std::string("cuStreamEndCapture") + instead).c_str());
    driver.check(made, (std::string("cuGraphInstantiateWithFlags") + instead).c_str());
    return graph;
  }

  const CudaSession &s_;
  std::atomic<bool> graphs_;
  mutable std::mutex mutex_;
  std::map<std::string, Seen> seen_;
  uint64_t clock_ = 0;
  GraphCounts counts_;
};

} // namespace

std::unique_ptr<ArtifactCalls> makeCudaArtifactCalls(const CudaSession &session, bool graphs) {
  return std::make_unique<CudaGraphCalls>(session, graphs);
}

} // namespace ember::rt
