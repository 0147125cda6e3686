#pragma once

// What the mgpu* shim (CudaShim.cpp) knows of the kernels nvptx artifacts
// launch: each kernel's name (from mgpuModuleGetFunction), the ember op it
// was lowered from (from its artifact's kernel manifest) and its launch
// limits (cuFuncGetAttribute, read once per kernel), so a launch can be
// checked before the driver refuses it, and named in errors and profiles.
// Private to the runtime library.

#include "CudaSession.h"

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

namespace ember::rt {

// One kernel of an artifact's `ember_kernel_manifest`:
//   {"kernels": [{"name", "function", "op", "op_index", "strategy",
//                 "block": [x, y, z], "bytes": [c1, cT, cP, cTP, cTT] | null,
//                 "bytes_max_tokens": N | null}]}
struct ManifestKernel {
  std::string function, op; // "ember_shortcut_layer", "mla_absorb"
  int64_t opIndex = 0;
  // Modelled bytes per launch: c1 + cT T + cP P + cTP T P + cTT T^2 for a
  // call of T <= bytesMaxTokens rows at start position P; nullopt when not
  // modelled.
  std::optional<std::array<double, 5>> bytes;
  int64_t bytesMaxTokens = 0;

  std::optional<double> bytesAt(int64_t rows, int64_t start) const;
};

// By kernel name. Throws Error naming `where` and the entry if `json` is
// not a manifest.
using KernelManifest = std::unordered_map<std::string, ManifestKernel>;
KernelManifest parseKernelManifest(const char *json, const std::string &where);

struct LaunchDims {
  std::array<int64_t, 3> grid, block; // x, y, z as the caller gave them
  int64_t sharedBytes;                // dynamic
};

struct LaunchedKernel {
  cuda::CUfunction function = nullptr;
  cuda::CUmodule module = nullptr;
  std::string name;                  // "ember_shortcut_layer__mla_absorb_7"
  std::optional<ManifestKernel> origin; // nullopt when its artifact does not list it
  int64_t maxThreadsPerBlock = 0, staticSharedBytes = 0;
  std::atomic<int64_t> maxDynamicSharedBytes{0}; // raised by checkLaunch

  // "kernel K (ember.mla_absorb #7 of ember_shortcut_layer) launched with
  // grid (1, 1, 1) and block (1, 1, 128)".
  std::string describe(const LaunchDims &dims) const;
};

// Registers the kernels of `module`, whose image lies in the shared object
// (the artifact) that may export `ember_kernel_manifest`; modules load in
// the artifact's constructors, while the backend opens it. Throws Error for
// a malformed manifest.
void registerKernelModule(cuda::CUmodule module, const void *image);
void forgetKernelModule(cuda::CUmodule module) noexcept;

// The kernel `function`, registered on first sight: by mgpuModuleGetFunction
// with its module and name, which compiled code calls before every launch
// (so once known, a kernel costs a lookup without a lock), or by a launch
// of a function it never resolved (without a name). Throws Error when
// cuFuncGetAttribute fails.
LaunchedKernel &kernelFor(const CudaSession &session, cuda::CUfunction function, cuda::CUmodule module = nullptr,
                          const char *name = "");

// What in `dims` exceeds the device's or the kernel's limits ("block z =
// 128 exceeds NVIDIA H200's limit of 64"), "" if nothing. A launch needing
// more dynamic shared memory than the kernel allows by default gets it
// raised up to the device's opt-in limit first (cuFuncSetAttribute), as
// MLIR's own runtime does. Throws Error when raising it fails.
std::string checkLaunch(const CudaSession &session, LaunchedKernel &kernel, const LaunchDims &dims);

} // namespace ember::rt
