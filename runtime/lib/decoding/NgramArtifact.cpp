#include "ember/runtime/NgramArtifact.h"
#include "ember/runtime/ModelStamp.h"

namespace ember::rt {

NgramArtifact::NgramArtifact(const std::string &path)
    : library_(path), embed_(reinterpret_cast<NgramEmbedFn>(library_.symbol(kNgramEmbedSymbol))) {}

void NgramArtifact::checkModel(const ModelConfig &config, DType weights) const {
  checkModelStamp(library_, config, weights);
}

} // namespace ember::rt
