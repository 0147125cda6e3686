#pragma once

// Kernel profiles (--profile): the device time and modelled bytes of every
// kernel launch an artifact made, grouped per ember op. Backends that can
// time kernels (CUDA, with events) collect them (Backend::takeKernelProfile);
// the modelled bytes come from the artifact's kernel manifest, a polynomial
// in the launching call's rows T and start position P.

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ember::rt {

// One ember op: the launches of all the kernels it was lowered to.
struct KernelProfileRow {
  std::string function;               // "ember_shortcut_layer"; "" for a kernel its artifact does not list
  std::string op;                     // "mla_absorb"; the kernel's name for one its artifact does not list
  int64_t opIndex = -1;               // the op's kernel index in its function; -1 for an unlisted kernel
  int64_t launches = 0;
  double seconds = 0;                 // device time of all its launches
  std::optional<double> modelledBytes; // all its launches together; nullopt unless every launch was modelled
  int64_t blocks = 0, threads = 0;      // all its launches together: the grid's blocks, their threads
};

struct KernelProfile {
  std::string device;                  // "NVIDIA H200 (sm_90, 132 multiprocessors)"
  double memoryPeakBytesPerSecond = 0; // 0 where unknown
  // A device-to-device copy's read + written bytes per second, measured in
  // this process: the ceiling a kernel streaming memory can reach; 0 where
  // not measured.
  double copyBytesPerSecond = 0;
  std::vector<KernelProfileRow> rows;  // longest total time first
};

// The table: a header line (device times, CUDA events), one row per op
// (function, op #index, launches, total ms, mean us, modelled bytes, GB/s,
// % of the memory peak) and a total row.
std::string formatKernelProfile(const KernelProfile &profile);
// The same as JSON: {"device", "memory_peak_bytes_per_s", "timing", "ops": [...], "total": {...}}.
nlohmann::json kernelProfileJson(const KernelProfile &profile);
// kernelProfileJson, written atomically (a failed run leaves no partial file).
void writeKernelProfileJson(const std::string &path, const KernelProfile &profile);

// The rows T and start position P of the artifact calls the calling thread
// makes while this lives (the Decoder sets them per call), which evaluate
// each launch's modelled bytes. Launches outside any have none.
class ArtifactCallScope {
public:
  ArtifactCallScope(int64_t rows, int64_t start);
  ~ArtifactCallScope();
  ArtifactCallScope(const ArtifactCallScope &) = delete;
  ArtifactCallScope &operator=(const ArtifactCallScope &) = delete;

  struct Shape {
    int64_t rows = -1, start = -1; // -1: no call
  };
  // The calling thread's innermost call.
  static Shape current();

private:
  Shape outer_;
};

} // namespace ember::rt
