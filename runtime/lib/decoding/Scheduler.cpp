//===- Scheduler.cpp - continuous batching over the decoder ---------------===//
#include "ember/runtime/Scheduler.h"

#include "ember/model/Error.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <utility>

namespace ember::rt {

// One request's progress: queued, then in a slot its prompt fed in chunks,
// then decoding. The last generated token (`context.back()`, at position
// `context.size() - 1`) has not been fed to the target yet. It samples
// with its options' seed.
class Scheduler::Sequence {
public:
  Sequence(Decoder &decoder, const GenerationOptions &options, int64_t id, std::vector<int32_t> prompt)
      : decoder_(decoder), options_(options), config_(decoder.config()), id_(id), context_(std::move(prompt)),
        rng_(options.sampling.seed), submitted_(std::chrono::steady_clock::now()) {
    result_.promptTokens = int64_t(context_.size());
  }

  int64_t id() const { return id_; }
  int64_t slot() const { return result_.slot; }
  void admit(int64_t slot) { result_.slot = slot; }
  bool done() const { return done_; }
  Generation take() { return std::move(result_); }
  int64_t generated() const { return int64_t(result_.tokens.size()); }
  bool usesMtp() const { return options_.drafter == DrafterKind::Mtp; }

  bool prefilling() const { return prefilled_ < result_.promptTokens; }
  // The prompt's next rows after `skip` more: at most `chunk` tokens (0:
  // the rest); none when the prompt ends before.
  StepRows promptRows(int64_t chunk, int64_t skip = 0) const {
    int64_t begin = std::min(result_.promptTokens, prefilled_ + skip);
    int64_t end = chunk > 0 ? std::min(result_.promptTokens, begin + chunk) : result_.promptTokens;
    return StepRows::of(result_.slot, {context_.begin() + begin, context_.begin() + end}, begin);
  }
  // The rest of the prompt in calls of its own (Decoder::prefill: in chunks,
  // the next chunk's n-gram embedding overlapping this one's layers).
  void prefillAlone() {
    std::vector<int32_t> rest(context_.begin() + prefilled_, context_.begin() + result_.promptTokens);
    takePromptRows(decoder_.prefill(result_.slot, rest, prefilled_));
  }
  // The target's rows for the prompt rows given last (promptRows or
  // prefillAlone); the last of them yields the first token.
  void takePromptRows(const DecoderOutput &output) {
    auto rows = int64_t(output.logits.size()) / config_.vocabSize;
    result_.prefillLogits.insert(result_.prefillLogits.end(), output.logits.begin(), output.logits.end());
    if (usesMtp())
      mtpHidden_.insert(mtpHidden_.end(), output.hidden.begin(), output.hidden.end());
    prefilled_ += rows;
    if (!prefilling())
      finishPrefill();
  }

  // The rows of this sequence's next decode step: its last token at its
  // position, then the prompt-lookup drafts (when speculating with them).
  StepRows nextRows() const {
    int64_t position = int64_t(context_.size()) - 1;
    std::vector<int32_t> tokens{context_.back()};
    if (options_.drafter == DrafterKind::Ngram) {
      std::vector<int32_t> drafts = promptLookupDraft(context_, draftRoom(position));
      tokens.insert(tokens.end(), drafts.begin(), drafts.end());
    }
    return StepRows::of(result_.slot, tokens, position);
  }

  // Takes the target's rows for nextRows() (output.logits holds exactly
  // them): the token they yield, and the drafts they accept.
  void advance(const StepRows &rows, const DecoderOutput &output) {
    verify({rows.tokens.begin() + 1, rows.tokens.end()}, {}, output);
  }

