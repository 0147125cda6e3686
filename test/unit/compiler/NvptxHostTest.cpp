//===- NvptxHostTest.cpp - an nvptx artifact's host code without a GPU ----===//
//
// Compiles the n-gram embedding through the nvptx pipeline into a host
// shared library (PTX kernels) and runs its host code against recording
// mgpu* stand-ins exported by this test: the kernels load at dlopen, every
// launch goes to the one stream that is synchronized before returning,
// temporaries are freed, and the caller's buffers reach the kernels. All
// "device" memory is PROT_NONE, so host code touching it would crash.
//
//===----------------------------------------------------------------------===//
#include "ember/runtime/MemRef.h"
#include "lowering/HostCodegen.h"
#include "lowering/nvptx/KernelBinaries.h"
#include "lowering/Passes.h"
#include "lowering/Registration.h"
#include "models/NgramGraph.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"

#include <algorithm>
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <set>
#include <sys/mman.h>

namespace {

struct Recorder {
  std::vector<std::string> loadedPtx;
  std::vector<std::string> functions;
  std::vector<std::vector<void *>> launchArguments; // pointer-sized view of each argument
  std::set<void *> live;                             // allocated, not yet freed
  int launchesOffStream = 0, synchronizations = 0;
  char *device = nullptr; // PROT_NONE arena standing for device memory
  size_t used = 0;
};
Recorder recorder;
char streamToken, moduleToken, functionToken;

void *deviceBytes(size_t bytes) {
  void *pointer = recorder.device + recorder.used;
  recorder.used += (bytes + 255) / 256 * 256;
  return pointer;
}

} // namespace

extern "C" {
void *mgpuModuleLoadJIT(void *ptx, int) {
  recorder.loadedPtx.push_back(static_cast<const char *>(ptx));
  return &moduleToken;
}
void mgpuModuleUnload(void *) {}
void *mgpuModuleGetFunction(void *, const char *name) {
  recorder.functions.push_back(name);
  return &functionToken;
}
void *mgpuStreamCreate() { return &streamToken; }
void mgpuStreamDestroy(void *) {}
void mgpuStreamSynchronize(void *stream) { recorder.synchronizations += stream == &streamToken; }
void *mgpuMemAlloc(uint64_t bytes, void *, uint8_t) {
  void *pointer = deviceBytes(bytes);
  recorder.live.insert(pointer);
  return pointer;
}
void mgpuMemFree(void *pointer, void *) { recorder.live.erase(pointer); }
void mgpuLaunchKernel(void *, intptr_t, intptr_t, intptr_t, intptr_t, intptr_t, intptr_t, int32_t, void *stream,
                      void **params, void **, size_t count) {
  recorder.launchesOffStream += stream != &streamToken;
  std::vector<void *> arguments;
  for (size_t i = 0; i < count; ++i)
    arguments.push_back(*static_cast<void **>(params[i]));
  recorder.launchArguments.push_back(arguments);
}
}

namespace {

constexpr int64_t kVocab = 512, kHidden = 96, kN = 3, kK = 2, kTables = kK * (kN - 1), kRows = 78 * kVocab;

class NvptxHostTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    recorder.device = static_cast<char *>(
        mmap(nullptr, size_t(1) << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
    ASSERT_NE(recorder.device, MAP_FAILED);
    mlir::ember::registerAllEmberPasses();
    mlir::DialectRegistry registry;
    mlir::ember::registerAllEmberDialects(registry);
    mlir::MLIRContext context(registry);
    mlir::ember::NgramGraphSpec spec{kVocab, kHidden, kN, kK, kRows, 2, mlir::ember::WeightType::BF16};
    auto module = mlir::ember::buildNgramEmbeddingModule(context, spec);
    ASSERT_TRUE(module);
    mlir::PassManager pm(&context);
    mlir::ember::buildNvptxPipeline(pm, {});
    ASSERT_TRUE(mlir::succeeded(pm.run(*module)));
    llvm::SmallString<128> dir;
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("ember-nvptx-host-test", dir));
    workDir = dir.str().str();
    mlir::ember::PtxasReport ptxas;
    llvm::Error error = mlir::ember::assembleKernels(*module, mlir::ember::KernelFormat::Ptx, "sm_90", workDir, ptxas);
    ASSERT_FALSE(error) << llvm::toString(std::move(error));
    mlir::ember::addNvptxArtifactMarker(*module, "sm_90", mlir::ember::KernelFormat::Ptx);
    error = mlir::ember::emitHostSharedLibrary(*module, workDir + "/ngram.so");
    ASSERT_FALSE(error) << llvm::toString(std::move(error));
    handle = dlopen((workDir + "/ngram.so").c_str(), RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle, nullptr) << dlerror();
  }
  static void TearDownTestSuite() {
    if (handle)
      dlclose(handle);
    llvm::sys::fs::remove_directories(workDir);
  }

