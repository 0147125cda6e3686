// What ember-compile --target nvptx produces, reduced to its dealings with
// the runtime: the ember_nvptx_kernels mark, constructors/destructors that
// load and unload the kernels, and references to every mgpu* function the
// compiled host code may call (MLIR 22 signatures), which must all resolve
// against the loading executable when it is opened with RTLD_NOW.

#include "MgpuFunctions.h"

extern "C" {

__attribute__((visibility("default"))) extern const char ember_nvptx_kernels[] = "sm_90 fatbin";
__attribute__((visibility("default"))) extern void *const fake_mgpu_functions[] = {
    (void *)mgpuModuleLoadJIT,     (void *)mgpuModuleGetFunction, (void *)mgpuLaunchKernel,
    (void *)mgpuStreamCreate,      (void *)mgpuStreamDestroy,     (void *)mgpuStreamSynchronize,
    (void *)mgpuStreamWaitEvent,   (void *)mgpuEventCreate,       (void *)mgpuEventDestroy,
    (void *)mgpuEventSynchronize,  (void *)mgpuEventRecord,       (void *)mgpuMemAlloc,
    (void *)mgpuMemFree,           (void *)mgpuMemcpy,            (void *)mgpuMemset32,
    (void *)mgpuMemset16,          (void *)mgpuSetDefaultDevice};
}

namespace {

char image[] = "not a cubin";

struct Kernels {
  Kernels() : module(mgpuModuleLoad(image, sizeof image)) {}
  ~Kernels() { mgpuModuleUnload(module); }
  void *module;
} kernels;

} // namespace
