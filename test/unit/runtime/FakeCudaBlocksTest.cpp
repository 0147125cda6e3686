// The fake CUDA device's cooperative blocks (FakeCudaBlocks.cpp) keep the
// hardware's contract: shuffles exchange values within a warp as
// shfl.sync does, a barrier holds every thread until all arrive, and a block
// whose threads disagree on a barrier or shuffle fails instead of running.

#include "FakeCudaBlocks.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace {

using fake_cuda::runCooperativeBlock;

enum Mode { kXor = 0, kIdx = 1, kDown = 2, kUp = 3 };

struct Buffers {
  std::vector<float> out;
  std::vector<float> shared;
};

int64_t threadOf(const int64_t *ids) { return (ids[5] * ids[10] + ids[4]) * ids[9] + ids[3]; }

float shuffle(float value, int offset, int width, Mode mode) {
  int32_t bits;
  std::memcpy(&bits, &value, 4);
  bits = fakeCudaShuffle(bits, offset, width, mode);
  std::memcpy(&value, &bits, 4);
  return value;
}

// out[t] = the block's sum of t + 1: warp butterflies, then warp sums in
// shared memory across a barrier.
void blockSum(void **params, const int64_t *ids) {
  auto &buffers = *static_cast<Buffers *>(params[0]);
  int64_t thread = threadOf(ids);
  float value = float(thread + 1);
  for (int offset = 16; offset >= 1; offset /= 2)
    value += shuffle(value, offset, 32, kXor);
  if (thread % 32 == 0)
    buffers.shared[thread / 32] = value;
  fakeCudaBarrier();
  float total = 0;
  for (float part : buffers.shared)
    total += part;
  buffers.out[thread] = total;
}

int64_t idsFor(int64_t blockX, int64_t blockY, int64_t (&ids)[12]) {
  int64_t values[12] = {0, 0, 0, 0, 0, 0, 1, 1, 1, blockX, blockY, 1};
  std::copy(values, values + 12, ids);
  return blockX * blockY;
}

TEST(FakeCudaBlocks, ShufflesAndBarrierComputeABlockSum) {
  int64_t ids[12];
  int64_t threads = idsFor(32, 4, ids); // thread y numbers the warps
  Buffers buffers{std::vector<float>(threads), std::vector<float>(threads / 32)};
  void *params[] = {&buffers};
  std::string error;
  ASSERT_TRUE(runCooperativeBlock(blockSum, params, ids, error)) << error;
  float expected = float(threads * (threads + 1) / 2);
  for (float value : buffers.out)
    EXPECT_EQ(value, expected);
}

// out[t] = the value of the lane each mode reads, within segments of 8.
template <Mode mode, int offset> void readLane(void **params, const int64_t *ids) {
  auto &buffers = *static_cast<Buffers *>(params[0]);
  int64_t thread = threadOf(ids);
  buffers.out[thread] = shuffle(float(thread), offset, 8, mode);
}

template <Mode mode, int offset> std::vector<float> lanesRead() {
  int64_t ids[12];
  int64_t threads = idsFor(32, 1, ids);
  Buffers buffers{std::vector<float>(threads), {}};
  void *params[] = {&buffers};
  std::string error;
  EXPECT_TRUE(runCooperativeBlock(readLane<mode, offset>, params, ids, error)) << error;
  return buffers.out;
}

TEST(FakeCudaBlocks, ShuffleModesReadTheirSourceLaneWithinTheSegment) {
  std::vector<float> xored = lanesRead<kXor, 3>(), down = lanesRead<kDown, 2>(), up = lanesRead<kUp, 2>(),
                     idx = lanesRead<kIdx, 5>();
  for (int lane = 0; lane < 32; ++lane) {
    int segment = lane - lane % 8, own = lane % 8;
    EXPECT_EQ(xored[lane], float(segment + (own ^ 3))) << lane;
    EXPECT_EQ(down[lane], float(own + 2 < 8 ? lane + 2 : lane)) << lane; // out of the segment: own value
    EXPECT_EQ(up[lane], float(own >= 2 ? lane - 2 : lane)) << lane;
    EXPECT_EQ(idx[lane], float(segment + 5)) << lane;
  }
}

// Threads past the first 40 skip the barrier.
void divergentBarrier(void **, const int64_t *ids) {
  if (threadOf(ids) < 40)
    fakeCudaBarrier();
}

TEST(FakeCudaBlocks, ABarrierSomeThreadsSkipFailsTheBlock) {
  int64_t ids[12];
  idsFor(64, 1, ids);
  std::string error;
  EXPECT_FALSE(runCooperativeBlock(divergentBarrier, nullptr, ids, error));
  EXPECT_NE(error.find("thread 40+ exited"), std::string::npos) << error;
  EXPECT_NE(error.find("thread 0+ at a barrier"), std::string::npos) << error;
}

// Lane 0 of each warp waits at a barrier while the others shuffle.
void splitWarp(void **, const int64_t *ids) {
  if (threadOf(ids) % 32 == 0)
    fakeCudaBarrier();
  else
    fakeCudaShuffle(0, 1, 32, kXor);
}

TEST(FakeCudaBlocks, AWarpSplitBetweenShuffleAndBarrierFailsTheBlock) {
  int64_t ids[12];
  idsFor(32, 1, ids);
  std::string error;
  EXPECT_FALSE(runCooperativeBlock(splitWarp, nullptr, ids, error));
  EXPECT_NE(error.find("thread 1+ at a shuffle"), std::string::npos) << error;
}

} // namespace
