#pragma once

#include "ember/runtime/DType.h"
#include "ember/runtime/MemRef.h"
#include "ember/runtime/Safetensors.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ember::rt {

// C-interface entry point of a compiled CPU n-gram embedding artifact.
// tokenTable int32 [slots, max_context]: the T prompt tokens sit at
// [slot, position .. position+T-1], earlier columns are real history;
// wordEmbedding [V, D]; ngramTables [sum M_i, D/E]; projections [E, D, D/E]
// (all in the dtype the artifact was compiled for); idsOut int32 [T, E]
// table-local ids; embeddingsOut float [T, D].
using NgramEmbedFn = void (*)(MemRefDescriptor<int32_t, 2> *tokenTable, int64_t slot, int64_t position,
                              MemRefDescriptor<void, 2> *wordEmbedding, MemRefDescriptor<void, 2> *ngramTables,
                              MemRefDescriptor<void, 3> *projections, MemRefDescriptor<int32_t, 2> *idsOut,
                              MemRefDescriptor<float, 2> *embeddingsOut);

inline constexpr char kNgramEmbedSymbol[] = "_mlir_ciface_ember_ngram_embed";

// A compiled shared library, dlopen'ed with RTLD_NOW | RTLD_LOCAL.
class NgramArtifact {
public:
  explicit NgramArtifact(const std::string &path);
  ~NgramArtifact();
  NgramArtifact(const NgramArtifact &) = delete;
  NgramArtifact &operator=(const NgramArtifact &) = delete;

  const std::string &path() const { return path_; }
  NgramEmbedFn embed() const { return embed_; }

private:
  std::string path_;
  void *handle_ = nullptr;
  NgramEmbedFn embed_ = nullptr;
};

// Several tensors of one dtype and identical trailing dimensions viewed as one
// buffer concatenated along dim 0. When they already lie back to back in the
// same mapped file (ember-synth writes them so) this is a view; otherwise the
// data is copied once into an owned buffer.
class ConcatenatedRows {
public:
  explicit ConcatenatedRows(const std::vector<const TensorView *> &parts);
  ConcatenatedRows(ConcatenatedRows &&) = default;
  ConcatenatedRows &operator=(ConcatenatedRows &&) = default;

  const std::byte *data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  DType dtype() const { return dtype_; }
  int64_t rows() const { return rows_; }             // sum of the parts' dim 0
  const Shape &rowShape() const { return rowShape_; } // the common trailing dims
  bool isZeroCopy() const { return zeroCopy_; }

private:
  const std::byte *data_ = nullptr;
  size_t nbytes_ = 0;
  DType dtype_ = DType::F32;
  int64_t rows_ = 0;
  Shape rowShape_;
  bool zeroCopy_ = false;
  std::vector<std::byte> owned_; // moving a vector keeps its buffer, so data_ stays valid
};

} // namespace ember::rt
