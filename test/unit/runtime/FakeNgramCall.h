// The arguments the fake artifact (FakeNgramArtifact.cpp) records from the
// last call of _mlir_ciface_ember_ngram_embed, shared with the test reading them.
#pragma once

#include "ember/runtime/MemRef.h"

#include <cstdint>

struct FakeNgramCall {
  ember::rt::MemRefDescriptor<int32_t, 1> tokens;
  ember::rt::MemRefDescriptor<int32_t, 2> tokenTable;
  ember::rt::MemRefDescriptor<int32_t, 1> slots, positions;
  ember::rt::MemRefDescriptor<void, 2> wordEmbedding, ngramTables;
  ember::rt::MemRefDescriptor<void, 3> projections;
  ember::rt::MemRefDescriptor<int32_t, 2> idsOut;
  ember::rt::MemRefDescriptor<float, 2> embeddingsOut;
};
