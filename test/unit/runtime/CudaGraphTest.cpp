// CUDA graphs: the CUDA backend's ArtifactCalls capture a call the second
// time its arguments repeat and replay it after, and the fake device keeps
// the driver's rules of stream capture (FakeCudaGraphs.cpp). The entry point
// is FakeKernelArtifact.cpp's fake_kernels_add_one_packed: a temporary, two
// device copies and a kernel adding 1. Under ctest the device is the fake
// one; the artifact's PTX is real, so the ArtifactCalls tests also pass on a
// GPU (the capture-rule tests read device memory from the host, so they
// skip there).

#include "ember/runtime/Backend.h"
#include "ember/runtime/CudaDriver.h"

#include "TestSupport.h"

#include <dlfcn.h>

namespace ember::rt {
namespace {

using namespace cuda;

constexpr int64_t kCount = 300; // three blocks of 128 threads, the last one partly idle

class CudaGraphTest : public ::testing::Test {
protected:
  void SetUp() override {
    try {
      backend_ = makeCudaBackend();
    } catch (const CudaUnavailable &error) {
      GTEST_SKIP() << "needs a CUDA device or the fake one first on LD_LIBRARY_PATH (run through ctest): "
                   << error.what();
    }
    artifact_ = backend_->openArtifact(test::testFile(EMBER_FAKE_KERNEL_ARTIFACT));
    addOne_ = reinterpret_cast<PackedFn>(artifact_->symbol("fake_kernels_add_one_packed"));
  }

  DeviceBuffer filled(float value) {
    DeviceBuffer buffer(*backend_, kCount * sizeof(float), "a test buffer");
    std::vector<float> values(kCount, value);
    backend_->copyToDevice(buffer.data(), values.data(), kCount * sizeof(float));
    return buffer;
  }
  // fake_kernels_add_one_packed's arguments: the buffer as a memref.
  static PackedArgs argsOf(const DeviceBuffer &buffer) {
    PackedArgs args;
    args.addMemRef(buffer.data(), {kCount});
    return args;
  }
  std::vector<float> contents(const DeviceBuffer &buffer) {
    std::vector<float> values(kCount);
    backend_->copyToHost(values.data(), buffer.data(), kCount * sizeof(float));
    return values;
  }

  std::unique_ptr<Backend> backend_;
  std::unique_ptr<SharedLibrary> artifact_;
  PackedFn addOne_ = nullptr;
};

TEST_F(CudaGraphTest, RepeatedCallsAreCapturedOnceThenReplayed) {
  std::unique_ptr<ArtifactCalls> calls = backend_->artifactCalls(/*graphs=*/true);
  DeviceBuffer buffer = filled(0);
  PackedArgs args = argsOf(buffer);
  for (int call = 0; call < 4; ++call)
    calls->run(addOne_, args, /*repeats=*/true);
  EXPECT_EQ(contents(buffer), std::vector<float>(kCount, 4));
  EXPECT_EQ(calls->graphCounts().captured, 1); // the first call ran directly
  EXPECT_EQ(calls->graphCounts().launched, 3);

  // A replay reads what device memory holds when it runs.
  backend_->copyToDevice(buffer.data(), std::vector<float>(kCount, 10).data(), kCount * sizeof(float));
  calls->run(addOne_, args, true);
  EXPECT_EQ(contents(buffer), std::vector<float>(kCount, 11));
  EXPECT_EQ(calls->graphCounts().launched, 4);

  // Other arguments are another call: it runs directly the first time.
  DeviceBuffer other = filled(0);
  PackedArgs otherArgs = argsOf(other);
  calls->run(addOne_, otherArgs, true);
  EXPECT_EQ(contents(other), std::vector<float>(kCount, 1));
  EXPECT_EQ(calls->graphCounts().captured, 1);
  EXPECT_EQ(calls->graphCounts().launched, 4);

  // Calls whose buffers the caller does not keep never become graphs.
  for (int call = 0; call < 3; ++call)
    calls->run(addOne_, otherArgs, /*repeats=*/false);
  EXPECT_EQ(contents(other), std::vector<float>(kCount, 4));
  EXPECT_EQ(calls->graphCounts().launched, 4);
}

TEST_F(CudaGraphTest, GraphsOffLaunchesEveryKernel) {
  std::unique_ptr<ArtifactCalls> calls = backend_->artifactCalls(/*graphs=*/false);
  DeviceBuffer buffer = filled(0);
  PackedArgs args = argsOf(buffer);
  for (int call = 0; call < 3; ++call)
    calls->run(addOne_, args, true);
  EXPECT_EQ(contents(buffer), std::vector<float>(kCount, 3));
  EXPECT_EQ(calls->graphCounts().captured, 0);
  EXPECT_EQ(calls->graphCounts().launched, 0);
}

// The fake device's capture rules, through the driver table (the same
// libcuda.so.1). Its device memory is host memory, which the test reads.
class FakeCaptureTest : public CudaGraphTest {
protected:
  void SetUp() override {
    CudaGraphTest::SetUp();
    if (IsSkipped())
      return;
    if (!dlsym(dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD), "fake_cuda_calls"))
      GTEST_SKIP() << "reads device memory from the host: the fake CUDA device only";
    driver_ = CudaDriver::load();
    ASSERT_EQ(driver_->cuStreamCreate(&stream_, CU_STREAM_DEFAULT), CUDA_SUCCESS);
    buffer_ = filled(0);
  }
  std::string begin() {
    return driver_->errorName(driver_->cuStreamBeginCapture(stream_, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL));
  }
  // The end of the capture; destroys the graph it made.
  std::string end() {
    CUgraph graph = nullptr;
    std::string result = driver_->errorName(driver_->cuStreamEndCapture(stream_, &graph));
    if (graph)
      driver_->cuGraphDestroy(graph);
    return result;
  }
  const unsigned char *bytes() const { return static_cast<const unsigned char *>(buffer_.data()); }
  CUdeviceptr device() const { return CUdeviceptr(buffer_.data()); }