  // MTP drafting (docs/design.md §3) for a decode step, in phases that
  // Scheduler::speculateWithMtp runs over every such sequence at once: the
  // drafter's catch-up rows (the target's hidden states of the tokens
  // accepted last time), a draft drawn from its last row, then one drafter
  // row per further draft (the previous draft with the drafter's own hidden
  // state), and last the target's verification of all drafts. Each draft's
  // n-gram embedding starts as soon as it is drawn (EmbeddingQueue), and
  // verification reuses them (paper 4.2).
  bool drafting() const { return usesMtp() && !prefilling() && draftRoom(position()) > 0; }
  StepRows catchUpRows() const { return StepRows::of(result_.slot, mtpTokens_, mtpStart_); }
  const std::vector<float> &catchUpHidden() const { return mtpHidden_; }
  // The last token's row, whose embedding verification starts with.
  StepRows lastTokenRow() const { return StepRows::of(result_.slot, {context_.back()}, position()); }
  // Draws a draft from the drafter's last row of `draft` (this sequence's
  // rows); true while more drafts are wanted.
  bool propose(const DecoderOutput &draft) {
    int64_t width = config_.hiddenSize, row = int64_t(draft.hidden.size()) / width - 1;
    proposals_.push_back(distribution(draft.logits, row, drafts_, "drafter"));
    drafts_.push_back(drawToken(proposals_.back(), rng_));
    draftHidden_.assign(draft.hidden.begin() + row * width, draft.hidden.end());
    return int64_t(drafts_.size()) < draftRoom(position()) && (options_.ignoreEos || !config_.isEos(drafts_.back()));
  }
  // The newest draft's row: for its embedding, and (at the position before,
  // with draftHidden()) for the drafter's next row.
  StepRows newestDraftRow(int64_t shift = 0) const {
    return StepRows::of(result_.slot, {drafts_.back()}, position() + int64_t(drafts_.size()) + shift);
  }
  const std::vector<float> &draftHidden() const { return draftHidden_; }
  StepRows verificationRows() const {
    std::vector<int32_t> verified{context_.back()};
    verified.insert(verified.end(), drafts_.begin(), drafts_.end());
    return StepRows::of(result_.slot, verified, position());
  }
  // The target's rows for verificationRows(): emits what they accept and
  // keeps their hidden states for the drafter's next catch-up.
  void takeVerification(const DecoderOutput &output) {
    int64_t start = position();
    std::vector<int32_t> emitted = verify(drafts_, proposals_, output);
    mtpTokens_ = emitted;
    mtpHidden_.assign(output.hidden.begin(), output.hidden.begin() + int64_t(emitted.size()) * config_.hiddenSize);
    mtpStart_ = start;
    drafts_.clear();
    proposals_.clear();
  }

private:
  void finishPrefill() {
    ++result_.stats.targetForwards;
    const std::vector<float> &logits = result_.prefillLogits;
    checkFiniteLogits(logits.data(), int64_t(logits.size()), "target");
    if (options_.maxNewTokens == 0) { // prefill only: its end stands for the first token
      result_.firstTokenSeconds = secondsSinceSubmitted();
      done_ = true;
      result_.finishReason = "length";
      return;
    }
    int64_t last = int64_t(context_.size()) - 1;
    std::vector<std::vector<double>> target{distribution(logits, last, {})};
    emit(acceptDrafts({}, {}, target, rng_), logits, last);
    // The drafter's first rows: position i pairs hidden state i with token
    // i + 1 (mtpHidden_ holds the prompt's hidden states).
    mtpTokens_.assign(context_.begin() + 1, context_.end());
    mtpStart_ = 0;
  }

  int64_t position() const { return int64_t(context_.size()) - 1; } // of the last token

