#include "ember/runtime/NgramArtifact.h"
#include "ember/runtime/ModelStamp.h"

namespace ember::rt {

static const std::string &stampedPath(const std::string &path, const ModelConfig &config, DType weights) {
  checkModelStamp(path, config, weights);
  return path;
}

NgramArtifact::NgramArtifact(const std::string &path, const ModelConfig &config, DType weights)
    : library_(stampedPath(path, config, weights)),
      embed_(reinterpret_cast<NgramEmbedFn>(library_.symbol(kNgramEmbedSymbol))) {}

} // namespace ember::rt
