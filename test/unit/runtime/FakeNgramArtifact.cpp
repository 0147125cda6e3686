// A stand-in for a compiled n-gram artifact: records the arguments of its last
// call (so tests can check what the runner passes) and writes recognisable
// outputs: ids[t][i] = token(t) * 100 + i, embeddings[t][d] = float(t * 1000 + d).

#include "ember/runtime/MemRef.h"
#include "FakeNgramCall.h"

#include <cstdint>

using ember::rt::MemRefDescriptor;

extern "C" {

__attribute__((visibility("default"))) FakeNgramCall fake_ngram_last_call;

__attribute__((visibility("default"))) void
_mlir_ciface_ember_ngram_embed(MemRefDescriptor<int32_t, 1> *tokens, MemRefDescriptor<int32_t, 2> *tokenTable,
                               MemRefDescriptor<int32_t, 1> *slots, MemRefDescriptor<int32_t, 1> *positions,
                               MemRefDescriptor<void, 2> *wordEmbedding, MemRefDescriptor<void, 2> *ngramTables,
                               MemRefDescriptor<void, 3> *projections, MemRefDescriptor<int32_t, 2> *idsOut,
                               MemRefDescriptor<float, 2> *embeddingsOut) {
  fake_ngram_last_call = {*tokens,       *tokenTable, *slots,   *positions,   *wordEmbedding,
                          *ngramTables, *projections, *idsOut, *embeddingsOut};
  int64_t length = idsOut->sizes[0], tables = idsOut->sizes[1], hidden = embeddingsOut->sizes[1];
  for (int64_t t = 0; t < length; ++t) {
    const int32_t *row = tokenTable->aligned + tokenTable->offset + slots->aligned[t] * tokenTable->strides[0];
    for (int64_t i = 0; i < tables; ++i)
      idsOut->aligned[t * idsOut->strides[0] + i] = row[positions->aligned[t]] * 100 + int32_t(i);
    for (int64_t d = 0; d < hidden; ++d)
      embeddingsOut->aligned[t * embeddingsOut->strides[0] + d] = float(t * 1000 + d);
  }
}
}
