#include "ember/runtime/KernelProfile.h"

#include "ember/runtime/AtomicFile.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>

namespace ember::rt {

namespace {

thread_local ArtifactCallScope::Shape currentCall;

constexpr char kTiming[] = "device times, measured with CUDA events recorded around each launch on its stream";

// What a row (or the total) shows.
struct Figures {
  int64_t launches = 0;
  double totalMs = 0, meanUs = 0;
  std::optional<double> bytes, bytesPerSecond, percentOfPeak, percentOfCopy;
};

// `bytes` moved over `bytesSeconds` of the `seconds` its launches took,
// against the profile's memory peak and copy rate.
Figures figuresOf(int64_t launches, double seconds, std::optional<double> bytes, double bytesSeconds,
                  const KernelProfile &profile) {
  Figures figures{launches, seconds * 1e3, launches ? seconds * 1e6 / double(launches) : 0.0, bytes, {}, {}, {}};
  if (bytes && bytesSeconds > 0) {
    figures.bytesPerSecond = *bytes / bytesSeconds;
    if (profile.memoryPeakBytesPerSecond > 0)
      figures.percentOfPeak = *figures.bytesPerSecond / profile.memoryPeakBytesPerSecond * 100;
    if (profile.copyBytesPerSecond > 0)
      figures.percentOfCopy = *figures.bytesPerSecond / profile.copyBytesPerSecond * 100;
  }
  return figures;
}

Figures figuresOf(const KernelProfileRow &row, const KernelProfile &profile) {
  return figuresOf(row.launches, row.seconds, row.modelledBytes, row.seconds, profile);
}

// The total's GB/s is over the time of the modelled ops only.
struct Total {
  Figures figures;
  size_t unmodelledOps = 0;
};

Total totalOf(const KernelProfile &profile) {
  int64_t launches = 0;
  double seconds = 0, modelledSeconds = 0;
  std::optional<double> modelledBytes;
  size_t unmodelledOps = 0;
  for (const KernelProfileRow &row : profile.rows) {
    launches += row.launches;
    seconds += row.seconds;
    if (!row.modelledBytes) {
      ++unmodelledOps;
      continue;
    }
    modelledBytes = modelledBytes.value_or(0) + *row.modelledBytes;
    modelledSeconds += row.seconds;
  }
  return {figuresOf(launches, seconds, modelledBytes, modelledSeconds, profile), unmodelledOps};
}

std::string opLabel(const KernelProfileRow &row) {
  return row.opIndex < 0 ? row.op : row.op + " #" + std::to_string(row.opIndex);
}

std::string fixed(std::optional<double> value, const char *format, double scale = 1) {
  if (!value)
    return "-";
  char text[32];
  std::snprintf(text, sizeof text, format, *value * scale);
  return text;
}

// Per launch: the grid's blocks and the threads per block ("-" for the
// total, whose kernels differ).
std::string meanBlocks(const KernelProfileRow &row) {
  return row.launches ? fixed(double(row.blocks) / double(row.launches), "%.0f") : "-";
}
std::string threadsPerBlock(const KernelProfileRow &row) {
  return row.blocks ? fixed(double(row.threads) / double(row.blocks), "%.0f") : "-";
}

// The table's cells of `figures`, after the function and the op.
std::vector<std::string> cells(const std::string &function, const std::string &op, const Figures &figures,
                               std::string blocks = "-", std::string threads = "-") {
  return {function,
          op,
          std::to_string(figures.launches),
          std::move(blocks),
          std::move(threads),
          fixed(figures.totalMs, "%.3f"),
          fixed(figures.meanUs, "%.2f"),
          fixed(figures.bytes, "%.3f", 1e-6),
          fixed(figures.bytesPerSecond, "%.1f", 1e-9),
          fixed(figures.percentOfPeak, "%.1f"),
          fixed(figures.percentOfCopy, "%.1f")};
}

nlohmann::json orNull(std::optional<double> value) { return value ? nlohmann::json(*value) : nlohmann::json(); }

void addFigures(nlohmann::json &object, const Figures &figures) {
  object["launches"] = figures.launches;
  object["total_ms"] = figures.totalMs;
  object["mean_us"] = figures.meanUs;
  object["modelled_bytes"] = orNull(figures.bytes);
  object["achieved_bytes_per_s"] = orNull(figures.bytesPerSecond);
  object["percent_of_peak"] = orNull(figures.percentOfPeak);
  object["percent_of_copy"] = orNull(figures.percentOfCopy);
}

} // namespace

ArtifactCallScope::ArtifactCallScope(int64_t rows, int64_t start) : outer_(currentCall) { currentCall = {rows, start}; }
ArtifactCallScope::~ArtifactCallScope() { currentCall = outer_; }
ArtifactCallScope::Shape ArtifactCallScope::current() { return currentCall; }

std::string formatKernelProfile(const KernelProfile &profile) {
  Total total = totalOf(profile);
  std::vector<std::vector<std::string>> rows{
      {"function", "op", "launches", "blocks", "threads", "total ms", "mean us", "modelled MB", "GB/s", "% peak",
       "% copy"}};
  for (const KernelProfileRow &row : profile.rows)
    rows.push_back(cells(row.function.empty() ? "-" : row.function, opLabel(row),
                         figuresOf(row, profile), meanBlocks(row), threadsPerBlock(row)));
  rows.push_back(cells("total", "", total.figures));
  std::vector<size_t> widths(rows.front().size());
  for (const auto &row : rows)
    for (size_t column = 0; column < row.size(); ++column)
      widths[column] = std::max(widths[column], row[column].size());

  char peak[48] = "an unknown", copy[48] = "an unmeasured";
  if (profile.memoryPeakBytesPerSecond > 0)
    std::snprintf(peak, sizeof peak, "the %.0f GB/s", profile.memoryPeakBytesPerSecond / 1e9);
  if (profile.copyBytesPerSecond > 0)
    std::snprintf(copy, sizeof copy, "the %.0f GB/s", profile.copyBytesPerSecond / 1e9);
  std::string text = "kernel profile on " + profile.device + ", " + std::to_string(total.figures.launches) +
                     " launches: " + kTiming + "\nblocks: per launch; threads: per block; modelled MB: the kernel manifest's traffic model at each launch's " +
                     "call (its rows and start position); GB/s: modelled bytes over device time; % peak: of " + peak +
                     " memory peak; % copy: of " + copy +
                     " a device-to-device copy reached in this process (read + written bytes)\n";
  for (const auto &row : rows)
    for (size_t column = 0; column < row.size(); ++column) {
      std::string pad(widths[column] - row[column].size(), ' ');
      text += column < 2 ? row[column] + pad : pad + row[column]; // names left, figures right
      text += column + 1 < row.size() ? "  " : "\n";
    }
  if (total.unmodelledOps > 0 && total.figures.bytes)
    text += "(the total's GB/s is over the time of the modelled ops only: " + std::to_string(total.unmodelledOps) +
            " of " + std::to_string(profile.rows.size()) + " ops have no modelled bytes)\n";
  return text;
}

nlohmann::json kernelProfileJson(const KernelProfile &profile) {
  const double peak = profile.memoryPeakBytesPerSecond;
  nlohmann::json ops = nlohmann::json::array();
  for (const KernelProfileRow &row : profile.rows) {
    nlohmann::json op{{"function", row.function},
                      {"op", row.op},
                      {"op_index", row.opIndex >= 0 ? nlohmann::json(row.opIndex) : nlohmann::json()},
                      {"blocks", row.blocks},
                      {"threads", row.threads}};
    addFigures(op, figuresOf(row, profile));
    ops.push_back(std::move(op));
  }
  Total total = totalOf(profile);
  nlohmann::json totalJson = nlohmann::json::object();
  addFigures(totalJson, total.figures);
  totalJson["ops_without_modelled_bytes"] = total.unmodelledOps;
  return {{"device", profile.device},
          {"memory_peak_bytes_per_s", peak > 0 ? nlohmann::json(peak) : nlohmann::json()},
          {"copy_bytes_per_s", profile.copyBytesPerSecond > 0 ? nlohmann::json(profile.copyBytesPerSecond)
                                                              : nlohmann::json()},
          {"timing", kTiming},
          {"ops", std::move(ops)},
          {"total", std::move(totalJson)}};
}

void writeKernelProfileJson(const std::string &path, const KernelProfile &profile) {
  writeFileAtomically(path, kernelProfileJson(profile).dump(2) + "\n");
}

} // namespace ember::rt
