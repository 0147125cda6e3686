#pragma once

#include "ember/runtime/Backend.h"
#include "ember/model/Config.h"
#include "ember/runtime/ModelWeights.h"
#include "ember/runtime/PackedArgs.h"

#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace ember::rt {

// The decoder entry points of a compiled artifact (`<name>_packed`, arguments
// as ModelAbi.h lists them), opened by a backend once its stamp says it was
// compiled for this model (ModelStamp.h).
class DecoderArtifact {
public:
  DecoderArtifact(Backend &backend, const std::string &path, const ModelConfig &config, DType weights);

  const std::string &path() const { return library_->path(); }
  PackedFn step, embed, forward, mtp;

private:
  std::unique_ptr<SharedLibrary> library_;
};

inline constexpr int64_t kDefaultMaxContext = 4096;

// Positions a sequence may use: min(max_position_embeddings, maxContext).
int64_t contextLimit(const ModelConfig &config, int64_t maxContext);
// Throws unless a prompt of `promptTokens` plus `maxNewTokens` generated ones
// fits the context (the last generated token is never fed back, so it needs
// no position): "prompt of 5000 tokens exceeds the context limit of 4096
// (max_position_embeddings ..., --max-context ...)".
void checkFitsContext(const ModelConfig &config, int64_t maxContext, int64_t promptTokens, int64_t maxNewTokens);

// Bytes of per-sequence state (token table, latent KV cache, and the MTP
// drafter's cache when `drafter`) for `slots` sequences of the context
// limit. Throws, naming --batch and the sizes, when the product exceeds
// 64 bits or `capacity` (the backend's memory; 0: unknown, unchecked).
uint64_t sequenceStateBytes(const ModelConfig &config, int64_t maxContext, int64_t slots, bool drafter,
                            uint64_t capacity);

// The rows of one decoder call: row t is token tokens[t] of the sequence in
// slot slots[t], at position positions[t]. Rows of several sequences may
// share a call (a batched decode step, a prefill chunk next to decode rows);
// a sequence's rows in one call see each other causally.
struct StepRows {
  std::vector<int32_t> tokens, slots, positions;

  // Appends `run` as the rows of `slot` at positions [start, start + size).
  void append(int64_t slot, const std::vector<int32_t> &run, int64_t start);
  // Appends the rows of `other`, in order.
  void append(const StepRows &other);
  size_t size() const { return tokens.size(); }
  // The rows of one sequence: `run` at positions [start, start + size).
  static StepRows of(int64_t slot, const std::vector<int32_t> &run, int64_t start);
};

struct DecoderOutput {
  std::vector<float> logits; // [T, V]
  std::vector<float> hidden; // [T, D]: final (post-norm) hidden state
};

struct DecoderOptions {
  int64_t maxContext = kDefaultMaxContext;
  int64_t slots = 1; // sequences held at once
  // Tokens per prefill call; 0 prefills the whole prompt in one call.
  int64_t prefillChunk = 0;
  // Where the gathered weights (AbiWeight::gathered: word embeddings and
  // n-gram tables) live; the rest is device memory. On the CPU both are
  // host memory, and weights already mapped from the checkpoint stay there.
  Placement tables = Placement::Host;
  // The path of the same model built with ember-compile --check-finite
  // (compiled when first asked for), for findFirstNonFinite; empty: none.
  std::function<std::string()> checkedArtifact;
  // On CUDA, calls of up to kMaxRepeatedRows rows run as CUDA graphs from
  // their second time on (ArtifactCalls); false launches every kernel from
  // the host.
  bool cudaGraphs = true;
};

// Calls of up to this many rows (decode steps, speculative verifies, small
// batches) keep their staging buffers for the next call of the same entry
// point and row count, which is what lets the CUDA backend replay them.
inline constexpr int64_t kMaxRepeatedRows = 128;

// The device buffers of a call's staged inputs and outputs, in order, kept
// for the next call of the same entry point with as many rows (at most
// kMaxRepeatedRows).
struct CallStaging {
  std::mutex mutex;
  std::map<std::pair<PackedFn, int64_t>, std::vector<DeviceBuffer>> idle;
};

// The compiled decoder with per-slot state in backend memory: the N-gram
// token table int32 [slots, context], the latent KV cache f32
// [2L, slots, context, kv_lora + rope] and, with MTP weights, the drafter's
// cache f32 [1, slots, context, kv_lora + rope]. Going back to an earlier
// position needs no undo: the next call there overwrites the table and the
// caches before attending, and attention never reads later positions.
// `weights` and `mtpWeights` must outlive the decoder.
class Decoder {
public:
  Decoder(const ModelConfig &config, const ModelWeights &weights, const std::string &artifactPath, Backend &backend,
          const DecoderOptions &options = {}, const ModelWeights *mtpWeights = nullptr);

