#include "ember/runtime/NgramArtifact.h"

namespace ember::rt {

NgramArtifact::NgramArtifact(const std::string &path)
    : library_(path), embed_(reinterpret_cast<NgramEmbedFn>(library_.symbol(kNgramEmbedSymbol))) {}

} // namespace ember::rt
