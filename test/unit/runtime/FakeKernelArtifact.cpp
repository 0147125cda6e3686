// A hand-made nvptx artifact with real kernels, for the launch checks and
// the kernel profile: PTX for sm_90 (so it also runs on a GPU), the host
// copies the fake CUDA device runs (FakeCudaKernels.cpp), a kernel manifest
// and an entry point that launches one kernel as compiled host code does
// (mgpuStreamCreate, mgpuModuleGetFunction, mgpuLaunchKernel,
// mgpuStreamSynchronize).
//
// Each kernel maps one float of a 1-D memref per thread, the threads
// numbered across the whole grid (x fastest), so any grid and block shape
// covers the buffer. Its parameters are the memref descriptor's fields as
// MLIR's gpu-to-llvm passes them: allocated and aligned pointers, offset,
// size, stride (40 bytes).
//
// fake_layer__overrun_5's host copy writes 5 into the element after its
// thread's: the last thread's is one past the buffer, which the host copy
// reports through the fault hook instead of writing, as a compiled host copy
// does (lowering/nvptx/HostKernels.cpp). Its PTX stores in bounds: only the
// fake device runs it as a fault.
//
// Built with FAKE_KERNELS_MALFORMED_MANIFEST, its manifest is not one.

#include "MgpuFunctions.h"

// name, PTX computing %f2 from the element %f1, the same on the host.
#define FAKE_KERNELS(X)                                                                                              \
  X(fake_layer__add_3, "add.f32 %f2, %f1, 0f3F800000;", x + 1)                                                       \
  X(fake_layer__add_3_tail, "add.f32 %f2, %f1, 0f41200000;", x + 10)                                                 \
  X(fake_layer__scale_4, "mul.f32 %f2, %f1, 0f40000000;", x * 2)                                                     \
  X(fake_unlisted, "add.f32 %f2, %f1, 0f447A0000;", x + 1000)

#define FAKE_KERNEL_PTX(name, op, host)                                                                              \
  ".visible .entry " #name "(.param .u64 " #name "_allocated, .param .u64 " #name "_aligned, .param .u64 " #name     \
  "_offset, .param .u64 " #name "_size, .param .u64 " #name "_stride)\n"                                             \
  "{\n"                                                                                                              \
  "  .reg .pred %p<2>;\n  .reg .b32 %r<18>;\n  .reg .b64 %rd<12>;\n  .reg .f32 %f<3>;\n"                             \
  "  ld.param.u64 %rd1, [" #name "_aligned];\n"                                                                      \
  "  ld.param.u64 %rd2, [" #name "_offset];\n"                                                                       \
  "  ld.param.u64 %rd3, [" #name "_size];\n"                                                                         \
  "  ld.param.u64 %rd4, [" #name "_stride];\n"                                                                       \
  /* block = (ctaid.z * nctaid.y + ctaid.y) * nctaid.x + ctaid.x */                                                  \
  "  mov.u32 %r1, %ctaid.z;\n  mov.u32 %r2, %nctaid.y;\n  mov.u32 %r3, %ctaid.y;\n"                                  \
  "  mad.lo.s32 %r4, %r1, %r2, %r3;\n  mov.u32 %r5, %nctaid.x;\n  mov.u32 %r6, %ctaid.x;\n"                          \
  "  mad.lo.s32 %r7, %r4, %r5, %r6;\n"                                                                               \
  /* thread = (tid.z * ntid.y + tid.y) * ntid.x + tid.x */                                                           \
  "  mov.u32 %r8, %tid.z;\n  mov.u32 %r9, %ntid.y;\n  mov.u32 %r10, %tid.y;\n"                                       \
  "  mad.lo.s32 %r11, %r8, %r9, %r10;\n  mov.u32 %r12, %ntid.x;\n  mov.u32 %r13, %tid.x;\n"                          \
  "  mad.lo.s32 %r14, %r11, %r12, %r13;\n"                                                                           \
  /* element = block * threads per block + thread */                                                                 \
  "  mov.u32 %r15, %ntid.z;\n  mul.lo.s32 %r16, %r12, %r9;\n  mul.lo.s32 %r17, %r16, %r15;\n"                        \
  "  mul.wide.u32 %rd5, %r7, %r17;\n  cvt.u64.u32 %rd6, %r14;\n  add.s64 %rd7, %rd5, %rd6;\n"                        \
  "  setp.ge.s64 %p1, %rd7, %rd3;\n  @%p1 bra DONE;\n"                                                               \
  "  mad.lo.s64 %rd8, %rd7, %rd4, %rd2;\n  shl.b64 %rd9, %rd8, 2;\n"                                                 \
  "  cvta.to.global.u64 %rd10, %rd1;\n  add.s64 %rd11, %rd10, %rd9;\n"                                               \
  "  ld.global.f32 %f1, [%rd11];\n  " op "\n  st.global.f32 [%rd11], %f2;\n"                                         \
  "DONE:\n  ret;\n}\n"

