// The CUDA backend on a fake device whose memory is host memory
// (FakeCudaDevice.cpp, first on LD_LIBRARY_PATH under ctest): each thread's
// device work goes on its own stream, nothing per call uses the legacy
// default stream, and a chunked prefill embeds the next chunk on a second
// stream while the layers run, with the same result as one call. Only the
// stream discipline is tested here; whether the device overlaps the two
// streams needs a GPU.

#include "ember/model/Parsing.h"
#include "ember/runtime/Backend.h"
#include "ember/runtime/CudaDriver.h"
#include "ember/runtime/Decoder.h"
#include "ember/runtime/Generate.h"

#include "FakeCudaDevice.h"
#include "FakeDecoderAccess.h"
#include "ModelCheckpoint.h"
#include "TestSupport.h"

#include <dlfcn.h>

#include <set>
#include <thread>

extern "C" void *mgpuStreamCreate(); // CudaShim.cpp

namespace ember::rt {
namespace {

class FakeCudaDeviceTest : public ::testing::Test {
protected:
  void SetUp() override {
    try {
      backend_ = makeCudaBackend(&device_);
    } catch (const CudaUnavailable &error) {
      GTEST_SKIP() << "needs the fake libcuda.so.1 first on LD_LIBRARY_PATH (run through ctest): " << error.what();
    }
    void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
    calls_ = driver ? reinterpret_cast<FakeCudaCallsFn>(dlsym(driver, "fake_cuda_calls")) : nullptr;
    auto clear = driver ? reinterpret_cast<FakeCudaClearCallsFn>(dlsym(driver, "fake_cuda_clear_calls")) : nullptr;
    if (!calls_ || !clear)
      GTEST_SKIP() << "libcuda.so.1 is a real driver (" << device_ << "), not the fake device";
    clear();
  }

  std::vector<FakeCudaCall> calls() const {
    std::vector<FakeCudaCall> recorded(calls_(nullptr, 0));
    recorded.resize(calls_(recorded.data(), recorded.size()));
    return recorded;
  }

  // Allocates, fills and reads back a buffer (the fake fills new memory
  // with 0xA5, so the zeros are the backend's); returns the calling
  // thread's stream as compiled code gets it.
  void *roundTrip() {
    test::expectZeroedRoundTrip(*backend_, 100);
    return mgpuStreamCreate();
  }

