#include "ToolArtifact.h"

#include <cstdio>
#include <filesystem>
#include <iostream>

namespace ember::tools {

rt::ArtifactCache artifactCache(const rt::CommandLine &args, const rt::Backend &backend, bool checkFinite) {
  std::vector<std::string> flags = backend.compileFlags();
  if (checkFinite)
    flags.push_back("--check-finite");
  return rt::ArtifactCache(rt::resolveCacheDir(args.value("--cache-dir", "")), rt::defaultCompilerPath(),
                           backend.compileTarget(), flags);
}

std::string obtainArtifact(const rt::CommandLine &args, const ModelConfig &config, const std::string &configPath,
                           DType dtype, const rt::Backend &backend, bool quiet, std::string &description) {
  if (args.has("--artifact")) {
    description = "given with --artifact";
    return args.value("--artifact", "");
  }
  rt::ArtifactCache cache = artifactCache(args, backend);
  if (!quiet && !cache.isCached(config, dtype))
    std::cerr << "compiling the model of " << std::filesystem::path(configPath).parent_path().string()
              << " (cache miss) ..." << std::flush;
  rt::ArtifactCache::Artifact artifact = cache.getOrCompile(config, configPath, dtype);
  if (!quiet && !artifact.cacheHit)
    std::fprintf(stderr, " done in %.2f s\n", artifact.compileSeconds);
  char text[64];
  std::snprintf(text, sizeof text, "cache miss, compiled in %.2f s", artifact.compileSeconds);
  description = artifact.cacheHit ? "cache hit" : text;
  return artifact.path;
}

std::function<std::string()> diagnosticArtifact(const rt::CommandLine &args, const ModelConfig &config,
                                                const std::string &configPath, DType dtype, const rt::Backend &backend,
                                                bool quiet) {
  if (args.has("--artifact"))
    return {};
  // The decoder calls it later: everything it uses is copied but the
  // backend, which outlives the decoder.
  return [&backend, args, config, configPath, dtype, quiet] {
    if (!quiet)
      std::cerr << "\nnon-finite logits: compiling the diagnostic build (--check-finite) ...\n";
    return artifactCache(args, backend, true).getOrCompile(config, configPath, dtype).path;
  };
}

} // namespace ember::tools
