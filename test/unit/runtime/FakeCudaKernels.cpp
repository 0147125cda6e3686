// The fake CUDA device's modules and launches: it checks every launch
// against the limits the driver enforces (returning what the driver returns)
// and runs the kernel on the host.
//
// An nvptx artifact compiled by ember-compile holds, next to each kernel's
// PTX or cubin, a host copy of it (lowering/nvptx/HostKernels.cpp):
//   void __ember_host_<kernel>(void **params, const int64_t ids[12]);
//   const int64_t __ember_host_<kernel>_param_bytes;
// which runs one thread, ids being blockIdx, threadIdx, gridDim, blockDim
// (x, y, z each). cuModuleLoadData finds the shared object holding the
// image (dladdr), cuModuleGetFunction its host copy, and cuLaunchKernel
// runs the grid's blocks one after another on the calling thread: the
// threads of a plain kernel one after another, those of a cooperative one
// (barriers, shuffles, workgroup memory: `__ember_host_<kernel>_cooperative`)
// as fibers (FakeCudaBlocks.cpp). A host copy checks every load and store
// against its memref's bounds and calls the fault hook instead of an access
// outside: the launch then fails with CUDA_ERROR_ILLEGAL_ADDRESS, as a
// faulting kernel does on a GPU (there at the next synchronization, and for
// good: the context is lost), naming the kernel and the first block that
// faulted. It cannot see timing, races between blocks or coalescing.

#include "FakeCudaBlocks.h"
#include "FakeCudaDriver.h"

#include <dlfcn.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

extern "C" int cuLaunchKernel(void *function, unsigned gridX, unsigned gridY, unsigned gridZ, unsigned blockX,
                              unsigned blockY, unsigned blockZ, unsigned sharedBytes, void *stream, void **params,
                              void **extra);

