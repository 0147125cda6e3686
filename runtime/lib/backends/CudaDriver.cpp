#include "ember/runtime/CudaDriver.h"

#include <dlfcn.h>
#include <link.h>

namespace ember::rt {

namespace {

std::string lastDlError() {
  const char *message = dlerror();
  return message ? message : "unknown dlopen error";
}

template <typename Function> bool resolve(void *handle, const char *symbol, Function &function) {
  function = reinterpret_cast<Function>(dlsym(handle, symbol));
  return function != nullptr;
}

} // namespace

std::unique_ptr<CudaDriver> CudaDriver::load(const std::string &library) {
  std::unique_ptr<CudaDriver> driver(new CudaDriver());
  driver->library_ = library;
  dlerror();
  driver->handle_ = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!driver->handle_)
    throw CudaUnavailable("no CUDA driver: " + library + " not found",
                          "cannot load " + library + " (" + lastDlError() + "): no NVIDIA driver on this machine");
  link_map *map = nullptr;
  driver->path_ = dlinfo(driver->handle_, RTLD_DI_LINKMAP, &map) == 0 && map ? map->l_name : library;

  auto lacks = [&](const char *symbol) {
    return CudaUnavailable("CUDA driver too old: " + library + " lacks " + symbol,
                           driver->path_ + " lacks " + symbol + ": the NVIDIA driver is too old (ember needs CUDA " +
                               std::to_string(cuda::kMinimumDriverVersion / 1000) + ".0 or newer)");
  };
  // Enough to report why cuInit fails; a driver without a device may stop here.
#define EMBER_CUDA_RESOLVE(member, symbol, type)                                                                     \
  if (!resolve(driver->handle_, symbol, driver->member))                                                             \
    throw lacks(symbol);
  EMBER_CUDA_INIT_FUNCTIONS(EMBER_CUDA_RESOLVE)
  if (CUresult result = driver->cuInit(0))
    throw CudaUnavailable("no CUDA device: cuInit failed: " + driver->errorName(result),
                          "cuInit failed: " + driver->describe(result));
  int version = 0;
  if (CUresult result = driver->cuDriverGetVersion(&version))
    throw CudaUnavailable("CUDA unusable: cuDriverGetVersion failed: " + driver->errorName(result),
                          "cuDriverGetVersion failed: " + driver->describe(result));
  if (version < cuda::kMinimumDriverVersion) {
    std::string supported = "CUDA " + std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
    throw CudaUnavailable("CUDA driver too old: " + supported, "the NVIDIA driver at " + driver->path_ +
                                                                   " supports " + supported +
                                                                   "; ember's kernels (PTX 8.0) need CUDA 12.0 or newer");
  }
  EMBER_CUDA_FUNCTIONS(EMBER_CUDA_RESOLVE)
#undef EMBER_CUDA_RESOLVE
  return driver;
}

CudaDriver::~CudaDriver() {
  if (handle_)
    dlclose(handle_);
}

std::string CudaDriver::errorName(cuda::CUresult result) const {
  const char *name = nullptr;
  if (cuGetErrorName(result, &name) != cuda::CUDA_SUCCESS || !name)
    return "CUDA error " + std::to_string(result);
  return name;
}

std::string CudaDriver::describe(cuda::CUresult result) const {
  const char *text = nullptr;
  if (cuGetErrorString(result, &text) != cuda::CUDA_SUCCESS || !text)
    return errorName(result);
  return errorName(result) + " (" + text + ")";
}

void CudaDriver::check(cuda::CUresult result, const char *call) const {
  if (result != cuda::CUDA_SUCCESS)
    throw Error(std::string(call) + " failed: " + describe(result));
}

} // namespace ember::rt
