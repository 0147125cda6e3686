// A stand-in for the compiled decoder (the ember_*_packed entry points,
// arguments as in ModelAbi.h).
// Every row carries its own slot and position, as in the real ABI.
// - embed writes each token into the token table and returns the embedding
//   row [token, position, 0...].
// - forward writes every row's latent row [token, position, ...] into every
//   KV cache sublayer, then derives each row's logits from what the table
//   and the cache hold at its sequence's earlier positions
//   (FakeDecoderCall.h), so a wrong slot, position or history shows up in
//   the chosen tokens. step is embed then forward.
// - mtp (the drafter) checks its hidden input against its own cache, then
//   proposes the target's next token, deliberately wrong at some positions
//   (fakeDraftToken), so speculation sees rejections. Like the real one it
//   never reads the token table, which embed may be writing meanwhile.
// An inconsistent call (stale table or cache, misplaced rows or weights)
// gives NaN logits. The real forward and mtp never read the token table;
// the fake remembers the one embed last wrote to check against it.
//
// Built with EMBER_FAKE_NVPTX_DECODER, it is marked as an nvptx artifact
// for the CUDA backend on the fake device (FakeCudaDevice.cpp), whose memory
// is host memory. Each entry point then takes its stream from the runtime
// as compiled host code does (mgpuStreamCreate, mgpuStreamSynchronize at the
// end) and records it in fake_decoder_streams.

#include "FakeDecoderCall.h"

#include <cmath>
#include <vector>

using ember::rt::MemRefDescriptor;

extern "C" {
// It computes from whatever it is given, so it serves every model
// (kAnyModelStamp): the runtime's stamp check is tested on artifacts
// ember-compile writes.
__attribute__((visibility("default"))) extern const char ember_model_stamp[] = "any model (test double)";
__attribute__((visibility("default"))) FakeDecoderCall fake_decoder_last_call;
// Drafter rows that found the table, their hidden input or the drafter's
// cache inconsistent (their logits are NaN).
__attribute__((visibility("default"))) int64_t fake_drafter_inconsistent_rows = 0;
// Calls of ember_mtp so far: sequences drafting together share them.
__attribute__((visibility("default"))) int64_t fake_drafter_calls = 0;
// Rows ember_embed embedded (ember_step's own embedding not counted).
__attribute__((visibility("default"))) int64_t fake_embedded_rows = 0;

#ifdef EMBER_FAKE_NVPTX_DECODER
void *mgpuStreamCreate();
void mgpuStreamSynchronize(void *stream);
__attribute__((visibility("default"))) extern const char ember_nvptx_kernels[] =
    "sm_90 ptx"; // the fake device is sm_90
__attribute__((visibility("default"))) FakeDecoderStreams fake_decoder_streams;
#endif
}