namespace {

// One thread of a kernel on the host: ids are blockIdx, threadIdx,
// gridDim, blockDim (x, y, z each).
template <typename Apply> void applyToElement(void **params, const int64_t *ids, Apply apply) {
  float *aligned = *static_cast<float **>(params[1]);
  int64_t offset = *static_cast<int64_t *>(params[2]), size = *static_cast<int64_t *>(params[3]),
          stride = *static_cast<int64_t *>(params[4]);
  int64_t block = (ids[2] * ids[7] + ids[1]) * ids[6] + ids[0];
  int64_t thread = (ids[5] * ids[10] + ids[4]) * ids[9] + ids[3];
  int64_t element = block * ids[9] * ids[10] * ids[11] + thread;
  if (element < size)
    aligned[offset + element * stride] = apply(aligned[offset + element * stride]);
}

} // namespace

#define FAKE_KERNEL_HOST(name, op, host)                                                                             \
  extern "C" __attribute__((visibility("default"))) void __ember_host_##name(void **params, const int64_t *ids) {   \
    applyToElement(params, ids, [](float x) { return host; });                                                      \
  }                                                                                                                  \
  extern "C" {                                                                                                       \
  __attribute__((visibility("default"))) extern const int64_t __ember_host_##name##_param_bytes = 40;               \
  __attribute__((visibility("default"))) extern const int64_t __ember_host_##name##_param_count = 5;                \
  __attribute__((visibility("default"))) extern const int64_t __ember_host_##name##_param_sizes[] = {8, 8, 8, 8, 8};\
  }
FAKE_KERNELS(FAKE_KERNEL_HOST)

extern "C" {
__attribute__((visibility("default"))) void (*__ember_host_fault_hook)() = nullptr;
__attribute__((visibility("default"))) extern const int64_t __ember_host_fake_layer__overrun_5_param_bytes = 40;
__attribute__((visibility("default"))) void __ember_host_fake_layer__overrun_5(void **params, const int64_t *ids) {
  float *aligned = *static_cast<float **>(params[1]);
  int64_t size = *static_cast<int64_t *>(params[3]);
  int64_t block = (ids[2] * ids[7] + ids[1]) * ids[6] + ids[0];
  int64_t thread = (ids[5] * ids[10] + ids[4]) * ids[9] + ids[3];
  int64_t next = block * ids[9] * ids[10] * ids[11] + thread + 1;
  if (next < size)
    aligned[next] = 5;
  else if (next == size)
    __ember_host_fault_hook();
}
}