  double secondsSinceSubmitted() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - submitted_).count();
  }

  // Never draft what max-new-tokens would cut off or the context cannot
  // hold; room 0 means this forward yields the sequence's last token, so
  // the plain step needs no drafter bookkeeping.
  int64_t draftRoom(int64_t position) const {
    if (options_.drafter == DrafterKind::None)
      return 0;
    int64_t room = std::min(options_.maxNewTokens - generated() - 1, decoder_.context() - 1 - position);
    return std::max<int64_t>(0, std::min(options_.draftSteps, room));
  }

  // Every row a token is drawn from, the target's and the drafter's, is
  // checked: NaN or Inf logits (from a bad weight or an overflow) stop the
  // sequence with an error instead of a run of meaningless tokens. The row
  // follows the context and `drafted` (the drafts before it), which the
  // repetition penalty counts.
  std::vector<double> distribution(const std::vector<float> &logits, int64_t row, const std::vector<int32_t> &drafted,
                                   const char *whose = "target") {
    const float *values = logits.data() + row * config_.vocabSize;
    checkFiniteLogits(values, config_.vocabSize, whose);
    if (options_.sampling.repetitionPenalty == 1.0)
      return samplingDistribution(values, config_.vocabSize, options_.sampling);
    std::vector<int32_t> previous = context_;
    previous.insert(previous.end(), drafted.begin(), drafted.end());
    std::vector<float> penalized =
        penalizeRepetition(values, config_.vocabSize, options_.sampling.repetitionPenalty, previous);
    return samplingDistribution(penalized.data(), config_.vocabSize, options_.sampling);
  }

  void checkFiniteLogits(const float *values, int64_t count, const char *whose) {
    const float *bad = std::find_if(values, values + count, [](float v) { return !std::isfinite(v); });
    if (bad == values + count)
      return;
    throw Error("sequence " + std::to_string(id_) + " after " + std::to_string(generated()) +
                " generated tokens (position " + std::to_string(context_.size() - 1) + "): the " + whose +
                "'s logits are not finite (" + (std::isnan(*bad) ? "NaN" : "Inf") + " for token " +
                std::to_string((bad - values) % config_.vocabSize) +
                "); a weight may hold NaN or Inf "
                "(ember-run --check-weights lists them) or an activation overflowed" +
                (std::string(whose) == "target" ? firstNonFiniteOp() : ""));
  }

  // The target's history run again with checks after every op: where the
  // first NaN or Inf appeared.
  std::string firstNonFiniteOp() {
    std::string positions = "positions 0-" + std::to_string(context_.size() - 1);
    try {
      std::optional<std::string> found = decoder_.findFirstNonFinite(result_.slot, context_);
      return found ? ". Re-run of " + positions + " with checks after every op: " + *found : "";
    } catch (const Error &error) {
      return ". The re-run of " + positions + " with checks after every op failed: " + error.what();
    }
  }

  // Accepts a prefix of `drafts` by the target's rows in `output` and emits
  // it with the target's next token; returns the tokens emitted.
  std::vector<int32_t> verify(const std::vector<int32_t> &drafts, const std::vector<std::vector<double>> &proposals,
                              const DecoderOutput &output) {
    ++result_.stats.targetForwards;
    std::vector<std::vector<double>> target;
    for (int64_t row = 0; row <= int64_t(drafts.size()); ++row)
      target.push_back(distribution(output.logits, row, {drafts.begin(), drafts.begin() + row}));
    std::vector<int32_t> accepted = acceptDrafts(drafts, proposals, target, rng_);
    if (!drafts.empty()) {
      ++result_.stats.verifications;
      result_.stats.draftedTokens += int64_t(drafts.size());
      result_.stats.acceptedTokens += int64_t(accepted.size()) - 1;
    }
    return emit(accepted, output.logits, 0);
  }

  // Appends tokens chosen from logits rows firstRow.., stopping at EOS or
  // max-new-tokens; returns those appended.
  std::vector<int32_t> emit(const std::vector<int32_t> &tokens, const std::vector<float> &logits, int64_t firstRow) {
    int64_t vocab = config_.vocabSize;
    std::vector<int32_t> emitted;
    for (size_t i = 0; i < tokens.size() && !done_; ++i) {
      auto row = logits.begin() + (firstRow + int64_t(i)) * vocab;
      if (options_.keepStepLogits)
        result_.chosenFrom.insert(result_.chosenFrom.end(), row, row + vocab);
      result_.tokens.push_back(tokens[i]);
      context_.push_back(tokens[i]);
      emitted.push_back(tokens[i]);
      double logprob = options_.logprobs ? logSoftmaxAt(&*row, tokens[i]) : std::nan("");
      if (options_.logprobs)
        result_.logprobs.push_back(logprob);
      if (generated() == 1)
        result_.firstTokenSeconds = secondsSinceSubmitted();
      if (options_.onToken)
        options_.onToken(id_, tokens[i], logprob);
      bool stopped = (config_.isEos(tokens[i]) && !options_.ignoreEos) || reachedStopString(tokens[i]);
      done_ = stopped || generated() >= options_.maxNewTokens;
      if (done_)
        result_.finishReason = stopped ? "stop" : "length";
    }
    return emitted;
  }

  double logSoftmaxAt(const float *logits, int32_t token) const {
    double max = *std::max_element(logits, logits + config_.vocabSize), sum = 0;
    for (int64_t v = 0; v < config_.vocabSize; ++v)
      sum += std::exp(double(logits[v]) - max);
    return double(logits[token]) - max - std::log(sum);
  }

  // Whether `token` completes a stop string in the text generated so far.
  bool reachedStopString(int32_t token) {
    if (options_.stopStrings.empty())
      return false;
    size_t before = text_.size();
    text_ += options_.tokenizer->decode({token}, /*skipSpecialTokens=*/true);
    for (const std::string &stop : options_.stopStrings)
      if (text_.find(stop, before >= stop.size() ? before - stop.size() + 1 : 0) != std::string::npos) {
        result_.stopString = stop;
        return true;
      }
    return false;
  }

  Decoder &decoder_;
  const GenerationOptions options_;
  const ModelConfig &config_;
  int64_t id_;
  std::vector<int32_t> context_; // prompt and generated tokens
  std::string text_;             // generated text, kept with stop strings
  Rng rng_;
  std::chrono::steady_clock::time_point submitted_;
  Generation result_;
  int64_t prefilled_ = 0; // prompt tokens fed to the target
  bool done_ = false;
  // The drafter's pending rows: tokens[i] at position mtpStart_ + i with the
  // target's hidden state of that position.
  std::vector<int32_t> mtpTokens_;
  std::vector<float> mtpHidden_;
  int64_t mtpStart_ = 0;
  // This step's drafts, the drafter's distributions they were drawn from,
  // and the drafter's hidden state after the newest.
  std::vector<int32_t> drafts_;
  std::vector<std::vector<double>> proposals_;
  std::vector<float> draftHidden_;
};