namespace {

using namespace fake_cuda;

// An H200's limits (compute capability 9.0).
constexpr int kMaxThreadsPerBlock = 1024, kMaxBlockX = 1024, kMaxBlockY = 1024, kMaxBlockZ = 64;
constexpr int64_t kMaxGridX = 2147483647, kMaxGridYZ = 65535;
constexpr int kDefaultSharedBytes = 48 * 1024, kOptInSharedBytes = 227 * 1024;
// Kernel parameters: 32764 bytes on Volta and newer since CUDA 12.1.
constexpr int64_t kMaxParamBytes = 32764;

struct FakeFunction {
  std::string name;
  HostKernel run = nullptr;
  int64_t paramBytes = 0;
  std::vector<int64_t> paramSizes; // each argument's bytes, for capturing a launch
  bool cooperative = false;
  int maxDynamicSharedBytes = kDefaultSharedBytes;
};

struct FakeModule {
  // The shared object holding the image ("" if none). Not a handle: the
  // module is unloaded from that object's destructors, and dropping a
  // reference there would unmap it under them.
  std::string library;
  std::mutex mutex;
  std::map<std::string, std::unique_ptr<FakeFunction>> functions;
};

// What the driver accepts: a cubin (ELF), a fatbin or NUL-terminated PTX.
bool isKernelImage(const void *image) {
  const auto *bytes = static_cast<const unsigned char *>(image);
  static const unsigned char elf[] = {0x7f, 'E', 'L', 'F'}, fatbin[] = {0x50, 0xed, 0x55, 0xba};
  return std::memcmp(bytes, elf, 4) == 0 || std::memcmp(bytes, fatbin, 4) == 0 ||
         std::strstr(static_cast<const char *>(image), ".version") != nullptr;
}

// Out-of-bounds accesses of the launch running on this thread (its blocks
// and fibers all run here).
thread_local int64_t faults = 0;
void fakeCudaFault() { ++faults; }

// Points the artifact's barrier, shuffle, MMA and ldmatrix hooks at the fibers' ones, and
// its fault hook at the counter.
void installHooks(void *library) {
  if (auto *barrier = static_cast<void **>(dlsym(library, "__ember_host_barrier_hook")))
    *barrier = reinterpret_cast<void *>(&fakeCudaBarrier);
  if (auto *shuffle = static_cast<void **>(dlsym(library, "__ember_host_shuffle_hook")))
    *shuffle = reinterpret_cast<void *>(&fakeCudaShuffle);
  if (auto *mma = static_cast<void **>(dlsym(library, "__ember_host_mma_m16n8k16_bf16_hook")))
    *mma = reinterpret_cast<void *>(&fakeCudaMma);
  if (auto *load = static_cast<void **>(dlsym(library, "__ember_host_ldmatrix_x4_b16_hook")))
    *load = reinterpret_cast<void *>(&fakeCudaLdMatrix);
  if (auto *fault = static_cast<void **>(dlsym(library, "__ember_host_fault_hook")))
    *fault = reinterpret_cast<void *>(&fakeCudaFault);
}

// Cooperative blocks share their workgroup memory through the artifact's
// globals: one block runs at a time in the process.
std::mutex cooperativeLaunches;

struct LaunchShape {
  unsigned gridX, gridY, gridZ, blockX, blockY, blockZ, sharedBytes;
};

// Records a launch into `stream`'s capture with copies of its arguments, as
// the driver copies kernelParams when it captures. The graph refers to the
// function: it must not outlive the function's module.
int captureLaunch(FakeFunction &function, LaunchShape shape, void *stream, void **params) {
  if (function.paramSizes.empty() && function.paramBytes > 0)
    return breakCapture(stream, kNotSupported); // an artifact without _param_sizes
  auto values = std::make_shared<std::vector<std::vector<std::byte>>>();
  for (size_t i = 0; i < function.paramSizes.size(); ++i) {
    auto *value = static_cast<const std::byte *>(params[i]);
    values->emplace_back(value, value + function.paramSizes[i]);
  }
  return captureOp(stream, [&function, shape, values](void *launchStream) {
    std::vector<void *> pointers;
    for (std::vector<std::byte> &value : *values)
      pointers.push_back(value.data());
    return cuLaunchKernel(&function, shape.gridX, shape.gridY, shape.gridZ, shape.blockX, shape.blockY, shape.blockZ,
                          shape.sharedBytes, launchStream, pointers.data(), nullptr);
  });
}

} // namespace

namespace fake_cuda {

const char *errorName(int error) {
  switch (error) {
  case kSuccess: return "CUDA_SUCCESS";
  case kInvalidValue: return "CUDA_ERROR_INVALID_VALUE";
  case kOutOfMemory: return "CUDA_ERROR_OUT_OF_MEMORY";
  case kInvalidImage: return "CUDA_ERROR_INVALID_IMAGE";
  case kInvalidHandle: return "CUDA_ERROR_INVALID_HANDLE";
  case kNotFound: return "CUDA_ERROR_NOT_FOUND";
  case kNotSupported: return "CUDA_ERROR_NOT_SUPPORTED";
  case kLaunchFailed: return "CUDA_ERROR_LAUNCH_FAILED";
  case kIllegalAddress: return "CUDA_ERROR_ILLEGAL_ADDRESS";
  case kIllegalState: return "CUDA_ERROR_ILLEGAL_STATE";
  case kCaptureUnsupported: return "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED";
  case kCaptureInvalidated: return "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED";
  case kCaptureWrongThread: return "CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD";
  }
  return nullptr;
}

const char *errorString(int error) {
  switch (error) {
  case kSuccess: return "no error";
  case kInvalidValue: return "invalid argument";
  case kOutOfMemory: return "out of memory";
  case kInvalidImage: return "device kernel image is invalid";
  case kInvalidHandle: return "invalid resource handle";
  case kNotFound: return "named symbol not found";
  case kNotSupported: return "operation not supported";
  case kLaunchFailed: return "unspecified launch failure";
  case kIllegalAddress: return "an illegal memory access was encountered";
  case kIllegalState: return "the operation is not permitted in this state";
  case kCaptureUnsupported: return "operation not permitted when stream is capturing";
  case kCaptureInvalidated: return "operation failed due to a previous error during capture";
  case kCaptureWrongThread: return "attempt to terminate a thread-local capture sequence from another thread";
  }
  return nullptr;
}

std::optional<int> deviceAttribute(int attribute) {
  switch (attribute) {
  case 1: return kMaxThreadsPerBlock;
  case 2: return kMaxBlockX;
  case 3: return kMaxBlockY;
  case 4: return kMaxBlockZ;
  case 5: return int(kMaxGridX);
  case 6:
  case 7: return int(kMaxGridYZ);
  case 8: return kDefaultSharedBytes;
  case 10: return 32;          // warp size
  case 16: return 132;         // multiprocessors
  case 36: return 1000000;     // memory clock, kHz: with 1024 bits, a 256 GB/s peak
  case 37: return 1024;        // memory bus width, bits
  case 75: return 9;           // compute capability 9.0
  case 76: return 0;
  case 97: return kOptInSharedBytes;
  }
  return std::nullopt;
}

} // namespace fake_cuda

