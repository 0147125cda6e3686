// The fake CUDA device's cooperative blocks: the threads of one block run as
// fibers (Boost.Context: a switch costs nanoseconds, where ucontext's costs
// a system call) on the calling thread, so that kernels with barriers, warp
// shuffles and workgroup memory execute as on a GPU.
//
// A fiber runs until it reaches a barrier, a shuffle or an MMA (a hook the
// artifact's host copy calls; lowering/nvptx/HostKernels.cpp) or returns.
// The scheduler resumes the lanes of a warp once all of them stand at a
// shuffle (or all at an MMA), and the threads of the block once all of them
// stand at a barrier. Like the hardware's contract, not like a lenient
// emulator, it refuses a block whose threads disagree: a warp split between
// a shuffle, an MMA and anything else, an MMA in a warp of fewer than 32
// threads, or a barrier some threads never reach (they exited or wait
// elsewhere). The launch then fails with CUDA_ERROR_LAUNCH_FAILED and a
// message naming the kernel, block and threads; the block's remaining
// threads run to their end without synchronizing (so that no fiber is
// destroyed mid-kernel), their results as undefined as the GPU's.

#include "FakeCudaBlocks.h"

#include "ember/model/DType.h"

#include <boost/context/fiber.hpp>
#include <algorithm>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

constexpr int kWarpSize = 32;
constexpr size_t kStackBytes = 256 * 1024;

enum class Stop { NotStarted, Shuffle, Mma, LdMatrix, Barrier, Exited };

// A fiber's stack, with a guard page below it so that an overflow faults.
struct Stack {
  void *mapping = nullptr;
  size_t bytes = 0;
  Stack() {
    size_t page = size_t(sysconf(_SC_PAGESIZE));
    bytes = kStackBytes + page;
    mapping = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mapping == MAP_FAILED) {
      std::perror("fake libcuda: fiber stack");
      std::abort();
    }
    mprotect(mapping, page, PROT_NONE);
  }
  ~Stack() { munmap(mapping, bytes); }
  Stack(const Stack &) = delete;
  Stack &operator=(const Stack &) = delete;
  char *base() const { return static_cast<char *>(mapping) + (bytes - kStackBytes); }
};

// Hands a fiber its stack from the pool.
struct PooledStack {
  Stack *stack;
  boost::context::stack_context allocate() {
    boost::context::stack_context context;
    context.size = kStackBytes;
    context.sp = stack->base() + kStackBytes; // stacks grow down
    return context;
  }
  void deallocate(boost::context::stack_context &) noexcept {}
};

struct Fiber {
  boost::context::fiber self, scheduler;
  int64_t ids[12];
  int32_t offset = 0, width = 0, mode = 0, parity = 0;
};

// One lane's MMA fragments (m16n8k16, bf16 pairs in 32-bit words).
struct MmaFragments {
  uint32_t a[4], b[2];
  float c[4];
};

struct Warp {
  int32_t values[2][kWarpSize] = {};
  MmaFragments mma[2][kWarpSize] = {};
  int64_t rows[2][kWarpSize] = {}; // ldmatrix row addresses
  int64_t releases = 0;            // the warp's completed shuffles, MMAs and ldmatrix; their parity picks the buffer
  int64_t size = 0, atWarpStop = 0;
  bool open = false; // its lanes go on from a shuffle this round
};

// Counters rather than scans decide who goes on: a round costs little more
// than its context switches.
struct Block {
  fake_cuda::HostKernel run = nullptr;
  void **params = nullptr;
  std::vector<Fiber> fibers;
  std::vector<Stop> stops;
  std::vector<Warp> warps;
  int64_t atBarrier = 0, exited = 0;
  int current = 0;
  bool failed = false; // threads run on without synchronizing
  std::string error;   // why, where a hook found out
};

thread_local Block *activeBlock = nullptr;
thread_local std::vector<std::unique_ptr<Stack>> stackPool;

bool isWarpStop(Stop stop) { return stop == Stop::Shuffle || stop == Stop::Mma || stop == Stop::LdMatrix; }

// Back to the scheduler, waiting at `stop` (not once the block failed).
void yield(Stop stop) {
  Block &block = *activeBlock;
  if (block.failed)
    return;
  Fiber &fiber = block.fibers[block.current];
  block.stops[block.current] = stop;
  if (isWarpStop(stop))
    ++block.warps[block.current / kWarpSize].atWarpStop;
  else
    ++block.atBarrier;
  fiber.scheduler = std::move(fiber.scheduler).resume();
}

