//===- PtxasReportTest.cpp - parsing `ptxas -v` output --------------------===//
//
// Spills never happen in ember's kernels today, so the spill path is tested
// on hand-written ptxas -v output in the CUDA 12/13 format, with the items
// ptxas adds or drops between versions (barriers, smem, cmem) and a callee
// that ptxas did not inline.
//
//===----------------------------------------------------------------------===//
#include "lowering/nvptx/PtxasReport.h"

#include <gtest/gtest.h>

namespace {

using mlir::ember::KernelResources;

constexpr const char *kSpillingLog = R"(ptxas info    : 0 bytes gmem
ptxas info    : Function properties for helper
    24 bytes stack frame, 8 bytes spill stores, 12 bytes spill loads
ptxas info    : Compiling entry function 'big_kernel' for 'sm_90'
ptxas info    : Function properties for big_kernel
    96 bytes stack frame, 64 bytes spill stores, 48 bytes spill loads
ptxas warning : Registers are spilled to local memory in function 'big_kernel', 64 bytes spill stores, 48 bytes spill loads
ptxas info    : Used 255 registers, used 1 barriers, 4096 bytes smem, 400 bytes cmem[0]
ptxas info    : Compile time = 12.5 ms
)";

constexpr const char *kCleanLog = R"(ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function 'small_kernel' for 'sm_80'
ptxas info    : Function properties for small_kernel
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 30 registers, 380 bytes cmem[0]
)";

TEST(PtxasReportTest, ParsesEveryFunctionOfAModule) {
  std::vector<KernelResources> kernels =
      mlir::ember::parsePtxasLog(kSpillingLog, "big_kernel_3", "ptxas -v big_kernel_3.ptx");
  ASSERT_EQ(kernels.size(), 2u);
  const KernelResources &helper = kernels[0], &entry = kernels[1];
  EXPECT_EQ(helper.function, "helper");
  EXPECT_EQ(helper.module, "big_kernel_3");
  EXPECT_EQ(helper.stackBytes, 24);
  EXPECT_EQ(helper.spillStoreBytes, 8);
  EXPECT_EQ(helper.spillLoadBytes, 12);
  EXPECT_EQ(entry.function, "big_kernel");
  EXPECT_EQ(entry.command, "ptxas -v big_kernel_3.ptx");
  EXPECT_EQ(entry.registers, 255);
  EXPECT_EQ(entry.sharedBytes, 4096);
  EXPECT_EQ(entry.stackBytes, 96);
  EXPECT_EQ(entry.spillStoreBytes, 64);
  EXPECT_EQ(entry.spillLoadBytes, 48);
  EXPECT_TRUE(entry.spills());
}

TEST(PtxasReportTest, AModuleWithoutSpillsPasses) {
  std::vector<KernelResources> kernels = mlir::ember::parsePtxasLog(kCleanLog, "small_kernel");
  ASSERT_EQ(kernels.size(), 1u);
  EXPECT_EQ(kernels[0].registers, 30);
  EXPECT_EQ(kernels[0].sharedBytes, 0);
  EXPECT_FALSE(kernels[0].spills());
  EXPECT_EQ(mlir::ember::describeSpills(kernels), "");
}

TEST(PtxasReportTest, SpillsNameTheKernelBytesAndCommand) {
  std::vector<KernelResources> kernels =
      mlir::ember::parsePtxasLog(kSpillingLog, "big_kernel_3", "ptxas -v big_kernel_3.ptx");
  std::vector<KernelResources> clean = mlir::ember::parsePtxasLog(kCleanLog, "small_kernel");
  kernels.insert(kernels.begin(), clean.begin(), clean.end());
  std::string spills = mlir::ember::describeSpills(kernels);
  EXPECT_EQ(spills, "kernel 'helper' (module big_kernel_3) spills 8 bytes (stores) and 12 bytes "
                    "(loads); reproduce with: ptxas -v big_kernel_3.ptx\n"
                    "kernel 'big_kernel' (module big_kernel_3) spills 64 bytes (stores) and 48 "
                    "bytes (loads); reproduce with: ptxas -v big_kernel_3.ptx\n");
}

TEST(PtxasReportTest, TableHasOneRowPerFunctionAndASummary) {
  std::vector<KernelResources> kernels =
      mlir::ember::parsePtxasLog(kCleanLog, "small_kernel", "ptxas");
  std::vector<KernelResources> spilling =
      mlir::ember::parsePtxasLog(kSpillingLog, "big_kernel_3", "ptxas");
  kernels.insert(kernels.end(), spilling.begin(), spilling.end());
  EXPECT_EQ(mlir::ember::formatPtxasReport(kernels, "sm_90"),
            "kernel module       registers smem bytes stack bytes spill stores spill loads\n"
            "small_kernel               30          0           0            0           0\n"
            "big_kernel_3:helper         0          0          24            8          12\n"
            "big_kernel_3              255       4096          96           64          48\n"
            "3 kernels for sm_90: at most 255 registers, at most 4096 bytes of shared memory, "
            "2 spilling\n");
}

} // namespace
