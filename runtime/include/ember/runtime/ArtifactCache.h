#pragma once

#include "ember/model/Config.h"
#include "ember/model/DType.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ember::rt {

// Everything a compiled artifact depends on.
struct ArtifactKeyInputs {
  std::string configText;    // configCacheText(config): the whole config
  DType dtype;               // weight dtype it was compiled for
  std::string target;        // "cpu", or e.g. "nvptx --chip sm_90" (target and flags)
  std::string cpuModel;      // hostCpuModel()
  std::string compilerStamp; // compilerStamp(path of ember-compile)
};

// Canonical text of every config field (nlohmann dumps object keys sorted),
// so any change to config.json compiles a new artifact.
std::string configCacheText(const ModelConfig &config);

// 16 lowercase hex digits of FNV-1a 64 over the inputs.
std::string artifactCacheKey(const ArtifactKeyInputs &inputs);

// The "model name" line of /proc/cpuinfo, or "unknown".
std::string hostCpuModel();
// "<size>:<mtime ns>" of a file; throws if it does not exist.
std::string compilerStamp(const std::string &compilerPath);

// --cache-dir if given, else $EMBER_CACHE_DIR, else $XDG_CACHE_HOME/ember,
// else $HOME/.cache/ember.
std::string resolveCacheDir(const std::string &cliCacheDir);
// ember-compile next to the running executable.
std::string defaultCompilerPath();

// Removes the temporaries ("*.tmp.<pid>") in `dir` whose process is gone: a
// compile killed midway leaves them (the cache sweeps before it compiles).
// With `prefix`, only names starting with it (ember-compile sweeps its own
// leftovers beside -o, nothing else of a user's folder).
void sweepStaleTemporaries(const std::string &dir, const std::string &prefix = "");
// Whether `name` is a temporary ("...tmp.<pid>") whose process is gone.
bool temporaryOwnerIsGone(const std::string &name);

// Compiled model artifacts (decoder and n-gram embedding in one library), keyed by what they depend on and
// compiled on a miss by running ember-compile as a subprocess. The target and its flags are a backend's
// compileTarget() and compileFlags().
//
// Prebuilt artifacts: where $EMBER_PREBUILT_DIR names a directory (scripts/gpu-bundle writes one for a GPU
// machine that cannot build), an artifact there whose prebuiltKey matches is used as it is: that key leaves
// out the compiler and the host CPU, so the directory serves on another machine with no ember-compile. With
// $EMBER_PREBUILT_RECORD=1, every artifact getOrCompile returns is also copied there.
class ArtifactCache {
public:
  ArtifactCache(std::string dir, std::string compilerPath, std::string target = "cpu",
                std::vector<std::string> targetFlags = {});

  struct Artifact {
    std::string path;
    bool cacheHit;
    double compileSeconds; // 0 on a hit
  };
  // configPath is handed to the compiler; config must be what it holds.
  Artifact getOrCompile(const ModelConfig &config, const std::string &configPath, DType dtype) const;

  std::string key(const ModelConfig &config, DType dtype) const;
  // The key in $EMBER_PREBUILT_DIR: config, dtype, target and flags only.
  std::string prebuiltKey(const ModelConfig &config, DType dtype) const;
  // <dir>/<key>.so, whether or not it exists yet.
  std::string artifactPath(const ModelConfig &config, DType dtype) const;
  // A prebuilt artifact or one in the cache exists.
  bool isCached(const ModelConfig &config, DType dtype) const;
  // The compiler's argument vector for one compilation.
  std::vector<std::string> compileCommand(const std::string &configPath, DType dtype,
                                          const std::string &outputPath) const;
  const std::string &dir() const { return dir_; }

private:
  std::optional<std::string> prebuiltArtifact(const ModelConfig &config, DType dtype) const;
  Artifact compileUnlessCached(const ModelConfig &config, const std::string &configPath, DType dtype) const;

  std::string dir_;
  std::string compilerPath_;
  std::string target_;
  std::vector<std::string> targetFlags_;
  std::string prebuiltDir_; // $EMBER_PREBUILT_DIR, "" if unset
  bool recordPrebuilt_;     // $EMBER_PREBUILT_RECORD=1
};

} // namespace ember::rt