// Rows [first, first + count) of `output`.
static DecoderOutput outputRows(const DecoderOutput &output, int64_t first, int64_t count, const ModelConfig &config) {
  int64_t vocab = config.vocabSize, width = config.hiddenSize;
  DecoderOutput rows;
  rows.logits.assign(output.logits.begin() + first * vocab, output.logits.begin() + (first + count) * vocab);
  rows.hidden.assign(output.hidden.begin() + first * width, output.hidden.begin() + (first + count) * width);
  return rows;
}

// Sequence::drafting's phases over all of `sequences` at once: one drafter
// call per draft step over the sequences still drafting, one embedding call
// per step over the drafts it drew, one target forward verifying them all.
// A sequence's calls see the same rows as it alone would, so it draws the
// same drafts and accepts the same tokens.
void Scheduler::speculateWithMtp(const std::vector<Sequence *> &sequences) {
  const ModelConfig &config = decoder_.config();
  EmbeddingQueue queue(decoder_);
  std::vector<std::vector<Sequence *>> embedded; // whose row each pushed call's rows are, in order
  StepRows lastTokens;
  for (Sequence *sequence : sequences)
    lastTokens.append(sequence->lastTokenRow());
  queue.push(std::move(lastTokens));
  embedded.push_back(sequences);

  StepRows rows;
  std::vector<float> hidden;
  std::vector<int64_t> counts;
  for (Sequence *sequence : sequences) {
    rows.append(sequence->catchUpRows());
    hidden.insert(hidden.end(), sequence->catchUpHidden().begin(), sequence->catchUpHidden().end());
    counts.push_back(int64_t(sequence->catchUpRows().size()));
  }
  std::vector<Sequence *> active = sequences;
  while (!active.empty()) {
    DecoderOutput draft = decoder_.draft(rows, hidden);
    std::vector<Sequence *> more;
    StepRows drawn, next;
    std::vector<float> nextHidden;
    int64_t first = 0;
    for (size_t i = 0; i < active.size(); ++i) {
      bool wantsMore = active[i]->propose(outputRows(draft, first, counts[i], config));
      first += counts[i];
      drawn.append(active[i]->newestDraftRow());
      if (!wantsMore)
        continue;
      more.push_back(active[i]);
      next.append(active[i]->newestDraftRow(-1));
      nextHidden.insert(nextHidden.end(), active[i]->draftHidden().begin(), active[i]->draftHidden().end());
    }
    queue.push(std::move(drawn));
    embedded.push_back(active);
    active = std::move(more);
    rows = std::move(next);
    hidden = std::move(nextHidden);
    counts.assign(active.size(), 1);
  }

  // Each sequence's embeddings in its verification order: its last token,
  // then its drafts.
  std::map<Sequence *, std::vector<float>> embeddings;
  int64_t width = config.hiddenSize;
  for (const std::vector<Sequence *> &owners : embedded) {
    std::vector<float> call = queue.pop();
    for (size_t row = 0; row < owners.size(); ++row)
      embeddings[owners[row]].insert(embeddings[owners[row]].end(), call.begin() + int64_t(row) * width,
                                     call.begin() + int64_t(row + 1) * width);
  }
  StepRows verified;
  std::vector<float> verifiedEmbeddings;
  for (Sequence *sequence : sequences) {
    verified.append(sequence->verificationRows());
    verifiedEmbeddings.insert(verifiedEmbeddings.end(), embeddings[sequence].begin(), embeddings[sequence].end());
  }
  DecoderOutput output = decoder_.forward(verified, verifiedEmbeddings);
  int64_t first = 0;
  for (Sequence *sequence : sequences) {
    auto count = int64_t(sequence->verificationRows().size());
    sequence->takeVerification(outputRows(output, first, count, config));
    first += count;
  }
}

