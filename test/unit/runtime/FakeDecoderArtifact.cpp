// A stand-in for the compiled decoder (ember_prefill_packed /
// ember_step_packed, arguments as in ModelAbi.h). It writes each token into
// the token table and a latent row [token, position, ...] into every KV cache
// sublayer, then derives the logits from what the table and the cache hold
// at earlier positions (FakeDecoderCall.h), so a wrong slot, position or
// history shows up in the chosen tokens. An inconsistent call (cache row at
// the wrong position, misplaced weights) gives NaN logits.

#include "FakeDecoderCall.h"

#include <cmath>
#include <vector>

using ember::rt::MemRefDescriptor;

extern "C" {
__attribute__((visibility("default"))) FakeDecoderCall fake_decoder_last_call;
}

namespace {

template <typename T, int Rank> MemRefDescriptor<T, Rank> &arg(void **args, int index) {
  return *static_cast<MemRefDescriptor<T, Rank> *>(args[index]);
}

int64_t &indexArg(void **args, int index) { return *static_cast<int64_t *>(args[index]); }

void run(void **args, bool isStep) {
  int next = 0;
  auto &tokens = arg<int32_t, 1>(args, next++);
  int64_t slot = indexArg(args, next++);
  int64_t start = isStep ? indexArg(args, next++) : 0;
  auto &table = arg<int32_t, 2>(args, next++);
  auto &kv = arg<float, 4>(args, next++);
  auto &logits = arg<float, 2>(args, next++);
  auto &hidden = arg<float, 2>(args, next++);
  void **weights = args + next;
  int64_t sublayers = kv.sizes[0], layers = sublayers / 2, vocab = logits.sizes[1], width = hidden.sizes[1];
  // Weight order of modelWeights(): 3 embedding arguments, then per layer
  // 24 sublayer weights, the router classifier and its f32 bias, 3 experts.
  auto &bias = arg<float, 1>(weights, 3 + 25);
  auto &wordEmbedding = arg<void, 2>(weights, 0);
  auto &lmHead = arg<void, 2>(weights, 3 + 29 * layers + 1);
  fake_decoder_last_call = {isStep, slot, start, tokens.sizes[0], table, kv, logits, hidden, wordEmbedding, lmHead};
  bool consistent = lmHead.sizes[0] == vocab && lmHead.sizes[1] == width && wordEmbedding.sizes[0] == vocab &&
                    wordEmbedding.sizes[1] == width;

  int32_t *row = table.aligned + slot * table.strides[0];
  auto latent = [&](int64_t sublayer, int64_t position) {
    return kv.aligned + sublayer * kv.strides[0] + slot * kv.strides[1] + position * kv.strides[2];
  };
  for (int64_t t = 0; t < tokens.sizes[0]; ++t) {
    int64_t p = start + t;
    row[p] = tokens.aligned[t];
    for (int64_t s = 0; s < sublayers; ++s) {
      latent(s, p)[0] = float(tokens.aligned[t]);
      latent(s, p)[1] = float(p);
    }
    // The history comes from the last sublayer's cache; the table must agree.
    std::vector<int32_t> sequence(size_t(p + 1));
    for (int64_t q = 0; q <= p; ++q) {
      sequence[size_t(q)] = int32_t(latent(sublayers - 1, q)[0]);
      consistent = consistent && latent(sublayers - 1, q)[1] == float(q) && sequence[size_t(q)] == row[q];
    }
    int64_t target = fakeNextToken(sequence.data(), p, bias.aligned[0], vocab);
    for (int64_t v = 0; v < vocab; ++v)
      logits.aligned[t * logits.strides[0] + v] = consistent ? -float((v - target + vocab) % vocab) : NAN;
    for (int64_t d = 0; d < width; ++d)
      hidden.aligned[t * hidden.strides[0] + d] = float(tokens.aligned[t] * 1000 + d);
  }
}

} // namespace

extern "C" {
__attribute__((visibility("default"))) void ember_prefill_packed(void **args) { run(args, false); }
__attribute__((visibility("default"))) void ember_step_packed(void **args) { run(args, true); }
}
