#include "CudaKernels.h"

#include <nlohmann/json.hpp>

#include <dlfcn.h>

#include <map>

namespace ember::rt {

using namespace cuda;

std::optional<double> ManifestKernel::bytesAt(int64_t rows, int64_t start) const {
  if (!bytes || rows < 0 || rows > bytesMaxTokens)
    return std::nullopt;
  const std::array<double, 5> &c = *bytes;
  double t = double(rows), p = double(start);
  return c[0] + c[1] * t + c[2] * p + c[3] * t * p + c[4] * t * t;
}

KernelManifest parseKernelManifest(const char *json, const std::string &where) {
  KernelManifest manifest;
  size_t index = 0;
  try {
    nlohmann::json parsed = nlohmann::json::parse(json);
    for (const nlohmann::json &entry : parsed.at("kernels")) {
      ManifestKernel kernel;
      kernel.function = entry.at("function").get<std::string>();
      kernel.op = entry.at("op").get<std::string>();
      kernel.opIndex = entry.at("op_index").get<int64_t>();
      if (!entry.at("bytes").is_null()) {
        kernel.bytes = entry.at("bytes").get<std::array<double, 5>>();
        kernel.bytesMaxTokens = entry.at("bytes_max_tokens").get<int64_t>();
      }
      manifest[entry.at("name").get<std::string>()] = std::move(kernel);
      ++index;
    }
  } catch (const nlohmann::json::exception &error) {
    throw Error(where + ": ember_kernel_manifest is not a kernel manifest (at kernel " + std::to_string(index) +
                "): " + error.what());
  }
  return manifest;
}

std::string LaunchedKernel::describe(const LaunchDims &dims) const {
  auto triple = [](const std::array<int64_t, 3> &value) {
    return "(" + std::to_string(value[0]) + ", " + std::to_string(value[1]) + ", " + std::to_string(value[2]) + ")";
  };
  std::string text = "kernel " + (name.empty() ? std::string("(not resolved by mgpuModuleGetFunction)") : name);
  // The manifest calls memref.copy's kernels "copy"; every other op is ember's.
  if (origin)
    text += " (" + (origin->op == "copy" ? std::string("memref.") : std::string("ember.")) + origin->op + " #" +
            std::to_string(origin->opIndex) + " of " + origin->function + ")";
  return text + " launched with grid " + triple(dims.grid) + " and block " + triple(dims.block);
}

namespace {

std::mutex registryMutex;
// A module's manifest; an empty one when its artifact has none.
std::unordered_map<CUmodule, std::shared_ptr<const KernelManifest>> moduleManifests;
// Each shared object's parsed manifest while any of its modules is loaded,
// by its base address (an artifact may load several modules).
std::map<const void *, std::weak_ptr<const KernelManifest>> objectManifests;
std::unordered_map<CUfunction, std::unique_ptr<LaunchedKernel>> kernels;

// Changes whenever kernels are forgotten, so that no thread uses a kernel it
// resolved before once that may be gone.
std::atomic<uint64_t> registryGeneration{0};

// Each thread's view of `kernels`, which spares compiled code's per-launch
// mgpuModuleGetFunction the lock.
struct ThreadKernels {
  uint64_t generation = 0;
  std::unordered_map<CUfunction, LaunchedKernel *> known;

