// Kernel launches on the CUDA backend, with the hand-made nvptx artifact
// FakeKernelArtifact.cpp: the device refuses launches beyond its limits
// with a bare CUDA_ERROR_INVALID_VALUE, so the shim checks them first and
// names the kernel, its ember op, the dims and the limit; and --profile's
// per-op times and modelled bytes. Under ctest the device is the fake one
// (FakeCudaDevice.cpp, an H200's limits, kernels run on the host); the
// artifact's PTX is real, so the tests also pass on a GPU.

#include "ember/runtime/AtomicFile.h"
#include "ember/runtime/Backend.h"
#include "ember/runtime/CudaDriver.h"
#include "ember/runtime/KernelProfile.h"
#include "ember/model/Parsing.h"

#include "TestSupport.h"

#include <nlohmann/json.hpp>

#include <array>
#include <thread>

namespace ember::rt {
namespace {

using Dims = std::array<int64_t, 3>;
using LaunchFn = void (*)(const char *kernel, float *buffer, int64_t count, const int64_t *grid,
                          const int64_t *block, int32_t sharedBytes);

constexpr int64_t kCount = 256;

class CudaLaunchTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string device;
    try {
      backend_ = makeCudaBackend(&device);
    } catch (const CudaUnavailable &error) {
      GTEST_SKIP() << "needs a CUDA device or the fake one first on LD_LIBRARY_PATH (run through ctest): "
                   << error.what();
    }
    deviceName_ = device.substr(0, device.rfind(", ")); // without the chip
    artifact_ = backend_->openArtifact(test::testFile(EMBER_FAKE_KERNEL_ARTIFACT));
    launch_ = reinterpret_cast<LaunchFn>(artifact_->symbol("fake_kernels_launch"));
    buffer_ = DeviceBuffer(*backend_, kCount * sizeof(float), "the kernels' buffer");
    std::vector<float> zeros(kCount, 0.0f);
    backend_->copyToDevice(buffer_.data(), zeros.data(), kCount * sizeof(float));
  }

  // Launches `kernel` on the buffer (or `buffer`) through the shim, as
  // compiled code does.
  void launch(const char *kernel, Dims grid, Dims block, int32_t sharedBytes = 0, void *buffer = nullptr) {
    launch_(kernel, static_cast<float *>(buffer ? buffer : buffer_.data()), kCount, grid.data(), block.data(),
            sharedBytes);
  }
  // The buffer; throws what the launches since the last read ran into.
  std::vector<float> contents() {
    std::vector<float> values(kCount);
    backend_->copyToHost(values.data(), buffer_.data(), kCount * sizeof(float));
    return values;
  }

  std::string deviceName_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<SharedLibrary> artifact_;
  LaunchFn launch_ = nullptr;
  DeviceBuffer buffer_;
};

TEST_F(CudaLaunchTest, DriverRefusesLaunchesBeyondTheDevicesLimits) {
  std::unique_ptr<CudaDriver> driver = CudaDriver::load(); // the same libcuda.so.1, without the shim's checks
  cuda::CUmodule module = nullptr;
  cuda::CUfunction function = nullptr;
  ASSERT_EQ(driver->cuModuleLoadData(&module, artifact_->symbol("fake_kernels_image")), cuda::CUDA_SUCCESS);
  ASSERT_EQ(driver->cuModuleGetFunction(&function, module, "fake_layer__add_3"), cuda::CUDA_SUCCESS);
  void *aligned = buffer_.data();
  int64_t offset = 0, size = kCount, stride = 1;
  void *params[] = {&aligned, &aligned, &offset, &size, &stride};
  auto launch = [&](Dims grid, Dims block) {
    return driver->errorName(driver->cuLaunchKernel(function, unsigned(grid[0]), unsigned(grid[1]), unsigned(grid[2]),
                                                    unsigned(block[0]), unsigned(block[1]), unsigned(block[2]), 0,
                                                    nullptr, params, nullptr));
  };
  EXPECT_EQ(launch({2, 1, 1}, {1, 1, 128}), "CUDA_ERROR_INVALID_VALUE");  // block z over 64
  EXPECT_EQ(launch({1, 65536, 1}, {128, 1, 1}), "CUDA_ERROR_INVALID_VALUE"); // grid y over 65535
  EXPECT_EQ(contents(), std::vector<float>(kCount, 0.0f));
  EXPECT_EQ(launch({2, 1, 1}, {128, 1, 1}), "CUDA_SUCCESS");
  EXPECT_EQ(driver->cuStreamSynchronize(nullptr), cuda::CUDA_SUCCESS);
  EXPECT_EQ(contents(), std::vector<float>(kCount, 1.0f));
  EXPECT_EQ(driver->cuModuleUnload(module), cuda::CUDA_SUCCESS);
}