Scheduler::Scheduler(Decoder &decoder)
    : decoder_(decoder), aheadQueue_(std::make_unique<EmbeddingQueue>(decoder)),
      slotBusy_(size_t(decoder.slots()), false) {}

Scheduler::~Scheduler() = default;

int64_t Scheduler::submit(std::vector<int32_t> prompt, const GenerationOptions &options) {
  validateGenerationOptions(decoder_, options);
  if (prompt.empty())
    throw Error("request " + std::to_string(submitted_) + ": the prompt is empty");
  checkFitsContext(decoder_.config(), decoder_.maxContext(), int64_t(prompt.size()), options.maxNewTokens);
  queued_.push_back(std::make_unique<Sequence>(decoder_, options, submitted_, std::move(prompt)));
  return submitted_++;
}

void Scheduler::admit() {
  for (size_t slot = 0; slot < slotBusy_.size() && !queued_.empty(); ++slot) {
    if (slotBusy_[slot])
      continue;
    slotBusy_[slot] = true;
    queued_.front()->admit(int64_t(slot));
    running_.push_back(std::move(queued_.front()));
    queued_.pop_front();
  }
}

struct Scheduler::Part {
  Sequence *sequence;
  StepRows rows;
  bool prompt;
};

DecoderOutput Scheduler::run(const std::vector<Part> &parts, const StepRows &rows, const Ahead &last) {
  // The chunk after each prompt chunk of this step, to embed while this
  // step's layers run.
  Ahead next;
  StepRows nextRows;
  for (const Part &part : parts)
    if (part.prompt)
      if (StepRows following = part.sequence->promptRows(decoder_.prefillChunk(), int64_t(part.rows.size()));
          following.size()) {
        nextRows.append(following);
        next.rows.emplace_back(part.sequence->id(), std::move(following));
      }
  if (next.rows.empty() && last.rows.empty())
    return decoder_.step(rows);

  // The embeddings in row order: the rows embedded ahead from there, the
  // rest now. The rest is embedded before the next chunks start, whose
  // n-grams read the table rows it writes.
  int64_t width = decoder_.config().hiddenSize;
  std::vector<float> embeddings(rows.size() * size_t(width));
  auto aheadOffset = [&](const Part &part) -> std::optional<size_t> {
    size_t offset = 0;
    for (const auto &[id, embedded] : last.rows) {
      if (id == part.sequence->id() && embedded.positions == part.rows.positions)
        return offset;
      offset += embedded.size();
    }
    return std::nullopt;
  };
  StepRows rest;
  std::vector<size_t> restAt; // the step row of each row of `rest`
  size_t row = 0;
  for (const Part &part : parts) {
    if (std::optional<size_t> offset = part.prompt ? aheadOffset(part) : std::nullopt) {
      std::copy_n(last.embeddings.begin() + ptrdiff_t(*offset * size_t(width)), part.rows.size() * size_t(width),
                  embeddings.begin() + ptrdiff_t(row * size_t(width)));
    } else {
      for (size_t t = 0; t < part.rows.size(); ++t)
        restAt.push_back(row + t);
      rest.append(part.rows);
    }
    row += part.rows.size();
  }
  if (rest.size()) {
    std::vector<float> now = decoder_.embed(rest);
    for (size_t t = 0; t < restAt.size(); ++t)
      std::copy_n(now.begin() + ptrdiff_t(t * size_t(width)), width,
                  embeddings.begin() + ptrdiff_t(restAt[t] * size_t(width)));
  }
  if (!next.rows.empty()) {
    aheadQueue_->push(std::move(nextRows));
    ahead_ = std::move(next);
  }
  return decoder_.forward(rows, embeddings);
}

