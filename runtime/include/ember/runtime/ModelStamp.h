#pragma once

#include "ember/model/Config.h"
#include "ember/model/DType.h"

#include <string>

namespace ember::rt {

// What an artifact was compiled for: ember-compile exports it as
// `const char ember_model_stamp[]`, and the runtime refuses an artifact whose
// stamp is not the model's before it calls anything in it. Another config's
// artifact computes silently wrong tokens; another weight dtype's reads the
// weights at the wrong width (zeros, or a SIGSEGV).
inline constexpr char kModelStampSymbol[] = "ember_model_stamp";
// What test doubles that compute from whatever they are given export.
inline constexpr char kAnyModelStamp[] = "any model (test double)";

// "ember ABI <kAbiVersion>, config <hash of config.json's fields> (vocab V,
// hidden D, L layers), weights <dtype>".
std::string modelStamp(const ModelConfig &config, DType weights);

// Throws, naming the artifact and both stamps, unless the artifact file at
// `path` carries modelStamp(config, weights) (or kAnyModelStamp). It reads
// the stamp from the file, before anything of it is loaded or run (an nvptx
// artifact's constructors load its kernels at dlopen).
void checkModelStamp(const std::string &path, const ModelConfig &config, DType weights);

} // namespace ember::rt
