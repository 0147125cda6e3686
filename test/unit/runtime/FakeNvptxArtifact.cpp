// What ember-compile --target nvptx produces, reduced to its dealings with
// the runtime: the ember_nvptx_kernels mark, constructors/destructors that
// load and unload the kernels, and references to every mgpu* function the
// compiled host code may call (MLIR 22 signatures), which must all resolve
// against the loading executable when it is opened with RTLD_NOW.

#include <cstddef>
#include <cstdint>

extern "C" {
void *mgpuModuleLoad(void *data, size_t size);
void *mgpuModuleLoadJIT(void *ptx, int optLevel);
void mgpuModuleUnload(void *module);
void *mgpuModuleGetFunction(void *module, const char *name);
void mgpuLaunchKernel(void *function, intptr_t, intptr_t, intptr_t, intptr_t, intptr_t, intptr_t, int32_t,
                      void *stream, void **params, void **extra, size_t count);
void *mgpuStreamCreate();
void mgpuStreamDestroy(void *stream);
void mgpuStreamSynchronize(void *stream);
void mgpuStreamWaitEvent(void *stream, void *event);
void *mgpuEventCreate();
void mgpuEventDestroy(void *event);
void mgpuEventSynchronize(void *event);
void mgpuEventRecord(void *event, void *stream);
void *mgpuMemAlloc(uint64_t bytes, void *stream, uint8_t hostShared);
void mgpuMemFree(void *pointer, void *stream);
void mgpuMemcpy(void *destination, void *source, size_t bytes, void *stream);
void mgpuMemset32(void *destination, unsigned value, size_t count, void *stream);
void mgpuMemset16(void *destination, unsigned short value, size_t count, void *stream);
void mgpuSetDefaultDevice(int32_t device);

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
