// The CUDA backend without a GPU: the driver loader's failures, makeBackend's
// choices with a fake driver that finds no device (ctest puts it first on
// LD_LIBRARY_PATH), and the mgpu* functions nvptx artifacts resolve against
// this executable. RealGpu tests run only where a CUDA device exists.

#include "ember/runtime/Backend.h"
#include "ember/runtime/CudaDriver.h"
#include "ember/model/Error.h"

#include "TestSupport.h"

#include <cstdlib>
#include <vector>

namespace ember::rt {

std::string takeMgpuError(); // CudaSession.h, private to the runtime

namespace {

// makeBackend finds the fake libcuda.so.1 only through the environment ctest sets.
bool fakeDriverFirst() { return std::getenv("EMBER_TEST_FAKE_LIBCUDA") != nullptr; }

TEST(CudaDriver, MissingLibraryMeansNoDriver) {
  try {
    CudaDriver::load("libcuda-ember-missing.so.1");
    FAIL() << "loaded a library that does not exist";
  } catch (const CudaUnavailable &error) {
    EXPECT_EQ(error.summary(), "no CUDA driver: libcuda-ember-missing.so.1 not found");
    std::string message = error.what();
    EXPECT_EQ(message.rfind("cannot load libcuda-ember-missing.so.1 (", 0), 0u) << message;
    EXPECT_NE(message.find("): no NVIDIA driver on this machine"), std::string::npos) << message;
  }
}

TEST(CudaDriver, DriverWithoutDeviceFailsInCuInit) {
  try {
    CudaDriver::load(EMBER_FAKE_LIBCUDA);
    FAIL() << "the fake driver has no device";
  } catch (const CudaUnavailable &error) {
    EXPECT_EQ(error.summary(), "no CUDA device: cuInit failed: CUDA_ERROR_NO_DEVICE");
    EXPECT_STREQ(error.what(), "cuInit failed: CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)");
  }
}

TEST(CudaDriver, MissingEntryPointNamesIt) {
  setenv("EMBER_FAKE_CUINIT_RESULT", "0", 1);
  EXPECT_ERROR_CONTAINS(CudaDriver::load(EMBER_FAKE_LIBCUDA), "libcuda.so.1 lacks cuDeviceGetCount",
                        "the NVIDIA driver is too old");
  unsetenv("EMBER_FAKE_CUINIT_RESULT");
}

TEST(CudaBackend, AutoFallsBackToTheCpuSayingWhy) {
  if (!fakeDriverFirst())
    GTEST_SKIP() << "needs the fake libcuda.so.1 first on LD_LIBRARY_PATH (run through ctest)";
  std::vector<std::string> notices;
  std::unique_ptr<Backend> backend =
      makeBackend(BackendKind::Auto, [&](const std::string &line) { notices.push_back(line); });
  EXPECT_STREQ(backend->name(), "cpu");
  EXPECT_EQ(notices, std::vector<std::string>{"backend: cpu (no CUDA device: cuInit failed: CUDA_ERROR_NO_DEVICE)"});
}

TEST(CudaBackend, CudaRefusesWithTheFailedCall) {
  if (!fakeDriverFirst())
    GTEST_SKIP() << "needs the fake libcuda.so.1 first on LD_LIBRARY_PATH (run through ctest)";
  try {
    makeBackend(BackendKind::Cuda, nullptr);
    FAIL() << "the fake driver has no device";
  } catch (const Error &error) {
    EXPECT_STREQ(error.what(),
                 "--backend cuda: cuInit failed: CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)");
  }
}

TEST(MgpuShim, ArtifactResolvesAgainstThisExecutable) {
  takeMgpuError();
  // RTLD_NOW in SharedLibrary: an unexported mgpu* symbol fails here.
  std::unique_ptr<SharedLibrary> library = std::make_unique<SharedLibrary>(EMBER_FAKE_NVPTX_ARTIFACT);
  // Its constructor ran before any CUDA backend existed.
  EXPECT_EQ(takeMgpuError(),
            "mgpuModuleLoad: no CUDA context (nvptx artifacts run only after the CUDA backend is created)");
  library.reset();
  EXPECT_EQ(takeMgpuError(), ""); // nothing loaded, nothing to unload
}

TEST(MgpuShim, CpuBackendRefusesNvptxArtifacts) {
  takeMgpuError();
  EXPECT_ERROR_CONTAINS(makeCpuBackend()->openArtifact(EMBER_FAKE_NVPTX_ARTIFACT),
                        "is an nvptx artifact (CUDA kernels: sm_90 fatbin): run it with --backend cuda");
  // Refused from the file: its constructors, which load kernels, never ran.
  EXPECT_EQ(takeMgpuError(), "");
}

// Needs a GPU: device memory round trip.
TEST(RealGpu, AllocateZeroesAndCopiesBothWays) {
  std::unique_ptr<Backend> backend;
  try {
    backend = makeCudaBackend();
  } catch (const CudaUnavailable &error) {
    GTEST_SKIP() << "no usable CUDA device: " << error.what();
  }
  EXPECT_STREQ(backend->compileTarget(), "nvptx");
  EXPECT_EQ(backend->compileFlags().size(), 2u);
  test::expectZeroedRoundTrip(*backend, 1000);
  EXPECT_ERROR_CONTAINS(backend->allocate(size_t(1) << 60, "an impossible buffer"),
                        "bytes of device memory for an impossible buffer", "CUDA_ERROR_OUT_OF_MEMORY");
}

} // namespace
} // namespace ember::rt