  std::string device_;
  std::unique_ptr<Backend> backend_;
  FakeCudaCallsFn calls_ = nullptr;
};

// The kernels' chip (the artifact's ember_nvptx_kernels, read from the
// file before anything of it is loaded) must run on the device (sm_90):
// PTX of its chip or an older one (the driver JITs it), a cubin of the same
// major version and no newer minor one (ember-run-chip.test, with ptxas).
// FakeKernelArtifact is marked "sm_90 ptx"; copies are patched to others.
TEST_F(FakeCudaDeviceTest, ArtifactsForAnotherChipAreRefusedBeforeLoading) {
  std::string bytes = readFile(EMBER_FAKE_KERNEL_ARTIFACT);
  size_t at = bytes.find("sm_90 ptx");
  ASSERT_NE(at, std::string::npos);
  test::TempDir dir;
  auto patched = [&](const std::string &mark) {
    std::string copy = bytes, path = dir.file(mark.substr(0, 5) + ".so");
    copy.replace(at, mark.size(), mark);
    test::writeBytes(path, copy);
    return path;
  };
  EXPECT_NO_THROW(backend_->openArtifact(patched("sm_80 ptx")));
  std::string newer = patched("sm_91 ptx");
  EXPECT_ERROR_CONTAINS(backend_->openArtifact(newer), newer, ": its kernels were compiled for sm_91 (ptx), which ",
                        " (sm_90) cannot run; compile for this "
                        "GPU (ember-compile --target nvptx --chip sm_90)");
  EXPECT_EQ(dlopen(newer.c_str(), RTLD_NOW | RTLD_NOLOAD), nullptr);
  EXPECT_ERROR_CONTAINS(backend_->openArtifact(patched("sm_9x ptx")), "compiled for sm_9x (ptx)");
}

TEST_F(FakeCudaDeviceTest, EachThreadWorksOnItsOwnStream) {
  EXPECT_EQ(device_, "Fake CUDA device, sm_90");
  EXPECT_EQ(backend_->memoryPeakBytesPerSecond(), 256e9); // 2 x 1 GHz x 1024 bits
  void *mainStream = roundTrip();
  void *workerStream = nullptr;
  std::thread::id worker;
  std::thread([&] {
    worker = std::this_thread::get_id();
    workerStream = roundTrip();
  }).join();
  ASSERT_NE(mainStream, nullptr);
  ASSERT_NE(workerStream, nullptr);
  EXPECT_NE(mainStream, workerStream);
  std::vector<FakeCudaCall> recorded = calls();
  EXPECT_GE(recorded.size(), 12u); // per thread: alloc, memset, sync, 3 copies + syncs, free
  for (const FakeCudaCall &call : recorded) {
    SCOPED_TRACE(call.function);
    EXPECT_EQ(call.stream, call.thread == worker ? workerStream : mainStream);
  }
}

TEST_F(FakeCudaDeviceTest, FinishedThreadsHandTheirStreamOn) {
  std::set<void *> streams;
  for (int i = 0; i < 4; ++i)
    std::thread([&] { streams.insert(roundTrip()); }).join();
  EXPECT_EQ(streams.size(), 1u);
  size_t created = 0;
  for (const FakeCudaCall &call : calls())
    created += std::string(call.function) == "cuStreamCreate";
  EXPECT_LE(created, 1u) << "a stream per thread would leak one per std::async task";
}

TEST_F(FakeCudaDeviceTest, AllocationFailureNamesTheBuffer) {
  EXPECT_ERROR_CONTAINS(backend_->allocate(size_t(1) << 50, "an impossible buffer"),
                        "cannot allocate 1125899906842624 bytes of device memory for an impossible buffer on Fake "
                        "CUDA device: cuMemAllocAsync failed: CUDA_ERROR_OUT_OF_MEMORY (out of memory)");
}

TEST_F(FakeCudaDeviceTest, HostPlacedBuffersArePinnedAndMapped) {
  test::expectZeroedRoundTrip(*backend_, 100, Placement::Host);
  size_t pinned = 0;
  for (const FakeCudaCall &call : calls())
    pinned += std::string(call.function) == "cuMemHostAlloc";
  EXPECT_EQ(pinned, 1u);
}

// What the backend relies on, as the driver documents it; the fake holds
// the runtime to it.
TEST_F(FakeCudaDeviceTest, PinnedMemoryKeepsTheDriversContract) {
  std::unique_ptr<CudaDriver> driver = CudaDriver::load();
  using cuda::CUdeviceptr;
  void *unmapped = nullptr, *mapped = nullptr;
  ASSERT_EQ(driver->cuMemHostAlloc(&unmapped, 64, 0), cuda::CUDA_SUCCESS);
  ASSERT_EQ(driver->cuMemHostAlloc(&mapped, 64, cuda::CU_MEMHOSTALLOC_DEVICEMAP), cuda::CUDA_SUCCESS);
  CUdeviceptr device = 0;
  EXPECT_NE(driver->cuMemHostGetDevicePointer(&device, unmapped, 0), cuda::CUDA_SUCCESS); // not DEVICEMAP
  int onTheStack = 0;
  EXPECT_NE(driver->cuMemHostGetDevicePointer(&device, &onTheStack, 0), cuda::CUDA_SUCCESS);
  ASSERT_EQ(driver->cuMemHostGetDevicePointer(&device, static_cast<char *>(mapped) + 8, 0), cuda::CUDA_SUCCESS);
  // Another address for the same bytes: writes through the host address
  // show at the device one.
  EXPECT_NE(reinterpret_cast<char *>(device), static_cast<char *>(mapped) + 8);
  static_cast<int *>(mapped)[2] = 42;
  EXPECT_EQ(*reinterpret_cast<int *>(device), 42);
  // Copies take device addresses only.
  int value = 0;
  EXPECT_EQ(driver->cuMemcpyDtoHAsync(&value, device, sizeof value, nullptr), cuda::CUDA_SUCCESS);
  EXPECT_EQ(value, 42);
  EXPECT_NE(driver->cuMemcpyDtoHAsync(&value, CUdeviceptr(uintptr_t(&onTheStack)), sizeof value, nullptr),
            cuda::CUDA_SUCCESS);
  EXPECT_NE(driver->cuMemcpyDtoHAsync(&value, device, 64, nullptr), cuda::CUDA_SUCCESS); // past its end
  // Freed by the host address cuMemHostAlloc returned, once.
  EXPECT_NE(driver->cuMemFreeHost(reinterpret_cast<void *>(device)), cuda::CUDA_SUCCESS);
  EXPECT_EQ(driver->cuMemFreeHost(mapped), cuda::CUDA_SUCCESS);
  EXPECT_NE(driver->cuMemFreeHost(mapped), cuda::CUDA_SUCCESS);
  EXPECT_EQ(driver->cuMemFreeHost(unmapped), cuda::CUDA_SUCCESS);
}

// A checkpoint of the micro config with MTP tensors, and the fake nvptx
// decoder's record of its entry points' streams, cleared.
class FakeCudaDecoderTest : public FakeCudaDeviceTest {
protected:
  void SetUp() override {
    FakeCudaDeviceTest::SetUp();
    if (IsSkipped())
      return;
    writeSafetensors(dir_.file("model.safetensors"), test::modelTensors(config_, DType::F32, 5.0f, true));
    checkpoint_ = std::make_unique<Checkpoint>(dir_.path());
    weights_ = std::make_unique<ModelWeights>(config_, *checkpoint_);
    mtpWeights_ = loadMtpWeights(config_, *checkpoint_, DType::F32);
  }
  // Without CUDA graphs: the fake decoder artifact computes in its host
  // code, which a graph does not replay (a compiled nvptx artifact's host
  // code only launches kernels).
  Decoder decoder(int64_t prefillChunk = 0) {
    DecoderOptions options{64, 1, prefillChunk};
    options.cudaGraphs = false;
    return Decoder(config_, *weights_, EMBER_FAKE_ARTIFACT, *backend_, options, &*mtpWeights_);
  }
  FakeDecoderStreams &streams() {
    auto &recorded = test::fakeDecoderVariable<FakeDecoderStreams>("fake_decoder_streams");
    recorded.count = 0;
    return recorded;
  }
  // Every embed ran on a queue thread's stream, every other call on the
  // calling thread's; returns the number of embeds.
  size_t embedsOffTheCallersStream(const FakeDecoderStreams &recorded) {
    void *callerStream = mgpuStreamCreate();
    size_t embeds = 0;
    for (size_t i = 0; i < std::min(recorded.count.load(), FakeDecoderStreams::kCapacity); ++i) {
      const auto &entry = recorded.entries[i];
      SCOPED_TRACE(std::to_string(i) + ": " + entry.entry);
      bool isEmbed = std::string(entry.entry) == "embed";
      embeds += isEmbed;
      EXPECT_EQ(entry.stream == callerStream, !isEmbed);
    }
    return embeds;
  }