namespace {

// Runs around every entry point (nothing for the CPU build).
struct EntryStream {
#ifdef EMBER_FAKE_NVPTX_DECODER
  explicit EntryStream(const char *entry) : stream(mgpuStreamCreate()) { fake_decoder_streams.record(entry, stream); }
  ~EntryStream() { mgpuStreamSynchronize(stream); }
  void *stream;
#else
  explicit EntryStream(const char *) {}
#endif
};

MemRefDescriptor<int32_t, 2> lastTable; // as embed last saw it
float targetBias = 0;                  // layer 0's router bias[0], as forward last saw it

template <typename T, int Rank> MemRefDescriptor<T, Rank> &arg(void **args, int index) {
  return *static_cast<MemRefDescriptor<T, Rank> *>(args[index]);
}

// The rows' coordinates: arguments `index` (slots) and `index + 1`
// (positions).
struct Rows {
  Rows(void **args, int index) : slots(arg<int32_t, 1>(args, index)), positions(arg<int32_t, 1>(args, index + 1)) {}
  int64_t count() const { return positions.sizes[0]; }
  int64_t slot(int64_t t) const { return slots.aligned[slots.offset + t * slots.strides[0]]; }
  int64_t position(int64_t t) const { return positions.aligned[positions.offset + t * positions.strides[0]]; }
  MemRefDescriptor<int32_t, 1> &slots, &positions;
};

int32_t *tableRow(int64_t slot) { return lastTable.aligned + slot * lastTable.strides[0]; }

float *cacheRow(const MemRefDescriptor<float, 4> &cache, int64_t sublayer, int64_t slot, int64_t position) {
  return cache.aligned + sublayer * cache.strides[0] + slot * cache.strides[1] + position * cache.strides[2];
}

int64_t hiddenToken(const MemRefDescriptor<float, 2> &hidden, int64_t row) {
  return std::lround(hidden.aligned[row * hidden.strides[0]] / 1000);
}

void writeLogits(MemRefDescriptor<float, 2> &logits, int64_t row, int64_t target, bool consistent) {
  int64_t vocab = logits.sizes[1];
  for (int64_t v = 0; v < vocab; ++v)
    logits.aligned[row * logits.strides[0] + v] = consistent ? -float((v - target + vocab) % vocab) : NAN;
}

void writeHidden(MemRefDescriptor<float, 2> &hidden, int64_t row, int64_t token) {
  for (int64_t d = 0; d < hidden.sizes[1]; ++d)
    hidden.aligned[row * hidden.strides[0] + d] = float(token * 1000 + d);
}

void embed(const MemRefDescriptor<int32_t, 1> &tokens, const Rows &rows, const MemRefDescriptor<int32_t, 2> &table,
           MemRefDescriptor<float, 2> &embeddings) {
  lastTable = table;
  for (int64_t t = 0; t < tokens.sizes[0]; ++t) {
    tableRow(rows.slot(t))[rows.position(t)] = tokens.aligned[t];
    float *row = embeddings.aligned + t * embeddings.strides[0];
    for (int64_t d = 0; d < embeddings.sizes[1]; ++d)
      row[d] = d == 0 ? float(tokens.aligned[t]) : d == 1 ? float(rows.position(t)) : 0.0f;
  }
}

// `layerWeights`: modelWeights() from the first layer's on (per layer 24
// sublayer weights, the router classifier and its f32 bias, 3 experts; then
// the final norm and lm_head).
void forward(const MemRefDescriptor<float, 2> &embeddings, const Rows &rows, const MemRefDescriptor<float, 4> &kv,
             MemRefDescriptor<float, 2> &logits, MemRefDescriptor<float, 2> &hidden, void **layerWeights) {
  int64_t sublayers = kv.sizes[0], layers = sublayers / 2, vocab = logits.sizes[1], width = hidden.sizes[1];
  targetBias = arg<float, 1>(layerWeights, 25).aligned[0];
  auto &lmHead = arg<void, 2>(layerWeights, 29 * layers + 1);
  fake_decoder_last_call = {"forward", rows.slot(0), rows.position(0), embeddings.sizes[0], lastTable, kv, logits,
                            hidden,    lmHead};
  bool allConsistent = lmHead.sizes[0] == vocab && lmHead.sizes[1] == width && embeddings.sizes[1] == width &&
                       rows.count() == embeddings.sizes[0];
  // Every row's latents first, as the real forward writes them before
  // attending.
  for (int64_t t = 0; t < embeddings.sizes[0]; ++t)
    for (int64_t s = 0; s < sublayers; ++s) {
      cacheRow(kv, s, rows.slot(t), rows.position(t))[0] = embeddings.aligned[t * embeddings.strides[0]];
      cacheRow(kv, s, rows.slot(t), rows.position(t))[1] = float(rows.position(t));
    }
  for (int64_t t = 0; t < embeddings.sizes[0]; ++t) {
    int64_t slot = rows.slot(t), p = rows.position(t);
    const int32_t *row = tableRow(slot);
    const float *embedding = embeddings.aligned + t * embeddings.strides[0];
    bool consistent = allConsistent && embedding[1] == float(p);
    // The history comes from the last sublayer's cache; the table must agree.
    std::vector<int32_t> sequence(size_t(p + 1));
    for (int64_t q = 0; q <= p; ++q) {
      sequence[size_t(q)] = int32_t(cacheRow(kv, sublayers - 1, slot, q)[0]);
      consistent = consistent && cacheRow(kv, sublayers - 1, slot, q)[1] == float(q) && sequence[size_t(q)] == row[q];
    }
    writeLogits(logits, t, fakeNextToken(sequence.data(), p, targetBias, vocab), consistent);
    writeHidden(hidden, t, sequence[size_t(p)]);
  }
}

// Row t at position i = start + t pairs the hidden state of position i
// (which encodes token i) with token i + 1 and proposes token i + 2. Its
// cache row i keeps [token i + 1, i, token i]; rows [0, i] must be those of
// positions 0..i, each row's token i the token i + 1 of the row before:
// the drafter's history, from which it drafts.
void mtp(void **args) {
  auto &tokens = arg<int32_t, 1>(args, 0);
  Rows rows(args, 1);
  auto &hiddenIn = arg<float, 2>(args, 3);
  auto &cache = arg<float, 4>(args, 4);
  auto &logits = arg<float, 2>(args, 5);
  auto &hiddenOut = arg<float, 2>(args, 6);
  auto &lmHead = arg<void, 2>(args, 7 + 17);
  fake_decoder_last_call = {"mtp", rows.slot(0), rows.position(0), tokens.sizes[0], {}, cache, logits, hiddenOut,
                            lmHead};
  ++fake_drafter_calls;
  for (int64_t t = 0; t < tokens.sizes[0]; ++t) {
    float *own = cacheRow(cache, 0, rows.slot(t), rows.position(t));
    own[0] = float(tokens.aligned[t]);
    own[1] = float(rows.position(t));
    own[2] = float(hiddenToken(hiddenIn, t));
  }
  for (int64_t t = 0; t < tokens.sizes[0]; ++t) {
    int64_t slot = rows.slot(t), i = rows.position(t);
    bool consistent = lmHead.sizes[0] == logits.sizes[1];
    std::vector<int32_t> sequence(size_t(i + 2));
    for (int64_t q = 0; q <= i; ++q) {
      const float *row = cacheRow(cache, 0, slot, q);
      consistent = consistent && row[1] == float(q) && (q == 0 || row[2] == cacheRow(cache, 0, slot, q - 1)[0]);
      sequence[size_t(q)] = int32_t(row[2]);
    }
    sequence[size_t(i + 1)] = tokens.aligned[t];
    fake_drafter_inconsistent_rows += consistent ? 0 : 1;
    writeLogits(logits, t, fakeDraftToken(sequence.data(), i + 1, targetBias, logits.sizes[1]), consistent);
    writeHidden(hiddenOut, t, tokens.aligned[t]);
  }
}

} // namespace