  std::unique_ptr<CudaDriver> driver_;
  CUstream stream_ = nullptr;
  DeviceBuffer buffer_;
};

TEST_F(FakeCaptureTest, CapturedWorkRunsAtEachLaunch) {
  ASSERT_EQ(begin(), "CUDA_SUCCESS");
  ASSERT_EQ(driver_->cuMemsetD8Async(device(), 7, 16, stream_), CUDA_SUCCESS);
  EXPECT_EQ(bytes()[0], 0) << "captured work ran at capture";
  CUgraph graph = nullptr;
  ASSERT_EQ(driver_->cuStreamEndCapture(stream_, &graph), CUDA_SUCCESS);
  CUgraphExec exec = nullptr;
  ASSERT_EQ(driver_->cuGraphInstantiate(&exec, graph, 0), CUDA_SUCCESS);
  EXPECT_EQ(driver_->cuGraphDestroy(graph), CUDA_SUCCESS); // the executable graph stands alone
  ASSERT_EQ(driver_->cuGraphLaunch(exec, stream_), CUDA_SUCCESS);
  EXPECT_EQ(bytes()[15], 7);
  EXPECT_EQ(bytes()[16], 0);
  EXPECT_EQ(driver_->cuGraphExecDestroy(exec), CUDA_SUCCESS);
  EXPECT_EQ(driver_->errorName(driver_->cuGraphLaunch(exec, stream_)), "CUDA_ERROR_INVALID_VALUE");
}

TEST_F(FakeCaptureTest, SynchronizingTheCapturingStreamBreaksTheCapture) {
  ASSERT_EQ(begin(), "CUDA_SUCCESS");
  EXPECT_EQ(driver_->errorName(driver_->cuStreamSynchronize(stream_)), "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED");
  EXPECT_EQ(end(), "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED");
}

TEST_F(FakeCaptureTest, PageableHostCopiesBreakTheCapture) {
  std::vector<unsigned char> pageable(16, 3);
  ASSERT_EQ(begin(), "CUDA_SUCCESS");
  EXPECT_EQ(driver_->errorName(driver_->cuMemcpyHtoDAsync(device(), pageable.data(), 16, stream_)),
            "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED");
  EXPECT_EQ(end(), "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED");
  EXPECT_EQ(bytes()[0], 0);
}

TEST_F(FakeCaptureTest, AFreeNodeFreesOnlyThisCapturesAllocations) {
  ASSERT_EQ(begin(), "CUDA_SUCCESS");
  CUdeviceptr temporary = 0;
  ASSERT_EQ(driver_->cuMemAllocAsync(&temporary, 64, stream_), CUDA_SUCCESS);
  EXPECT_EQ(driver_->cuMemFreeAsync(temporary, stream_), CUDA_SUCCESS);
  EXPECT_EQ(driver_->errorName(driver_->cuMemFreeAsync(temporary, stream_)), "CUDA_ERROR_INVALID_VALUE"); // twice
  EXPECT_EQ(end(), "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED");

  ASSERT_EQ(begin(), "CUDA_SUCCESS");
  EXPECT_EQ(driver_->errorName(driver_->cuMemFreeAsync(device(), stream_)), "CUDA_ERROR_INVALID_VALUE");
  EXPECT_EQ(end(), "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED");
}

TEST_F(FakeCaptureTest, CaptureStatesAreChecked) {
  EXPECT_EQ(end(), "CUDA_ERROR_ILLEGAL_STATE"); // not capturing
  ASSERT_EQ(begin(), "CUDA_SUCCESS");
  EXPECT_EQ(begin(), "CUDA_ERROR_ILLEGAL_STATE"); // already capturing
  EXPECT_EQ(end(), "CUDA_SUCCESS");
  EXPECT_EQ(driver_->errorName(driver_->cuStreamBeginCapture(nullptr, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)),
            "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED"); // the legacy default stream
}

} // namespace
} // namespace ember::rt