TEST_F(CudaLaunchTest, OverLimitLaunchNamesKernelOpDimsAndLimit) {
  const std::string device = deviceName_ + "'s limit of ";
  const struct {
    const char *kernel;
    Dims grid, block;
    int32_t sharedBytes;
    std::string expected;
  } cases[] = {
      {"fake_layer__add_3", {1, 1, 1}, {1, 1, 128}, 0,
       "kernel fake_layer__add_3 (ember.add #3 of fake_layer) launched with grid (1, 1, 1) and block (1, 1, 128): "
       "block z = 128 exceeds " + device + "64"},
      {"fake_layer__scale_4", {1, 65536, 1}, {128, 1, 1}, 0,
       "kernel fake_layer__scale_4 (ember.scale #4 of fake_layer) launched with grid (1, 65536, 1) and block "
       "(128, 1, 1): grid y = 65536 exceeds " + device + "65535"},
      // Past 2^32 the driver's unsigned dims would wrap to a legal 1.
      {"fake_layer__add_3", {4294967297, 1, 1}, {1, 1, 1}, 0,
       "grid x = 4294967297 exceeds " + device + "2147483647"},
      {"fake_layer__add_3_tail", {1, 1, 1}, {32, 32, 2}, 0,
       "kernel fake_layer__add_3_tail (ember.add #3 of fake_layer) launched with grid (1, 1, 1) and block "
       "(32, 32, 2): block x * y * z = 2048 exceeds " + device + "1024 threads per block"},
      {"fake_layer__add_3", {1, 1, 1}, {0, 1, 1}, 0, "block x = 0 is below the minimum of 1"},
      {"fake_layer__add_3", {1, 1, 1}, {128, 1, 1}, 300 * 1024,
       "static + dynamic shared memory = 307200 exceeds " + device + "232448 bytes per block"},
      // Its artifact's manifest does not list it: the name alone.
      {"fake_unlisted", {1, 1, 1}, {1, 1, 128}, 0,
       "kernel fake_unlisted launched with grid (1, 1, 1) and block (1, 1, 128): block z = 128 exceeds " + device +
           "64"},
  };
  for (const auto &test : cases) {
    SCOPED_TRACE(test.expected);
    launch(test.kernel, test.grid, test.block, test.sharedBytes);
    EXPECT_ERROR_CONTAINS(contents(), "CUDA error in compiled code, found before copying to the host: kernel ",
                          test.expected);
    EXPECT_EQ(contents(), std::vector<float>(kCount, 0.0f)) << "the refused launch ran";
  }
  launch("fake_layer__add_3", {1, 1, 1}, {128, 2, 1}); // legal
  EXPECT_EQ(contents(), std::vector<float>(kCount, 1.0f));
}

// The fake runs host copies that check every access's bounds; one outside
// fails the launch as a faulting kernel fails on a GPU.
TEST_F(CudaLaunchTest, OutOfBoundsAccessFailsTheLaunchWithIllegalAddress) {
  if (deviceName_.find("Fake") == std::string::npos)
    GTEST_SKIP() << "a faulting kernel would lose the CUDA context of the other tests; the fake's check only";
  launch("fake_layer__overrun_5", {2, 1, 1}, {128, 1, 1});
  EXPECT_ERROR_CONTAINS(contents(), "CUDA error in compiled code, found before copying to the host: kernel ",
                        "fake_layer__overrun_5", "cuLaunchKernel failed: CUDA_ERROR_ILLEGAL_ADDRESS");
}