extern "C" {

int cuModuleLoadData(void **module, const void *image) {
  if (!module || !image)
    return kInvalidValue;
  if (!isKernelImage(image))
    return kInvalidImage;
  auto loaded = std::make_unique<FakeModule>();
  Dl_info info;
  if (dladdr(image, &info) && info.dli_fname)
    loaded->library = info.dli_fname;
  *module = loaded.release();
  return kSuccess;
}
int cuModuleLoadDataEx(void **module, const void *image, unsigned, int *, void **) {
  return cuModuleLoadData(module, image);
}
int cuModuleUnload(void *module) {
  if (!module)
    return kInvalidHandle;
  delete static_cast<FakeModule *>(module);
  return kSuccess;
}

// A kernel the image holds is one with a host copy beside it.
int cuModuleGetFunction(void **function, void *module, const char *name) {
  auto *fake = static_cast<FakeModule *>(module);
  if (!function || !fake || !name)
    return kInvalidValue;
  std::lock_guard<std::mutex> lock(fake->mutex);
  std::unique_ptr<FakeFunction> &entry = fake->functions[name];
  if (!entry) {
    std::string symbol = std::string("__ember_host_") + name;
    void *library = fake->library.empty() ? nullptr : dlopen(fake->library.c_str(), RTLD_NOW | RTLD_NOLOAD);
    void *run = library ? dlsym(library, symbol.c_str()) : nullptr;
    auto *paramBytes =
        library ? static_cast<const int64_t *>(dlsym(library, (symbol + "_param_bytes").c_str())) : nullptr;
    bool cooperative = library && dlsym(library, (symbol + "_cooperative").c_str());
    auto *paramCount =
        library ? static_cast<const int64_t *>(dlsym(library, (symbol + "_param_count").c_str())) : nullptr;
    auto *paramSizes =
        library ? static_cast<const int64_t *>(dlsym(library, (symbol + "_param_sizes").c_str())) : nullptr;
    if (library) {
      installHooks(library);
      dlclose(library); // the module's object stays loaded while the module does
    }
    if (!run || !paramBytes) {
      fake->functions.erase(name);
      return kNotFound;
    }
    entry = std::make_unique<FakeFunction>(
        FakeFunction{name, reinterpret_cast<HostKernel>(run), *paramBytes, {}, cooperative});
    if (paramCount && paramSizes)
      entry->paramSizes.assign(paramSizes, paramSizes + *paramCount);
  }
  *function = entry.get();
  return kSuccess;
}

int cuFuncGetAttribute(int *value, int attribute, void *function) {
  auto *fake = static_cast<FakeFunction *>(function);
  if (!fake || !value)
    return kInvalidHandle;
  switch (attribute) {
  case 0: *value = kMaxThreadsPerBlock; return kSuccess; // registers never limit it here
  case 1:                                                 // static shared memory
  case 3:                                                 // local memory
  case 4: *value = 0; return kSuccess;                    // registers
  case 8: *value = fake->maxDynamicSharedBytes; return kSuccess;
  }
  return kInvalidValue;
}

int cuFuncSetAttribute(void *function, int attribute, int value) {
  auto *fake = static_cast<FakeFunction *>(function);
  if (!fake)
    return kInvalidHandle;
  if (attribute != 8 || value < 0 || value > kOptInSharedBytes)
    return kInvalidValue;
  fake->maxDynamicSharedBytes = value;
  return kSuccess;
}

int cuLaunchKernel(void *function, unsigned gridX, unsigned gridY, unsigned gridZ, unsigned blockX, unsigned blockY,
                      unsigned blockZ, unsigned sharedBytes, void *stream, void **params, void **extra) {
  auto *fake = static_cast<FakeFunction *>(function);
  if (!fake)
    return kInvalidHandle;
  if (extra)
    return kNotSupported; // ember passes kernelParams only
  int64_t threads = int64_t(blockX) * blockY * blockZ;
  bool blockOk = blockX >= 1 && blockY >= 1 && blockZ >= 1 && blockX <= kMaxBlockX && blockY <= kMaxBlockY &&
                 blockZ <= kMaxBlockZ && threads <= kMaxThreadsPerBlock;
  bool gridOk = gridX >= 1 && gridY >= 1 && gridZ >= 1 && gridX <= kMaxGridX && gridY <= kMaxGridYZ &&
                gridZ <= kMaxGridYZ;
  if (!blockOk || !gridOk || sharedBytes > unsigned(fake->maxDynamicSharedBytes) ||
      fake->paramBytes > kMaxParamBytes || (fake->paramBytes > 0 && !params))
    return kInvalidValue;
  recordCall("cuLaunchKernel", stream);
  if (isCapturing(stream))
    return captureLaunch(*fake, {gridX, gridY, gridZ, blockX, blockY, blockZ, sharedBytes}, stream, params);
  int64_t ids[12] = {0, 0, 0, 0, 0, 0, gridX, gridY, gridZ, blockX, blockY, blockZ};
  faults = 0;
  // The blocks run in order; the first whose threads faulted fails the launch.
  auto faulted = [&] {
    if (!faults)
      return false;
    std::fprintf(stderr,
                 "fake libcuda: kernel %s, block (%lld, %lld, %lld): %lld out-of-bounds memory access(es), skipped\n",
                 fake->name.c_str(), (long long)ids[0], (long long)ids[1], (long long)ids[2], (long long)faults);
    return true;
  };
  if (fake->cooperative) {
    std::lock_guard<std::mutex> lock(cooperativeLaunches);
    std::string error;
    for (ids[2] = 0; ids[2] < gridZ; ++ids[2])
      for (ids[1] = 0; ids[1] < gridY; ++ids[1])
        for (ids[0] = 0; ids[0] < gridX; ++ids[0]) {
          if (!runCooperativeBlock(fake->run, params, ids, error)) {
            std::fprintf(stderr, "fake libcuda: kernel %s, block (%lld, %lld, %lld): %s\n", fake->name.c_str(),
                         (long long)ids[0], (long long)ids[1], (long long)ids[2], error.c_str());
            return kLaunchFailed;
          }
          if (faulted())
            return kIllegalAddress;
        }
    return kSuccess;
  }
  for (ids[2] = 0; ids[2] < gridZ; ++ids[2])
    for (ids[1] = 0; ids[1] < gridY; ++ids[1])
      for (ids[0] = 0; ids[0] < gridX; ++ids[0]) {
        for (ids[5] = 0; ids[5] < blockZ; ++ids[5])
          for (ids[4] = 0; ids[4] < blockY; ++ids[4])
            for (ids[3] = 0; ids[3] < blockX; ++ids[3])
              fake->run(params, ids);
        if (faulted())
          return kIllegalAddress;
      }
  return kSuccess;
}

} // extern "C"
