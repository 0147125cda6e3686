// The runtime hooks an artifact built with --check-finite calls
// (lowering/InsertFiniteChecks.cpp): C interfaces of MLIR memrefs, so the
// descriptors are spelled out here (the runtime links no MLIR).

#include "ember/runtime/FiniteChecks.h"

#include "CudaSession.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <vector>

namespace ember::rt {

namespace {

// memref<?xi8> and memref<*xf32> as MLIR's C interface passes them.
struct LabelMemRef {
  int8_t *allocated, *aligned;
  int64_t offset, size, stride;
};
struct UnrankedMemRef {
  int64_t rank;
  void *descriptor; // {float *allocated, *aligned; int64_t offset, sizes[rank], strides[rank]}
};

std::string text(const LabelMemRef *label) {
  return std::string(reinterpret_cast<const char *>(label->aligned + label->offset), size_t(label->size));
}

std::mutex recordMutex;
std::optional<std::string> firstRecord;
thread_local std::vector<std::string> scopes; // the calls the current check runs inside, outermost first

// The elements [0, span) from the output's first element, copied from the
// device when a CUDA session runs the artifact; an error text instead when
// that copy fails.
std::string readSpan(const float *first, int64_t span, std::vector<float> &values) {
  values.resize(size_t(span));
  CudaSession *session = cudaSessionOrNull();
  if (!session) {
    std::memcpy(values.data(), first, values.size() * sizeof(float));
    return "";
  }
  cuda::CUstream stream = nullptr;
  cuda::CUresult result = session->bind();
  if (result == cuda::CUDA_SUCCESS)
    result = session->threadStream(&stream);
  if (result == cuda::CUDA_SUCCESS)
    result = session->driver->cuMemcpyDtoHAsync(values.data(), cuda::CUdeviceptr(first), values.size() * sizeof(float),
                                                stream);
  if (result == cuda::CUDA_SUCCESS)
    result = session->driver->cuStreamSynchronize(stream);
  return result == cuda::CUDA_SUCCESS ? "" : "could not read it from the device: " + session->driver->describe(result);
}

// "" if every element of the strided view is finite, else what it holds.
std::string describeNonFinite(const UnrankedMemRef &data) {
  auto *fields = static_cast<const int64_t *>(data.descriptor);
  const float *aligned = reinterpret_cast<const float *const *>(fields)[1];
  int64_t offset = fields[2], rank = data.rank;
  const int64_t *sizes = fields + 3, *strides = fields + 3 + rank;
  int64_t elements = 1, span = 1;
  for (int64_t d = 0; d < rank; ++d) {
    elements *= sizes[d];
    span += (sizes[d] - 1) * strides[d];
  }
  if (elements == 0)
    return "";
  std::vector<float> values;
  if (std::string problem = readSpan(aligned + offset, span, values); !problem.empty())
    return problem;
  int64_t bad = 0;
  std::string first;
  std::vector<int64_t> index(size_t(rank), 0);
  for (int64_t n = 0; n < elements; ++n) {
    int64_t at = 0;
    for (int64_t d = 0; d < rank; ++d)
      at += index[d] * strides[d];
    float value = values[size_t(at)];
    if (!std::isfinite(value) && bad++ == 0) {
      first = std::string(std::isnan(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf") + " at [";
      for (int64_t d = 0; d < rank; ++d)
        first += (d ? ", " : "") + std::to_string(index[d]);
      first += "]";
    }
    for (int64_t d = rank - 1; d >= 0 && ++index[d] == sizes[d]; --d)
      index[d] = 0;
  }
  if (!bad)
    return "";
  return std::to_string(bad) + " of " + std::to_string(elements) + " values are NaN or Inf, the first " + first;
}

} // namespace

void resetFiniteChecks() {
  std::lock_guard<std::mutex> lock(recordMutex);
  firstRecord.reset();
}

std::optional<std::string> firstNonFiniteOutput() {
  std::lock_guard<std::mutex> lock(recordMutex);
  return firstRecord;
}

} // namespace ember::rt

using namespace ember::rt;

// Exported by every executable linking the runtime (mgpu.exports).
extern "C" {

void _mlir_ciface_ember_check_finite(UnrankedMemRef *data, LabelMemRef *label) {
  {
    std::lock_guard<std::mutex> lock(recordMutex);
    if (firstRecord)
      return; // later outputs are usually consequences
  }
  std::string found = describeNonFinite(*data);
  if (found.empty())
    return;
  std::string where = text(label);
  std::string within;
  // Scopes the graph named (model.layers.1) say where; calls (@ember_forward)
  // the way there, but for the call into the op's own function, which its
  // label names.
  size_t outer = scopes.size() - (!scopes.empty() && scopes.back()[0] == '@');
  for (size_t i = 0; i < outer; ++i)
    if (scopes[i][0] == '@')
      within += (within.empty() ? " (via " : " > ") + scopes[i].substr(1);
    else
      where += " in " + scopes[i];
  std::lock_guard<std::mutex> lock(recordMutex);
  if (!firstRecord)
    firstRecord = where + (within.empty() ? "" : within + ")") + ": " + found;
}

void _mlir_ciface_ember_enter_scope(LabelMemRef *label) { scopes.push_back(text(label)); }

void ember_leave_scope() {
  if (!scopes.empty())
    scopes.pop_back();
}

} // extern "C"