// The lane whose value a shuffle reads (its own where the source is outside
// the segment of `width` lanes, as on the GPU).
int sourceLane(int lane, const Fiber &fiber) {
  int width = fiber.width, segment = lane - lane % width, own = lane % width, source = own;
  switch (fiber.mode) {
  case 0: source = own ^ fiber.offset; break;  // xor
  case 1: source = fiber.offset; break;        // idx
  case 2: source = own + fiber.offset; break;  // down
  case 3: source = own - fiber.offset; break;  // up
  }
  return source >= 0 && source < width ? segment + source : lane;
}

const char *stopName(Stop stop) {
  switch (stop) {
  case Stop::NotStarted: return "not started";
  case Stop::Shuffle: return "at a shuffle";
  case Stop::Mma: return "at an mma";
  case Stop::LdMatrix:
    return "at an ldmatrix";
  case Stop::Barrier: return "at a barrier";
  case Stop::Exited: return "exited";
  }
  return "?";
}

// What stops a block from going on, for the launch's error message.
std::string describeStall(const Block &block) {
  std::string text;
  for (size_t warp = 0; warp < block.warps.size(); ++warp) {
    size_t first = warp * kWarpSize, last = std::min(block.fibers.size(), first + kWarpSize);
    text += " warp " + std::to_string(warp) + ":";
    for (size_t thread = first; thread < last; ++thread)
      if (thread == first || block.stops[thread] != block.stops[thread - 1])
        text += " thread " + std::to_string(thread) + "+ " + stopName(block.stops[thread]) + ";";
  }
  return text;
}

} // namespace

extern "C" void fakeCudaBarrier() { yield(Stop::Barrier); }

extern "C" int32_t fakeCudaShuffle(int32_t value, int32_t offset, int32_t width, int32_t mode) {
  Block &block = *activeBlock;
  int thread = block.current, lane = thread % kWarpSize;
  Warp &warp = block.warps[thread / kWarpSize];
  Fiber &fiber = block.fibers[thread];
  fiber.offset = offset;
  fiber.width = width;
  fiber.mode = mode;
  fiber.parity = int32_t(warp.releases & 1);
  warp.values[fiber.parity][lane] = value;
  yield(Stop::Shuffle);
  return block.failed ? value : warp.values[fiber.parity][sourceLane(lane, fiber)];
}

namespace {

// The bf16 in the low (half 0) or high half of a fragment word.
float bf16ToFloat(uint32_t word, int half) { return ember::bf16ToFloat(uint16_t(half ? word >> 16 : word)); }

// Element (row, k) of A and (k, column) of B, from the lanes that hold them
// (lane = 4 * group + t: A rows group and group + 8, k 2t, 2t + 1, + 8;
// B column group, k as A's).
float mmaA(const MmaFragments *lanes, int row, int k) {
  const MmaFragments &lane = lanes[(row % 8) * 4 + (k % 8) / 2];
  return bf16ToFloat(lane.a[(row >= 8 ? 1 : 0) + (k >= 8 ? 2 : 0)], k % 2);
}
float mmaB(const MmaFragments *lanes, int k, int column) {
  const MmaFragments &lane = lanes[column * 4 + (k % 8) / 2];
  return bf16ToFloat(lane.b[k >= 8 ? 1 : 0], k % 2);
}

} // namespace

extern "C" void fakeCudaMma(int64_t a, int64_t b, int64_t cd) {
  Block &block = *activeBlock;
  int thread = block.current, lane = thread % kWarpSize;
  Warp &warp = block.warps[thread / kWarpSize];
  auto *d = reinterpret_cast<float *>(cd);
  if (warp.size != kWarpSize && !block.failed) {
    // The hardware's MMA needs the whole warp: a partial one is a bug.
    block.failed = true;
    block.error = "mma.sync in warp " + std::to_string(thread / kWarpSize) + " of " + std::to_string(warp.size) +
                  " threads (it needs 32)";
  }
  int parity = int(warp.releases & 1);
  MmaFragments &mine = warp.mma[parity][lane];
  std::memcpy(mine.a, reinterpret_cast<const void *>(a), sizeof mine.a);
  std::memcpy(mine.b, reinterpret_cast<const void *>(b), sizeof mine.b);
  std::memcpy(mine.c, d, sizeof mine.c);
  yield(Stop::Mma);
  if (block.failed)
    return;
  // This lane's part of D: rows group and group + 8, columns 2t and 2t + 1.
  const MmaFragments *lanes = warp.mma[parity];
  int group = lane / 4, t = lane % 4;
  for (int i = 0; i < 4; ++i) {
    int row = group + (i >= 2 ? 8 : 0), column = 2 * t + i % 2;
    float sum = lanes[lane].c[i];
    for (int k = 0; k < 16; ++k)
      sum += mmaA(lanes, row, k) * mmaB(lanes, k, column);
    d[i] = sum;
  }
}