  test::TempDir dir_;
  ModelConfig config_ = test::microConfig();
  std::unique_ptr<Checkpoint> checkpoint_;
  std::unique_ptr<ModelWeights> weights_;
  std::optional<ModelWeights> mtpWeights_;
};

TEST_F(FakeCudaDecoderTest, ChunkedPrefillEmbedsOnASecondStream) {
  const std::vector<int32_t> prompt{3, 7, 1, 4, 9, 2, 5, 8, 6, 11, 12};
  DecoderOutput whole = decoder().prefill(0, prompt);
  Decoder session = decoder(/*prefillChunk=*/3);
  FakeDecoderStreams &recorded = streams();
  size_t setupCalls = calls().size();
  DecoderOutput chunked = session.prefill(0, prompt);
  EXPECT_EQ(chunked.logits, whole.logits); // NaN rows would mark a stale table or cache
  EXPECT_EQ(chunked.hidden, whole.hidden);
  EXPECT_EQ(recorded.count, 8u);
  EXPECT_EQ(embedsOffTheCallersStream(recorded), 4u);
  std::vector<FakeCudaCall> driverCalls = calls();
  for (size_t i = setupCalls; i < driverCalls.size(); ++i)
    EXPECT_NE(driverCalls[i].stream, nullptr) << driverCalls[i].function << " on the legacy default stream";
}

TEST_F(FakeCudaDecoderTest, DraftTokensEmbedOnASecondStream) {
  config_.eosTokenId = -1;
  GenerationOptions options;
  options.maxNewTokens = 12;
  Decoder plainSession = decoder();
  std::vector<int32_t> plain = generate(plainSession, {{5, 1, 12}}, options).sequences[0].tokens;
  options.drafter = DrafterKind::Mtp;
  Decoder session = decoder();
  FakeDecoderStreams &recorded = streams();
  test::fakeDrafterInconsistentRows() = 0;
  BatchGeneration speculative = generate(session, {{5, 1, 12}}, options);
  EXPECT_EQ(speculative.sequences[0].tokens, plain);
  EXPECT_EQ(test::fakeDrafterInconsistentRows(), 0);
  EXPECT_GT(speculative.stats.draftedTokens, 0);
  // One embed per verified token and per draft, all off the caller's stream.
  EXPECT_EQ(embedsOffTheCallersStream(recorded),
            size_t(speculative.stats.verifications + speculative.stats.draftedTokens));
}

} // namespace
} // namespace ember::rt
