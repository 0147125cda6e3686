// What the fake decoder (FakeDecoderArtifact.cpp) records from its last
// forward, step or mtp call, shared with the tests reading it.
#pragma once

#include "ember/runtime/MemRef.h"

#include <atomic>
#include <cstddef>
#include <cstdint>

struct FakeDecoderCall {
  const char *entry; // "forward", "step" or "mtp"
  int64_t slot, start, tokenCount; // slot and position of row 0; rows
  ember::rt::MemRefDescriptor<int32_t, 2> tokenTable;
  ember::rt::MemRefDescriptor<float, 4> kvCache; // the drafter's cache for "mtp"
  ember::rt::MemRefDescriptor<float, 2> logits, hidden;
  ember::rt::MemRefDescriptor<void, 2> lmHead;
};

// The entry point and stream of each call of the nvptx-marked fake, in call
// order (up to kCapacity calls).
struct FakeDecoderStreams {
  static constexpr size_t kCapacity = 256;
  struct Entry {
    const char *entry;
    void *stream;
  } entries[kCapacity];
  std::atomic<size_t> count{0};
  void record(const char *entry, void *stream) {
    size_t index = count++;
    if (index < kCapacity)
      entries[index] = {entry, stream};
  }
};

// The fake's stand-in for the model: the next token after position p of
// `sequence` (token table row) is
//   (sum of tokens before p + 3 * token at p-1 + token at p + p + round(bias)) mod V
// with bias = layer 0's e_score_correction_bias[0]. Logits are
// -((v - next) mod V), so `next` is the unique argmax.
inline int64_t fakeNextToken(const int32_t *sequence, int64_t p, float bias, int64_t vocab) {
  int64_t history = 0;
  for (int64_t q = 0; q < p; ++q)
    history += sequence[q];
  int64_t previous = p > 0 ? sequence[p - 1] : 0;
  int64_t next = (history + 3 * previous + sequence[p] + p + int64_t(bias >= 0 ? bias + 0.5f : bias - 0.5f)) % vocab;
  return next < 0 ? next + vocab : next;
}

// The fake drafter's guess for the token after position p: the target's,
// except one higher when p + 1 is a multiple of 3.
inline int64_t fakeDraftToken(const int32_t *sequence, int64_t p, float bias, int64_t vocab) {
  int64_t next = fakeNextToken(sequence, p, bias, vocab);
  return (p + 1) % 3 == 0 ? (next + 1) % vocab : next;
}
