// The fake CUDA device's cooperative blocks (FakeCudaBlocks.cpp) keep the
// hardware's contract: shuffles exchange values within a warp as
// shfl.sync does, an MMA multiplies the warp's fragments as mma.sync does,
// ldmatrix hands out the rows the lanes address as ldmatrix.x4 does, a
// barrier holds every thread until all arrive, and a block whose threads
// disagree on a barrier, shuffle or MMA fails instead of running.

#include "FakeCudaBlocks.h"

#include "ember/model/DType.h"

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

// mma.sync m16n8k16 (bf16, f32 accumulators): A [16 x 16], B [16 x 8], C
// [16 x 8], values exact in bf16 (multiples of 1/8) so that D is exact.
struct MmaOperands {
  float a[16][16], b[16][8], c[16][8], d[16][8];
};

uint32_t pack(float low, float high) {
  return ember::floatToBf16(low) | uint32_t(ember::floatToBf16(high)) << 16;
}

// Each lane packs its fragments as the PTX ISA's "Matrix Fragments for
// mma.m16n8k16 with floating point type" states them, element by element:
// a_i at row groupID (+ 8 for i in {2, 3, 6, 7}), column 2 * t + (i & 1)
// (+ 8 for i >= 4); b_i at row 2 * t + (i & 1) (+ 8 for i >= 2), column
// groupID; c_i at row groupID (+ 8 for i >= 2), column 2 * t + (i & 1).
void warpMma(void **params, const int64_t *ids) {
  auto &m = *static_cast<MmaOperands *>(params[0]);
  int lane = int(threadOf(ids)), group = lane / 4, t = lane % 4;
  float aElement[8], bElement[4];
  for (int i = 0; i < 8; ++i)
    aElement[i] = m.a[group + ((i / 2) % 2) * 8][2 * t + (i & 1) + (i >= 4 ? 8 : 0)];
  for (int i = 0; i < 4; ++i)
    bElement[i] = m.b[2 * t + (i & 1) + (i >= 2 ? 8 : 0)][group];
  uint32_t a[4], b[2];
  for (int r = 0; r < 4; ++r)
    a[r] = pack(aElement[2 * r], aElement[2 * r + 1]);
  for (int r = 0; r < 2; ++r)
    b[r] = pack(bElement[2 * r], bElement[2 * r + 1]);
  float cd[4];
  for (int i = 0; i < 4; ++i)
    cd[i] = m.c[group + (i >= 2 ? 8 : 0)][2 * t + (i & 1)];
  fakeCudaMma(int64_t(a), int64_t(b), int64_t(cd));
  for (int i = 0; i < 4; ++i)
    m.d[group + (i >= 2 ? 8 : 0)][2 * t + (i & 1)] = cd[i];
}

TEST(FakeCudaBlocks, MmaMultipliesTheWarpsFragmentsAsTheIsaLaysThemOut) {
  MmaOperands m{};
  for (int i = 0; i < 16; ++i)
    for (int k = 0; k < 16; ++k)
      m.a[i][k] = float((i * 7 + k * 3) % 17 - 8) / 8;
  for (int k = 0; k < 16; ++k)
    for (int j = 0; j < 8; ++j)
      m.b[k][j] = float((k * 5 + j * 11) % 13 - 6) / 4;
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 8; ++j)
      m.c[i][j] = float(i - j);
  int64_t ids[12];
  idsFor(32, 1, ids);
  void *params[] = {&m};
  std::string error;
  ASSERT_TRUE(runCooperativeBlock(warpMma, params, ids, error)) << error;
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 8; ++j) {
      float expected = m.c[i][j];
      for (int k = 0; k < 16; ++k)
        expected += m.a[i][k] * m.b[k][j];
      EXPECT_EQ(m.d[i][j], expected) << "row " << i << ", column " << j;
    }
}

void partialWarpMma(void **, const int64_t *) {
  uint32_t a[4] = {}, b[2] = {};
  float cd[4] = {};
  fakeCudaMma(int64_t(a), int64_t(b), int64_t(cd));
}

TEST(FakeCudaBlocks, AnMmaInAWarpOfFewerThan32ThreadsFailsTheBlock) {
  int64_t ids[12];
  idsFor(16, 1, ids);
  std::string error;
  EXPECT_FALSE(runCooperativeBlock(partialWarpMma, nullptr, ids, error));
  EXPECT_NE(error.find("mma.sync in warp 0 of 16 threads"), std::string::npos) << error;
}

// Lane 0 shuffles while the others run an MMA.
void shuffleOrMma(void **params, const int64_t *ids) {
  if (threadOf(ids) == 0)
    fakeCudaShuffle(0, 1, 32, kXor);
  else
    partialWarpMma(params, ids);
}

TEST(FakeCudaBlocks, AWarpSplitBetweenShuffleAndMmaFailsTheBlock) {
  int64_t ids[12];
  idsFor(32, 1, ids);
  std::string error;
  EXPECT_FALSE(runCooperativeBlock(shuffleOrMma, nullptr, ids, error));
  EXPECT_NE(error.find("thread 0+ at a shuffle; thread 1+ at an mma"), std::string::npos) << error;
}

// ldmatrix.x4 as the PTX ISA states it: lanes 8i..8i + 7 give the row
// addresses of matrix i (8 x 8 16-bit elements, 4 words a row), and lane l
// receives word l % 4 of row l / 4 of each. The rows here are those of an
// m16n8k16 A fragment: matrix i is rows 8 (i % 2).. of a 16-row tile, words
// 4 (i / 2).. of its 12-word rows (8 words and 4 of padding).
struct LdMatrixOperands {
  alignas(16) uint32_t tile[16][12];
  uint32_t words[32][4];
  int misalignedLane = -1; // this lane's address 4 bytes off
};

void warpLdMatrix(void **params, const int64_t *ids) {
  auto &m = *static_cast<LdMatrixOperands *>(params[0]);
  int lane = int(threadOf(ids));
  const uint32_t *row = &m.tile[lane % 8 + 8 * (lane / 8 % 2)][4 * (lane / 16)];
  fakeCudaLdMatrix(int64_t(row) + (lane == m.misalignedLane ? 4 : 0), int64_t(m.words[lane]));
}

TEST(FakeCudaBlocks, LdMatrixGivesEachLaneItsWordOfEachMatrix) {
  LdMatrixOperands m{};
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 12; ++c)
      m.tile[r][c] = uint32_t(r * 100 + c);
  int64_t ids[12];
  idsFor(32, 1, ids);
  void *params[] = {&m};
  std::string error;
  ASSERT_TRUE(runCooperativeBlock(warpLdMatrix, params, ids, error)) << error;
  for (int lane = 0; lane < 32; ++lane)
    for (int i = 0; i < 4; ++i)
      EXPECT_EQ(m.words[lane][i], m.tile[lane / 4 + 8 * (i % 2)][4 * (i / 2) + lane % 4])
          << "lane " << lane << ", matrix " << i;
}

TEST(FakeCudaBlocks, AnLdMatrixRowNotAlignedTo16BytesFailsTheBlock) {
  LdMatrixOperands m{};
  m.misalignedLane = 9;
  int64_t ids[12];
  idsFor(32, 1, ids);
  void *params[] = {&m};
  std::string error;
  EXPECT_FALSE(runCooperativeBlock(warpLdMatrix, params, ids, error));
  EXPECT_NE(error.find("lane 9's row address is not 16-byte aligned"), std::string::npos) << error;
}

} // namespace