bool Scheduler::step() {
  // Whatever ran ahead is done before this step's calls: a prompt chunk
  // embedded ahead is used below, or, its sequence cancelled or now
  // prefilling alone, dropped (its table rows are written again).
  Ahead last = std::exchange(ahead_, {});
  if (!last.rows.empty())
    last.embeddings = aheadQueue_->pop();
  admit();
  if (running_.empty())
    return false;
  // One call over every sequence's rows. A prompt alone in the batch
  // prefills in calls of its own, which overlap its chunks' n-gram
  // embedding with their layers; its tokens are the same either way.
  std::vector<Part> parts;
  std::vector<Sequence *> drafting;
  StepRows rows;
  for (const std::unique_ptr<Sequence> &sequence : running_) {
    if (sequence->prefilling() && running_.size() == 1) {
      sequence->prefillAlone();
      continue;
    }
    if (sequence->drafting()) {
      drafting.push_back(sequence.get());
      continue;
    }
    bool prompt = sequence->prefilling();
    parts.push_back({sequence.get(), prompt ? sequence->promptRows(decoder_.prefillChunk()) : sequence->nextRows(),
                     prompt});
    rows.append(parts.back().rows);
  }
  if (!parts.empty()) {
    DecoderOutput output = run(parts, rows, last);
    int64_t first = 0;
    for (const Part &part : parts) {
      auto count = int64_t(part.rows.size());
      DecoderOutput slice = outputRows(output, first, count, decoder_.config());
      if (part.prompt)
        part.sequence->takePromptRows(slice);
      else
        part.sequence->advance(part.rows, slice);
      first += count;
    }
  }
  if (!drafting.empty())
    speculateWithMtp(drafting);
  ++steps_;

  // Finished sequences leave; their slots take the next requests.
  for (auto it = running_.begin(); it != running_.end();) {
    if (!(*it)->done()) {
      ++it;
      continue;
    }
    slotBusy_[size_t((*it)->slot())] = false;
    finishedTokens_ += (*it)->generated();
    int64_t id = (*it)->id();
    finished_.emplace_back(id, (*it)->take());
    it = running_.erase(it);
  }
  return true;
}

bool Scheduler::cancel(int64_t id) {
  auto hasId = [id](const std::unique_ptr<Sequence> &sequence) { return sequence->id() == id; };
  if (auto it = std::find_if(queued_.begin(), queued_.end(), hasId); it != queued_.end()) {
    queued_.erase(it);
    return true;
  }
  auto it = std::find_if(running_.begin(), running_.end(), hasId);
  if (it == running_.end())
    return false;
  // The slot's cache rows are simply overwritten by the next prefill.
  slotBusy_[size_t((*it)->slot())] = false;
  finishedTokens_ += (*it)->generated();
  running_.erase(it);
  return true;
}

int64_t Scheduler::generatedTokens() const {
  int64_t total = finishedTokens_;
  for (const std::unique_ptr<Sequence> &sequence : running_)
    total += sequence->generated();
  return total;
}

std::vector<std::pair<int64_t, Generation>> Scheduler::takeFinished() { return std::exchange(finished_, {}); }

} // namespace ember::rt