TEST_F(CudaLaunchTest, DynamicSharedMemoryIsRaisedForTheLaunchThatNeedsIt) {
  // 64 KiB is over the 48 KiB a kernel gets by default, which the driver enforces.
  launch("fake_layer__scale_4", {1, 1, 1}, {256, 1, 1}, 64 * 1024);
  launch("fake_layer__add_3", {1, 1, 1}, {256, 1, 1}, 64 * 1024);
  EXPECT_EQ(contents(), std::vector<float>(kCount, 1.0f));
}

// The manifest's polynomial holds up to bytes_max_tokens rows (4 for add #3).
TEST_F(CudaLaunchTest, BytesBeyondTheModelledTokensAreUnknown) {
  backend_->takeKernelProfile();
  backend_->setKernelProfiling(true);
  {
    ArtifactCallScope call(4, 0); // 100 + 40 + 4 bytes
    launch("fake_layer__add_3", {1, 1, 1}, {256, 1, 1});
  }
  KernelProfile within = backend_->takeKernelProfile();
  {
    ArtifactCallScope call(5, 0);
    launch("fake_layer__add_3", {1, 1, 1}, {256, 1, 1});
  }
  backend_->setKernelProfiling(false);
  KernelProfile beyond = backend_->takeKernelProfile();
  ASSERT_EQ(within.rows.size(), 1u);
  ASSERT_EQ(beyond.rows.size(), 1u);
  EXPECT_EQ(within.rows[0].modelledBytes, 144.0);
  EXPECT_EQ(beyond.rows[0].modelledBytes, std::nullopt);
}