extern "C" void fakeCudaLdMatrix(int64_t row, int64_t words) {
  Block &block = *activeBlock;
  int thread = block.current, lane = thread % kWarpSize;
  Warp &warp = block.warps[thread / kWarpSize];
  // The hardware needs the whole warp and 16-byte aligned rows.
  if (!block.failed && (warp.size != kWarpSize || row % 16 != 0)) {
    block.failed = true;
    block.error = "ldmatrix in warp " + std::to_string(thread / kWarpSize) + ": " +
                  (warp.size != kWarpSize ? std::to_string(warp.size) + " threads (it needs 32)"
                                          : "lane " + std::to_string(lane) + "'s row address is not 16-byte aligned");
  }
  int parity = int(warp.releases & 1);
  warp.rows[parity][lane] = row;
  yield(Stop::LdMatrix);
  if (block.failed)
    return;
  // Matrix i's rows come from lanes 8i..8i + 7; this lane gets word
  // lane % 4 of row lane / 4 of each.
  auto *out = reinterpret_cast<uint32_t *>(words);
  for (int i = 0; i < 4; ++i)
    std::memcpy(&out[i], reinterpret_cast<const char *>(warp.rows[parity][8 * i + lane / 4]) + 4 * (lane % 4), 4);
}

namespace fake_cuda {

bool runCooperativeBlock(HostKernel run, void **params, const int64_t ids[12], std::string &error) {
  int64_t threads = ids[9] * ids[10] * ids[11];
  Block block;
  block.run = run;
  block.params = params;
  block.fibers.resize(size_t(threads));
  block.stops.assign(size_t(threads), Stop::NotStarted);
  block.warps.resize(size_t((threads + kWarpSize - 1) / kWarpSize));
  for (size_t warp = 0; warp < block.warps.size(); ++warp)
    block.warps[warp].size = std::min<int64_t>(kWarpSize, threads - int64_t(warp) * kWarpSize);
  while (stackPool.size() < size_t(threads))
    stackPool.push_back(std::make_unique<Stack>());
  for (int64_t thread = 0; thread < threads; ++thread) {
    Fiber &fiber = block.fibers[size_t(thread)];
    std::copy(ids, ids + 12, fiber.ids);
    fiber.ids[3] = thread % ids[9];
    fiber.ids[4] = thread / ids[9] % ids[10];
    fiber.ids[5] = thread / (ids[9] * ids[10]);
    fiber.self = boost::context::fiber(
        std::allocator_arg, PooledStack{stackPool[size_t(thread)].get()},
        [&block, thread](boost::context::fiber &&scheduler) {
          Fiber &self = block.fibers[size_t(thread)];
          self.scheduler = std::move(scheduler);
          block.run(block.params, self.ids);
          block.stops[size_t(thread)] = Stop::Exited;
          ++block.exited;
          return std::move(self.scheduler);
        });
  }
  Block *outer = activeBlock;
  activeBlock = &block;
  bool ok = true;
  while (block.exited < threads) {
    // Who goes on: unstarted threads, whole warps at a shuffle (no lane
    // exited), the whole block at a barrier (no thread exited).
    bool barrierOpen = block.atBarrier == threads;
    if (barrierOpen)
      block.atBarrier = 0;
    for (size_t index = 0; index < block.warps.size(); ++index) {
      Warp &warp = block.warps[index];
      warp.open = warp.atWarpStop == warp.size;
      auto first = block.stops.begin() + int64_t(index) * kWarpSize;
      if (warp.open && !block.failed && std::any_of(first, first + warp.size, [&](Stop s) { return s != *first; })) {
        block.error = "a warp's lanes disagree on a shuffle, an MMA or an ldmatrix:" + describeStall(block);
        block.failed = true;
      }
      if (warp.open) {
        warp.atWarpStop = 0;
        ++warp.releases;
      }
    }
    bool progress = false;
    for (int64_t thread = 0; thread < threads; ++thread) {
      Stop stop = block.stops[size_t(thread)];
      bool warpStop = isWarpStop(stop);
      bool runs = stop == Stop::NotStarted || (warpStop && block.warps[thread / kWarpSize].open) ||
                  (stop == Stop::Barrier && barrierOpen) || (block.failed && stop != Stop::Exited);
      if (!runs)
        continue;
      progress = true;
      block.current = int(thread);
      block.fibers[size_t(thread)].self = std::move(block.fibers[size_t(thread)].self).resume();
    }
    if (!progress) {
      error = "threads disagree on a barrier or shuffle:" + describeStall(block);
      ok = false;
      block.failed = true;
    }
  }
  activeBlock = outer;
  if (ok && !block.error.empty()) {
    error = block.error;
    ok = false;
  }
  return ok;
}

} // namespace fake_cuda
