#pragma once

#include "ember/runtime/ConcatenatedRows.h"
#include "ember/model/Config.h"
#include "ember/model/DType.h"
#include "ember/runtime/MemRef.h"
#include "ember/runtime/SharedLibrary.h"

#include <cstdint>
#include <string>

namespace ember::rt {

// C-interface entry point of a compiled CPU n-gram embedding artifact.
// tokens int32 [T]; tokenTable int32 [slots, max_context] holding tokens[t]
// at [slots[t], positions[t]] (slots, positions int32 [T]), earlier columns
// of a row being real history; wordEmbedding [V, D]; ngramTables
// [sum M_i, D/E]; projections [E, D, D/E] (all in the dtype the artifact was
// compiled for); idsOut int32 [T, E] table-local ids; embeddingsOut float
// [T, D].
using NgramEmbedFn = void (*)(MemRefDescriptor<int32_t, 1> *tokens, MemRefDescriptor<int32_t, 2> *tokenTable,
                              MemRefDescriptor<int32_t, 1> *slots, MemRefDescriptor<int32_t, 1> *positions,
                              MemRefDescriptor<void, 2> *wordEmbedding, MemRefDescriptor<void, 2> *ngramTables,
                              MemRefDescriptor<void, 3> *projections, MemRefDescriptor<int32_t, 2> *idsOut,
                              MemRefDescriptor<float, 2> *embeddingsOut);

inline constexpr char kNgramEmbedSymbol[] = "_mlir_ciface_ember_ngram_embed";

// The n-gram embedding entry point of a compiled artifact, opened once its
// stamp says it was compiled for this model (ModelStamp.h).
class NgramArtifact {
public:
  NgramArtifact(const std::string &path, const ModelConfig &config, DType weights);

  const std::string &path() const { return library_.path(); }
  NgramEmbedFn embed() const { return embed_; }

private:
  SharedLibrary library_;
  NgramEmbedFn embed_;
};

} // namespace ember::rt
