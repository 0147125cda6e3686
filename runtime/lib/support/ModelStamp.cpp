#include "ember/runtime/ModelStamp.h"

#include "ember/runtime/ArtifactCache.h"
#include "ember/model/Error.h"
#include "ember/runtime/Hash.h"
#include "ember/model/ModelAbi.h"
#include "ember/runtime/SharedLibrary.h"

namespace ember::rt {

std::string modelStamp(const ModelConfig &config, DType weights) {
  return "ember ABI " + std::to_string(kAbiVersion) + ", config " + fnv1a64Hex(configCacheText(config)) + " (vocab " +
         std::to_string(config.vocabSize) + ", hidden " + std::to_string(config.hiddenSize) + ", " +
         std::to_string(config.numLayers) + " layers), weights " + dtypeLowerName(weights);
}

void checkModelStamp(const std::string &path, const ModelConfig &config, DType weights) {
  // A missing or non-ELF file gets dlopen's message when it is opened.
  if (!isElf64File(path))
    return;
  checkElfComplete(path);
  std::string expected = modelStamp(config, weights);
  std::optional<std::string> stamp = readExportedString(path, kModelStampSymbol);
  if (!stamp)
    throw Error(path + ": the artifact carries no " + kModelStampSymbol +
                " (an ember-compile from before artifacts were stamped?); compile it again for " + expected);
  if (*stamp == kAnyModelStamp)
    return;
  if (!checkArtifactSeal(path))
    throw Error(path + ": the artifact is not sealed (bytes were appended to it, or an ember-compile " +
                "from before artifacts were sealed wrote it); compile it again for " + expected);
  if (expected != *stamp)
    throw Error(path + ": the artifact was compiled for " + *stamp + ", but the model is " + expected + " (" +
                config.path + ")");
}

} // namespace ember::rt