extern "C" {

__attribute__((visibility("default"))) extern const char ember_nvptx_kernels[] = "sm_90 ptx";
__attribute__((visibility("default"))) extern const char fake_kernels_image[] =
    ".version 8.0\n.target sm_90\n.address_size 64\n" FAKE_KERNELS(FAKE_KERNEL_PTX)
        FAKE_KERNEL_PTX(fake_layer__overrun_5, "mov.f32 %f2, 0f40A00000;", 5);

#ifdef FAKE_KERNELS_MALFORMED_MANIFEST
__attribute__((visibility("default"))) extern const char ember_kernel_manifest[] =
    R"({"kernels": [{"name": "fake_layer__add_3", "function": "fake_layer", "op": "add", "op_index": "3"}]})";
#else
// fake_unlisted is left out. add #3 models c1 + cT T + cP P + cTP T P + cTT T^2 bytes
// for calls of up to 4 rows.
__attribute__((visibility("default"))) extern const char ember_kernel_manifest[] = R"({"kernels": [
  {"name": "fake_layer__add_3", "function": "fake_layer", "op": "add", "op_index": 3,
   "strategy": "thread-per-element", "block": [128, 1, 1], "bytes": [100, 10, 1, 0.5, 0.25], "bytes_max_tokens": 4},
  {"name": "fake_layer__add_3_tail", "function": "fake_layer", "op": "add", "op_index": 3,
   "strategy": "thread-per-element", "block": [128, 1, 1], "bytes": [1, 0, 0, 0, 0], "bytes_max_tokens": 512},
  {"name": "fake_layer__scale_4", "function": "fake_layer", "op": "scale", "op_index": 4,
   "strategy": "thread-per-element", "block": [128, 1, 1], "bytes": null, "bytes_max_tokens": null}
]})";
#endif

} // extern "C"

namespace {

struct Kernels {
  Kernels() : module(mgpuModuleLoadJIT(const_cast<char *>(fake_kernels_image), 2)) {}
  ~Kernels() { mgpuModuleUnload(module); }
  void *module;
} kernels;

} // namespace

// Launches `kernel` on the `count` floats at `buffer` (device memory) with
// the given grid, block and dynamic shared memory, and waits for it.
extern "C" __attribute__((visibility("default"))) void fake_kernels_launch(const char *kernel, float *buffer,
                                                                          int64_t count, const int64_t *grid,
                                                                          const int64_t *block, int32_t sharedBytes) {
  void *stream = mgpuStreamCreate();
  float *allocated = buffer, *aligned = buffer;
  int64_t offset = 0, size = count, stride = 1;
  void *params[] = {&allocated, &aligned, &offset, &size, &stride};
  mgpuLaunchKernel(mgpuModuleGetFunction(kernels.module, kernel), grid[0], grid[1], grid[2], block[0], block[1],
                   block[2], sharedBytes, stream, params, nullptr, 5);
  mgpuStreamSynchronize(stream);
  mgpuStreamDestroy(stream);
}

// A packed entry point (`void **args`, args[0] a memref<?xf32> descriptor)
// as compiled host code makes one: it stages the buffer in a temporary
// (stream-ordered allocation, device copies), adds 1 there with
// fake_layer__add_3, copies it back, frees the temporary and waits. For
// the CUDA graph tests: every kind of work a capture records.
extern "C" __attribute__((visibility("default"))) void fake_kernels_add_one_packed(void **args) {
  struct MemRef1D {
    float *allocated, *aligned;
    int64_t offset, size, stride;
  };
  const MemRef1D &buffer = *static_cast<const MemRef1D *>(args[0]);
  void *stream = mgpuStreamCreate();
  uint64_t bytes = uint64_t(buffer.size) * sizeof(float);
  auto *temporary = static_cast<float *>(mgpuMemAlloc(bytes, stream, 0));
  mgpuMemcpy(temporary, buffer.aligned + buffer.offset, bytes, stream);
  float *allocated = temporary, *aligned = temporary;
  int64_t offset = 0, size = buffer.size, stride = 1;
  void *params[] = {&allocated, &aligned, &offset, &size, &stride};
  mgpuLaunchKernel(mgpuModuleGetFunction(kernels.module, "fake_layer__add_3"), (size + 127) / 128, 1, 1, 128, 1, 1, 0,
                   stream, params, nullptr, 5);
  mgpuMemcpy(buffer.aligned + buffer.offset, temporary, bytes, stream);
  mgpuMemFree(temporary, stream);
  mgpuStreamSynchronize(stream);
  mgpuStreamDestroy(stream);
}