  LaunchedKernel *find(CUfunction function) {
    if (uint64_t current = registryGeneration.load(); generation != current) {
      known.clear();
      generation = current;
    }
    auto found = known.find(function);
    return found == known.end() ? nullptr : found->second;
  }
};
thread_local ThreadKernels threadKernels;

std::shared_ptr<const KernelManifest> readManifest(const char *path) {
  std::unique_ptr<void, int (*)(void *)> library(dlopen(path, RTLD_NOW | RTLD_NOLOAD), dlclose);
  const auto *json = library ? static_cast<const char *>(dlsym(library.get(), "ember_kernel_manifest")) : nullptr;
  return std::make_shared<const KernelManifest>(json ? parseKernelManifest(json, path) : KernelManifest());
}

// Needs registryMutex.
std::unique_ptr<LaunchedKernel> newKernel(const CudaSession &session, CUmodule module, CUfunction function,
                                          const char *name) {
  auto kernel = std::make_unique<LaunchedKernel>();
  kernel->function = function;
  kernel->module = module;
  kernel->name = name;
  auto manifest = moduleManifests.find(module);
  if (manifest != moduleManifests.end()) {
    auto listed = manifest->second->find(kernel->name);
    if (listed != manifest->second->end())
      kernel->origin = listed->second;
  }
  auto attribute = [&](int attribute) {
    int value = 0;
    if (CUresult result = session.driver->cuFuncGetAttribute(&value, attribute, function))
      throw Error("cuFuncGetAttribute(" + std::to_string(attribute) + ") of kernel " + kernel->name +
                  " failed: " + session.driver->describe(result));
    return value;
  };
  kernel->maxThreadsPerBlock = attribute(CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK);
  kernel->staticSharedBytes = attribute(CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES);
  kernel->maxDynamicSharedBytes = attribute(CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES);
  return kernel;
}

} // namespace

void registerKernelModule(CUmodule module, const void *image) {
  std::lock_guard<std::mutex> lock(registryMutex);
  std::shared_ptr<const KernelManifest> manifest;
  Dl_info object{};
  if (dladdr(image, &object) && object.dli_fname) {
    std::weak_ptr<const KernelManifest> &cached = objectManifests[object.dli_fbase];
    manifest = cached.lock();
    if (!manifest)
      cached = manifest = readManifest(object.dli_fname);
  }
  moduleManifests[module] = manifest ? manifest : std::make_shared<const KernelManifest>();
}

void forgetKernelModule(CUmodule module) noexcept {
  std::lock_guard<std::mutex> lock(registryMutex);
  ++registryGeneration;
  moduleManifests.erase(module);
  for (auto kernel = kernels.begin(); kernel != kernels.end();)
    kernel = kernel->second->module == module ? kernels.erase(kernel) : std::next(kernel);
}

LaunchedKernel &kernelFor(const CudaSession &session, CUfunction function, CUmodule module, const char *name) {
  if (LaunchedKernel *known = threadKernels.find(function))
    return *known;
  std::lock_guard<std::mutex> lock(registryMutex);
  auto found = kernels.find(function);
  if (found == kernels.end())
    found = kernels.emplace(function, newKernel(session, module, function, name)).first;
  return *(threadKernels.known[function] = found->second.get());
}

std::string checkLaunch(const CudaSession &session, LaunchedKernel &kernel, const LaunchDims &dims) {
  const CudaSession::LaunchLimits &limits = session.limits;
  // Messages are built only for a launch that fails: this runs per launch.
  auto exceeds = [&](const std::string &what, int64_t value, int64_t limit, const char *unit = "",
                     const char *whose = nullptr) {
    return what + " = " + std::to_string(value) + " exceeds " + (whose ? whose : session.deviceName + "'s") +
           " limit of " + std::to_string(limit) + unit;
  };
  // Checked before the dims become the driver's unsigned ints, which would wrap.
  auto axisProblem = [&](const char *what, const std::array<int64_t, 3> &value, const std::array<int64_t, 3> &limit) {
    static const char *const axes[] = {" x", " y", " z"};
    for (size_t axis = 0; axis < 3; ++axis) {
      if (value[axis] < 1)
        return what + std::string(axes[axis]) + " = " + std::to_string(value[axis]) + " is below the minimum of 1";
      if (value[axis] > limit[axis])
        return exceeds(what + std::string(axes[axis]), value[axis], limit[axis]);
    }
    return std::string();
  };
  if (std::string problem = axisProblem("block", dims.block, limits.block); !problem.empty())
    return problem;
  int64_t threads = dims.block[0] * dims.block[1] * dims.block[2];
  if (threads > limits.threadsPerBlock)
    return exceeds("block x * y * z", threads, limits.threadsPerBlock, " threads per block");
  if (threads > kernel.maxThreadsPerBlock)
    return exceeds("block x * y * z", threads, kernel.maxThreadsPerBlock,
                   " threads per block (set by its registers or .maxntid)", "this kernel's");
  if (std::string problem = axisProblem("grid", dims.grid, limits.grid); !problem.empty())
    return problem;
  if (dims.sharedBytes < 0)
    return "dynamic shared memory = " + std::to_string(dims.sharedBytes) + " bytes is negative";
  if (kernel.staticSharedBytes + dims.sharedBytes > limits.sharedBytesOptIn)
    return exceeds("static + dynamic shared memory", kernel.staticSharedBytes + dims.sharedBytes,
                   limits.sharedBytesOptIn, " bytes per block");
  if (dims.sharedBytes > kernel.maxDynamicSharedBytes) {
    std::lock_guard<std::mutex> lock(registryMutex); // one raise at a time: the driver keeps the last
    if (dims.sharedBytes > kernel.maxDynamicSharedBytes) {
      if (CUresult result = session.driver->cuFuncSetAttribute(
              kernel.function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, int(dims.sharedBytes)))
        throw Error("cuFuncSetAttribute(CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, " +
                    std::to_string(dims.sharedBytes) + ") failed: " + session.driver->describe(result));
      kernel.maxDynamicSharedBytes = dims.sharedBytes;
    }
  }
  return "";
}

} // namespace ember::rt