extern "C" {
__attribute__((visibility("default"))) void ember_embed_packed(void **args) {
  EntryStream stream("embed");
  fake_embedded_rows += arg<int32_t, 1>(args, 0).sizes[0];
  embed(arg<int32_t, 1>(args, 0), Rows(args, 1), arg<int32_t, 2>(args, 3), arg<float, 2>(args, 4));
}

__attribute__((visibility("default"))) void ember_forward_packed(void **args) {
  EntryStream stream("forward");
  forward(arg<float, 2>(args, 0), Rows(args, 1), arg<float, 4>(args, 3), arg<float, 2>(args, 4),
          arg<float, 2>(args, 5), args + 6);
}

__attribute__((visibility("default"))) void ember_step_packed(void **args) {
  EntryStream stream("step");
  auto &tokens = arg<int32_t, 1>(args, 0);
  auto &hidden = arg<float, 2>(args, 6);
  Rows rows(args, 1);
  std::vector<float> values(size_t(tokens.sizes[0] * hidden.sizes[1]));
  auto embeddings = ember::rt::rowMajorMemRef<float, 2>(values.data(), {tokens.sizes[0], hidden.sizes[1]});
  embed(tokens, rows, arg<int32_t, 2>(args, 3), embeddings);
  forward(embeddings, rows, arg<float, 4>(args, 4), arg<float, 2>(args, 5), hidden, args + 7 + 3);
  fake_decoder_last_call.entry = "step";
}

__attribute__((visibility("default"))) void ember_mtp_packed(void **args) {
  EntryStream stream("mtp");
  mtp(args);
}
}