  static inline std::string workDir;
  static inline void *handle = nullptr;
};

TEST_F(NvptxHostTest, KernelsLoadWhenTheLibraryOpens) {
  ASSERT_FALSE(recorder.loadedPtx.empty());
  for (const std::string &ptx : recorder.loadedPtx)
    EXPECT_NE(ptx.find(".visible .entry "), std::string::npos);
  ASSERT_NE(handle, nullptr);
  EXPECT_STREQ(static_cast<const char *>(dlsym(handle, "ember_nvptx_kernels")), "sm_90 ptx");
}

TEST_F(NvptxHostTest, EmbeddingRunsOnOneStreamWithoutTouchingDeviceMemory) {
  ASSERT_NE(handle, nullptr);
  using ember::rt::MemRefDescriptor;
  using Embed = void (*)(MemRefDescriptor<int32_t, 1> *, MemRefDescriptor<int32_t, 2> *, MemRefDescriptor<int32_t, 1> *,
                         MemRefDescriptor<int32_t, 1> *, MemRefDescriptor<uint16_t, 2> *,
                         MemRefDescriptor<uint16_t, 2> *, MemRefDescriptor<uint16_t, 3> *,
                         MemRefDescriptor<int32_t, 2> *, MemRefDescriptor<float, 2> *);
  auto embed = reinterpret_cast<Embed>(dlsym(handle, "_mlir_ciface_ember_ngram_embed"));
  ASSERT_NE(embed, nullptr);
  constexpr int64_t tokens = 5, context = 16;
  int64_t rows = 0; // sum of M_i = m + 2i + 1 (docs/design.md §2)
  for (int64_t i = 0; i < kTables; ++i)
    rows += kRows + 2 * i + 1;
  auto table = ember::rt::rowMajorMemRef<int32_t, 2>(static_cast<int32_t *>(deviceBytes(4 * context)), {1, context});
  auto rowIndex = [] {
    return ember::rt::rowMajorMemRef<int32_t, 1>(static_cast<int32_t *>(deviceBytes(4 * tokens)), {tokens});
  };
  auto newTokens = rowIndex(), slots = rowIndex(), positions = rowIndex();
  auto words = ember::rt::rowMajorMemRef<uint16_t, 2>(static_cast<uint16_t *>(deviceBytes(2 * kVocab * kHidden)),
                                                      {kVocab, kHidden});
  auto tables = ember::rt::rowMajorMemRef<uint16_t, 2>(
      static_cast<uint16_t *>(deviceBytes(2 * rows * kHidden / kTables)), {rows, kHidden / kTables});
  auto projections = ember::rt::rowMajorMemRef<uint16_t, 3>(
      static_cast<uint16_t *>(deviceBytes(2 * kHidden * kHidden)), {kTables, kHidden, kHidden / kTables});
  auto ids = ember::rt::rowMajorMemRef<int32_t, 2>(static_cast<int32_t *>(deviceBytes(4 * tokens * kTables)),
                                                   {tokens, kTables});
  auto out = ember::rt::rowMajorMemRef<float, 2>(static_cast<float *>(deviceBytes(4 * tokens * kHidden)),
                                                 {tokens, kHidden});
  recorder.launchArguments.clear();
  embed(&newTokens, &table, &slots, &positions, &words, &tables, &projections, &ids, &out);

  // ngram_ids (the ids are returned) and the fused ngram_embed.
  ASSERT_EQ(recorder.launchArguments.size(), 2u);
  EXPECT_EQ(recorder.launchesOffStream, 0);
  EXPECT_EQ(recorder.synchronizations, 1);
  EXPECT_TRUE(recorder.live.empty()) << recorder.live.size() << " temporaries not freed";
  EXPECT_EQ(recorder.functions.size(), recorder.launchArguments.size());
  auto passed = [](void *buffer) {
    for (const std::vector<void *> &arguments : recorder.launchArguments)
      if (std::find(arguments.begin(), arguments.end(), buffer) != arguments.end())
        return true;
    return false;
  };
  for (void *buffer : {(void *)newTokens.aligned, (void *)table.aligned, (void *)slots.aligned,
                       (void *)positions.aligned, (void *)words.aligned, (void *)tables.aligned,
                       (void *)projections.aligned, (void *)ids.aligned, (void *)out.aligned})
    EXPECT_TRUE(passed(buffer)) << "no kernel received buffer " << buffer;
}

} // namespace
