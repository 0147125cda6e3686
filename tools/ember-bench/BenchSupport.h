#pragma once

// What ember-bench's benchmarks share: the summary reporter, random prompts
// and the synthesized checkpoints of `decode` and later benchmarks.

#include "ember/runtime/ArtifactCache.h"
#include "ember/runtime/Backend.h"
#include "ember/runtime/CommandLine.h"
#include "ember/model/Config.h"
#include "ember/model/DType.h"
#include "ember/runtime/ModelWeights.h"
#include "ember/runtime/Safetensors.h"

#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace ember::bench {

// The subcommands; argv[0] is the subcommand's name.
int ngramMain(int argc, char **argv);
int decodeMain(int argc, char **argv);
int specMain(int argc, char **argv);
int fusionMain(int argc, char **argv);
int layerMain(int argc, char **argv);

double secondsSince(std::chrono::steady_clock::time_point start);

// Uniform tokens. With `withEos` an occasional EOS, so segment resets are
// exercised; without, no EOS at all (as decode_bench.py draws its prompt).
std::vector<int32_t> randomPrompt(const ember::ModelConfig &config, int64_t length, uint64_t seed, bool withEos);

// `elements` deterministic values in [-0.1, 0.1) stored as `dtype`: benchmarks
// need the real sizes and dtype, not ember-synth's distribution.
std::vector<std::byte> randomTensorBytes(int64_t elements, ember::DType dtype, uint64_t seed);

// ConsoleReporter that also keeps each benchmark's figures for the summary:
// the median when repetitions produce one, else the last run.
class SummaryReporter : public benchmark::ConsoleReporter {
public:
  SummaryReporter();
  void ReportRuns(const std::vector<Run> &runs) override;
  const Run *find(const std::string &name) const;

private:
  std::map<std::string, Run> results_;
  std::set<std::string> medians_;
};

// "1,8,64": counts >= 1 (rows, batches); "" is none. Else an error naming
// `flag`.
std::vector<int64_t> parseCountList(const std::string &text, const char *flag);

// The counter `name` of a run, 0 when it has none.
double counter(const benchmark::BenchmarkReporter::Run &run, const char *name);

// <cacheDir>/checkpoints/<preset>-s<seed>-<dtype>, synthesized on first use
// into a temporary sibling that is renamed into place only when ember-synth
// succeeded (stale temporaries of interrupted runs are removed first).
std::string obtainCheckpoint(const std::string &cacheDir, const std::string &presetPath, const ember::ModelConfig &config,
                             uint64_t seed, ember::DType dtype);

// The flags of the benchmarks that generate on a synthesized checkpoint
// (decode, spec), validated: --preset, --prompt-len P and --new-tokens N
// (both >= 1, and P + N - 1 positions must fit the preset's context),
// --dtype bf16|f32 (default bf16), --seed (default 1), --cache-dir,
// --presets-dir, --backend auto|cpu|cuda (default cpu), --disable-fusion
// (ember-compile's, for the artifact; default none),
// --no-cooperative-kernels (cuda: ember-compile --cooperative-kernels=false,
// every op one thread per element) and, where the benchmark takes them,
// --profile and --profile-json (kernel profiling) and --weights
// checkpoint|random (random: ModelWeights::random, no checkpoint).
struct GenerationFlags {
  GenerationFlags(const rt::CommandLine &args, int64_t defaultPromptLen, int64_t defaultNewTokens,
                  const char *benchmark);
  std::string presetPath, cacheDir;
  int64_t promptLen, newTokens;
  ember::DType dtype;
  uint64_t seed;
  rt::BackendKind backend;
  std::string disabledFusions;
  bool cooperativeKernels;
  bool profileKernels;
  bool randomWeights;
};

// ember-compile's flags for the comma-separated fusions to skip ("" = none).
std::vector<std::string> fusionFlags(const std::string &disabledFusions);
// ember-compile's flags for the artifact of `flags` (fusions, strategies).
std::vector<std::string> compileFlagsOf(const GenerationFlags &flags);