TEST_F(CudaLaunchTest, ProfileCountsLaunchesPerOpWithTheirModelledBytes) {
  backend_->takeKernelProfile(); // what earlier tests timed, if anything
  backend_->setKernelProfiling(true);
  std::thread other([&] { // on its own stream and buffer
    DeviceBuffer buffer(*backend_, kCount * sizeof(float), "the second thread's buffer");
    ArtifactCallScope call(1, 10); // 100 + 10 + 10 + 5 + 0.25 bytes per add #3 launch
    for (int i = 0; i < 5; ++i)
      launch("fake_layer__add_3", {2, 1, 1}, {128, 1, 1}, 0, buffer.data());
  });
  {
    ArtifactCallScope call(4, 6); // 100 + 40 + 6 + 12 + 4 bytes per add #3 launch
    for (int i = 0; i < 3; ++i)
      launch("fake_layer__add_3", {1, 1, 1}, {256, 1, 1});
    launch("fake_layer__add_3_tail", {1, 1, 1}, {256, 1, 1}); // 1 byte
    launch("fake_unlisted", {1, 1, 1}, {256, 1, 1});
    launch("fake_layer__scale_4", {1, 1, 1}, {256, 1, 1});
    launch("fake_layer__scale_4", {1, 1, 1}, {256, 1, 1});
  }
  other.join();
  backend_->setKernelProfiling(false);
  launch("fake_layer__add_3", {1, 1, 1}, {256, 1, 1}); // not timed
  EXPECT_EQ(contents(), std::vector<float>(kCount, (3 + 10 + 1000) * 4 + 1)); // every launch ran

  KernelProfile profile = backend_->takeKernelProfile();
  EXPECT_NE(profile.device.find(deviceName_), std::string::npos) << profile.device;
  EXPECT_GT(profile.copyBytesPerSecond, 0); // a device-to-device copy, timed once per process
  ASSERT_EQ(profile.rows.size(), 3u);
  for (size_t i = 0; i < profile.rows.size(); ++i) {
    EXPECT_GE(profile.rows[i].seconds, 0);
    EXPECT_GE(profile.rows[i > 0 ? i - 1 : 0].seconds, profile.rows[i].seconds) << "not sorted by total time";
  }
  auto row = [&](const std::string &op) {
    for (const KernelProfileRow &candidate : profile.rows)
      if (candidate.op == op)
        return candidate;
    ADD_FAILURE() << "no row for " << op;
    return KernelProfileRow();
  };
  KernelProfileRow add = row("add"), scale = row("scale"), unlisted = row("fake_unlisted");
  EXPECT_EQ(add.function, "fake_layer");
  EXPECT_EQ(add.opIndex, 3);
  EXPECT_EQ(add.launches, 9); // both kernels of add #3, both threads
  EXPECT_EQ(add.modelledBytes, 3 * 162 + 1 + 5 * 125.25);
  EXPECT_EQ(add.blocks, 3 * 1 + 1 + 5 * 2);                  // the launch shapes, summed
  EXPECT_EQ(add.threads, 3 * 256 + 256 + 5 * 2 * 128);
  EXPECT_EQ(scale.launches, 2);
  EXPECT_EQ(scale.modelledBytes, std::nullopt); // its manifest entry has none
  EXPECT_EQ(scale.blocks, 2);
  EXPECT_EQ(scale.threads, 512);
  EXPECT_EQ(unlisted.function, "");
  EXPECT_EQ(unlisted.opIndex, -1);
  EXPECT_EQ(unlisted.launches, 1);

  std::string table = formatKernelProfile(profile);
  for (const char *fragment : {"12 launches: device times, measured with CUDA events", "fake_layer  add #3",
                               "launches  blocks  threads", "% peak  % copy", "fake_unlisted", "\ntotal "})
    EXPECT_NE(table.find(fragment), std::string::npos) << fragment << " not in\n" << table;
  test::TempDir dir;
  writeKernelProfileJson(dir.file("profile.json"), profile);
  nlohmann::json json = nlohmann::json::parse(readFile(dir.file("profile.json")));
  ASSERT_EQ(json["ops"].size(), 3u);
  EXPECT_EQ(json["total"]["launches"], 12);
  EXPECT_EQ(json["total"]["modelled_bytes"], 3 * 162 + 1 + 5 * 125.25);
  EXPECT_EQ(json["total"]["ops_without_modelled_bytes"], 2);
  EXPECT_EQ(json["ops"][0]["blocks"].is_number_integer(), true);
  EXPECT_GT(json["copy_bytes_per_s"].get<double>(), 0);
  for (const nlohmann::json &op : json["ops"]) {
    bool modelled = op["op"] == "add";
    EXPECT_EQ(op["modelled_bytes"].is_null(), !modelled) << op.dump();
    EXPECT_EQ(op["achieved_bytes_per_s"].is_null(), !modelled || op["total_ms"] == 0.0) << op.dump();
  }

  launch("fake_layer__add_3", {1, 1, 1}, {256, 1, 1}); // profiling off: nothing more
  EXPECT_TRUE(backend_->takeKernelProfile().rows.empty());
}

TEST_F(CudaLaunchTest, LaunchesOutsideAnArtifactCallHaveNoModelledBytes) {
  backend_->takeKernelProfile();
  backend_->setKernelProfiling(true);
  launch("fake_layer__add_3", {1, 1, 1}, {256, 1, 1});
  backend_->setKernelProfiling(false);
  KernelProfile profile = backend_->takeKernelProfile();
  ASSERT_EQ(profile.rows.size(), 1u);
  EXPECT_EQ(profile.rows[0].launches, 1);
  EXPECT_EQ(profile.rows[0].modelledBytes, std::nullopt);
}

TEST_F(CudaLaunchTest, MalformedManifestFailsTheArtifactsOpening) {
  std::string malformed = test::testFile(EMBER_FAKE_MALFORMED_MANIFEST_ARTIFACT);
  EXPECT_ERROR_CONTAINS(backend_->openArtifact(malformed), malformed + ": loading its kernels",
                        "mgpuModuleLoadJIT: " + malformed +
                            ": ember_kernel_manifest is not a kernel manifest (at kernel 0)",
                        "type must be number, but is string");
}

TEST(KernelProfiling, CpuBackendRefusesIt) {
  EXPECT_ERROR_CONTAINS(makeCpuBackend()->setKernelProfiling(true),
                        "--profile times kernel launches with CUDA events, which needs the cuda backend; this run "
                        "uses the cpu backend");
}

} // namespace
} // namespace ember::rt
