// The compiled artifact a runtime tool runs: --artifact FILE, else the
// artifact cache (--cache-dir), compiled by the ember-compile next to the
// tool on a miss.
#pragma once

#include "ember/model/Config.h"
#include "ember/runtime/ArtifactCache.h"
#include "ember/runtime/Backend.h"
#include "ember/runtime/CommandLine.h"

#include <functional>
#include <string>

namespace ember::tools {

// The cache for `backend`'s target and flags (and --check-finite's
// diagnostic build when asked).
rt::ArtifactCache artifactCache(const rt::CommandLine &args, const rt::Backend &backend, bool checkFinite = false);

// The artifact named by --artifact, else the cached one (compiled on a miss,
// saying so on stderr unless quiet). `description` says which.
std::string obtainArtifact(const rt::CommandLine &args, const ModelConfig &config, const std::string &configPath,
                           DType dtype, const rt::Backend &backend, bool quiet, std::string &description);

// DecoderOptions::checkedArtifact: the diagnostic build (--check-finite,
// cached like the model), compiled when non-finite logits call for it;
// none with --artifact.
std::function<std::string()> diagnosticArtifact(const rt::CommandLine &args, const ModelConfig &config,
                                                const std::string &configPath, DType dtype, const rt::Backend &backend,
                                                bool quiet);

} // namespace ember::tools