  // `tokens` at positions [start, start + T) of `slot`; earlier positions are
  // history. prefill is step, in chunks of prefillChunk tokens when that is
  // set: the next chunk's embedding (n-gram ids and gathers, which need
  // nothing but the tokens) then runs on a second thread (an EmbeddingQueue)
  // while the current chunk's layers run. The result is the same as one
  // call's.
  DecoderOutput prefill(int64_t slot, const std::vector<int32_t> &tokens, int64_t start = 0);
  DecoderOutput step(int64_t slot, const std::vector<int32_t> &tokens, int64_t start);
  // One call over rows of any sequences (the batched step): the weights are
  // read once for all rows. Throws, naming the row, for a slot, position or
  // token out of range or a (slot, position) given twice.
  DecoderOutput step(const StepRows &rows);
  // step in two halves: embed writes the tokens into the token table and
  // returns their n-gram embeddings [T, D]; forward runs the layers on them
  // (rows.tokens is not read).
  std::vector<float> embed(const StepRows &rows);
  DecoderOutput forward(const StepRows &rows, const std::vector<float> &embeddings);
  // The MTP drafter (needs mtpWeights): row t combines tokens[t] with
  // hiddenIn[t], the hidden state of the position before positions[t].
  DecoderOutput draft(const StepRows &rows, const std::vector<float> &hiddenIn);

  // Runs `tokens` (a slot's whole history, positions [0, T)) again with the
  // diagnostic build and names the first op output that held NaN or Inf
  // (FiniteChecks.h), or says that none did; nullopt without a diagnostic
  // build. The run rewrites the slot's table and cache rows with the same
  // values.
  std::optional<std::string> findFirstNonFinite(int64_t slot, const std::vector<int32_t> &tokens);

  // Bytes of weights by where they are: views of the mapped checkpoint (CPU)
  // and buffers of each placement.
  struct WeightBytes {
    size_t mapped = 0, device = 0, host = 0;
  };
  const WeightBytes &weightBytes() const { return weightBytes_; }

  // How many calls ran as CUDA graphs (none on the CPU).
  GraphCounts graphCounts() const { return calls_->graphCounts(); }
  void setCudaGraphs(bool on) { calls_->setGraphs(on); }
  bool hasDrafter() const { return mtpWeights_.has_value(); }
  const ModelConfig &config() const { return config_; }
  Backend &backend() const { return backend_; }
  int64_t context() const { return context_; }
  int64_t maxContext() const { return maxContext_; }
  int64_t slots() const { return slots_; }
  int64_t prefillChunk() const { return prefillChunk_; }

private:
  // Weight arguments in backend memory (views of host buffers on the CPU).
  struct BoundWeights {
    PackedArgs args;
    std::vector<DeviceBuffer> uploads;
  };
  BoundWeights bind(const std::vector<ModelWeights::Weight> &weights, size_t begin, size_t end);
  // What bind placed, by the checkpoint tensors a weight is made of: the
  // drafter shares the target's word embedding and lm_head.
  std::map<std::string, const void *> boundByPieces_;
  // Throws, naming the row, unless every row's slot and position are in
  // range and distinct (and, when the call reads them, its token).
  void checkRows(const StepRows &rows, const char *what, bool readsTokens) const;
  DecoderOutput runStep(PackedFn function, const StepRows &rows, bool repeats = true);

  ModelConfig config_;
  Backend &backend_;
  DecoderArtifact artifact_;
  std::unique_ptr<ArtifactCalls> calls_; // destroyed before the artifact
  std::unique_ptr<CallStaging> staging_ = std::make_unique<CallStaging>(); // a pointer: Decoder moves
  DType weightsDType_;
  std::function<std::string()> checkedArtifact_;
  int64_t maxContext_, context_, slots_, prefillChunk_;
  Placement tables_;
  WeightBytes weightBytes_;
  DeviceBuffer tokenTable_, kvCache_, mtpCache_;
  BoundWeights embeddingWeights_, layerWeights_;
  PackedArgs allWeights_; // embeddingWeights_ then layerWeights_
  std::optional<BoundWeights> mtpWeights_;
};

// Decoder::embed calls run on other threads (on CUDA, other streams) while
// the caller goes on: the I/O scheduling of the n-gram gathers, which need
// nothing but the tokens. The real ember_forward and ember_mtp never read the
// token table, so they may run meanwhile. The calls run one after another in
// the order pushed, since each reads the table rows the ones before wrote.
// Destroying the queue waits for the calls still running.
class EmbeddingQueue {
public:
  explicit EmbeddingQueue(Decoder &decoder) : decoder_(decoder) {}
  // Starts embedding `rows` (of any slots).
  void push(StepRows rows);
  // The oldest pushed call's embeddings [T, D], once it is done; rethrows
  // its error.
  std::vector<float> pop();
  bool empty() const { return pending_.empty(); }

private:
  Decoder &decoder_;
  std::deque<std::shared_future<std::vector<float>>> pending_; // last: its destructor waits
};

// Index of the largest of `count` values, the lowest one on ties.
int32_t greedyToken(const float *logits, int64_t count);

} // namespace ember::rt
