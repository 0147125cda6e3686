#pragma once

// Continuous batching: requests arrive at any time, take a free sequence
// slot when there is one, and from then on share every step with the
// sequences already running. A step is one ember_step over the rows of all
// of them: each decoding sequence's last token (and its prompt-lookup
// drafts), and the next chunk of each admitted prompt; the chunk after it
// is embedded meanwhile, on a second thread. A sequence leaves at
// EOS, a stop string or its token limit, and its slot takes the next
// queued request. Each request keeps its own generation options (sampling,
// seed, limits, speculation); the rows of a sequence never see another's,
// so what a request generates does not depend on what it shares steps with.

#include "ember/runtime/Generate.h"

#include <cstdint>
#include <deque>
#include <memory>
#include <utility>
#include <vector>

namespace ember::rt {

// A prompt is fed in chunks of the decoder's prefill chunk (0: the whole
// prompt in one step).
class Scheduler {
public:
  explicit Scheduler(Decoder &decoder);
  ~Scheduler();

  // Queues a request, which samples with options.sampling.seed; it is
  // admitted at the start of a step when a slot is free, in the order
  // submitted. Returns its id (0, 1, ... in submission order). Throws,
  // naming the limit, unless the prompt and the tokens to generate fit the
  // context and the options are valid.
  int64_t submit(std::vector<int32_t> prompt, const GenerationOptions &options);

  // Runs one step: admits queued requests into free slots, runs one
  // ember_step over every running sequence's rows (the sequences drafting
  // with MTP draft together, a drafter call per draft step, and are
  // verified together in one ember_forward), and retires the sequences
  // that finished. Returns false, doing nothing, when no request is queued
  // or running.
  bool step();

  // Drops a queued or running request (its client went away): its slot is
  // free for the next step, and it never appears in takeFinished. False
  // when no such request is queued or running.
  bool cancel(int64_t id);

  bool idle() const { return queued_.empty() && running_.empty(); }
  int64_t queued() const { return int64_t(queued_.size()); }
  int64_t steps() const { return steps_; }
  int64_t running() const { return int64_t(running_.size()); }
  // Tokens generated so far by every request.
  int64_t generatedTokens() const;
  // Requests that finished, in the order they finished: (id, generation).
  // firstTokenSeconds counts from the request's submission.
  std::vector<std::pair<int64_t, Generation>> takeFinished();

private:
  class Sequence;
  struct Part;
  // Prompt chunks whose embedding ran ahead, on a second thread during the
  // step before (the I/O scheduling of the n-gram gathers, which need
  // nothing but the tokens): by sequence id, in the order embedded.
  struct Ahead {
    std::vector<std::pair<int64_t, StepRows>> rows;
    std::vector<float> embeddings; // [rows, D], once taken from the queue
  };
  void admit();
  // The step's call over `parts` (their rows concatenated in `rows`).
  DecoderOutput run(const std::vector<Part> &parts, const StepRows &rows, const Ahead &last);
  void speculateWithMtp(const std::vector<Sequence *> &sequences);

  Decoder &decoder_;
  std::unique_ptr<EmbeddingQueue> aheadQueue_;
  Ahead ahead_; // pushed to aheadQueue_, embeddings not taken yet
  std::deque<std::unique_ptr<Sequence>> queued_;
  std::vector<std::unique_ptr<Sequence>> running_;
  std::vector<bool> slotBusy_;
  std::vector<std::pair<int64_t, Generation>> finished_;
  int64_t submitted_ = 0, steps_ = 0, finishedTokens_ = 0;
};

} // namespace ember::rt