// The checkpoint of `flags` (obtainCheckpoint) and its decoder weights, or,
// with --weights random, weights generated in place and no checkpoint; the
// backend, and the artifact compiled for it from the cache (on a miss).
struct BenchModel {
  explicit BenchModel(const GenerationFlags &flags);
  // Two lines: the preset's sizes and weight bytes, then checkpoint and artifact.
  void describe(const std::string &presetPath) const;
  // The artifact compiled with these ember-compile flags (cached).
  rt::ArtifactCache::Artifact compileArtifact(const std::vector<std::string> &extraFlags) const;

  std::string cacheDir;
  // Before the checkpoint: an unusable one (or one that cannot profile
  // kernels, with --profile) fails before any synthesis.
  std::unique_ptr<rt::Backend> backend;
  std::string modelDir; // empty with random weights
  std::string configPath;
  ember::ModelConfig config;
  std::optional<rt::Checkpoint> checkpoint;
  rt::ModelWeights weights;
  rt::ArtifactCache::Artifact artifact;
};

// The artifact cache in cacheDir for the backend's compileTarget() and
// compileFlags() plus `extraFlags`.
rt::ArtifactCache backendCache(const rt::Backend &backend, const std::string &cacheDir,
                               const std::vector<std::string> &extraFlags);
// The artifact of `config` (held by the file configPath) for the backend's
// compileTarget() and compileFlags() plus `extraFlags`, from the cache in
// cacheDir; a miss compiles it, saying so on stderr.
rt::ArtifactCache::Artifact compileForBackend(const rt::Backend &backend, const std::string &cacheDir,
                                              const ember::ModelConfig &config, const std::string &configPath,
                                              ember::DType dtype, const std::vector<std::string> &extraFlags);

// Runs ember-compile (next to this binary) with `arguments` and returns its
// stdout; throws with the command and its output when it fails (or cannot
// start, as in a GPU bundle).
std::string runCompiler(const std::vector<std::string> &arguments);

// The last `lines` lines of a subprocess's output, for messages.
std::string lastLines(const std::string &text, int lines);

// Runs a reference script of test/reference with /usr/bin/python3, saying
// on stderr what it is for (`doing`), and returns the last line of its
// output that is a JSON object. Throws Error saying why there is none: no
// interpreter, no script, torch not installed, the script failed (with its
// last `contextLines` lines of output) or printed no JSON line.
nlohmann::json runPythonReference(const std::string &script, const std::vector<std::string> &args,
                                  const std::string &doing, int contextLines);

// A figure with 3 decimals, "-" for 0 or less (a benchmark not run, a
// ceiling not known).
std::string threeDecimals(double value);

// One decode step (T = 1 after `position` cached positions) as
// `ember-compile --report` models it for the backend's target and the
// artifact's flags: its kernels and bytes read + written.
struct ModelledStep {
  int64_t kernels = 0;
  double bytes = 0;
};
// One decode step of `rows` sequences (ember_step, a row each) after
// `position` cached positions each.
ModelledStep modelDecodeStep(const BenchModel &model, int64_t rows, int64_t position,
                             const std::vector<std::string> &extraFlags);
// One call of the entry point `function` on `tokens` rows of `sequences`
// sequences, each after `position` cached positions, as ember-compile
// --report (--report-function, --batch, --report-sequences,
// --report-position) models it for the config at configPath.
ModelledStep modelCall(const rt::Backend &backend, const std::string &configPath, ember::DType dtype,
                       const std::vector<std::string> &extraFlags, const std::string &function, int64_t tokens,
                       int64_t position, int64_t sequences = 1);

// Achieved bandwidth over the modelled bytes, and as fractions of the
// device memory's peak and of the copy rate measured in this run ("-"
// where the backend knows neither): "12.345", "0.123", "0.140".
struct BandwidthFigures {
  std::string gigabytesPerSecond, ofPeak, ofCopy;
};
BandwidthFigures bandwidthFigures(rt::Backend &backend, double bytesPerSecond);
// What the fractions are over, for the summaries' footnotes: ", x peak:
// over cuda's 4800 GB/s (memory clock x bus width), x copy: over the
// 4260 GB/s a device-to-device copy reached in this run" ("" on the CPU).
std::string bandwidthCeilings(rt::Backend &backend);

} // namespace ember::bench
