#include "ember/runtime/Generate.h"

#include "ember/model/Error.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace ember::rt {

DrafterKind parseDrafterKind(const std::string &name) {
  if (name == "none")
    return DrafterKind::None;
  if (name == "mtp")
    return DrafterKind::Mtp;
  if (name == "ngram")
    return DrafterKind::Ngram;
  throw Error("--speculative must be none, mtp or ngram, got '" + name + "'");
}

const char *drafterName(DrafterKind kind) {
  switch (kind) {
  case DrafterKind::None:
    return "none";
  case DrafterKind::Mtp:
    return "mtp";
  case DrafterKind::Ngram:
    return "ngram";
  }
  return "?";
}

void SpeculationStats::add(const SpeculationStats &other) {
  targetForwards += other.targetForwards;
  verifications += other.verifications;
  draftedTokens += other.draftedTokens;
  acceptedTokens += other.acceptedTokens;
}

double SpeculationStats::acceptanceRate() const {
  return draftedTokens ? double(acceptedTokens) / double(draftedTokens) : 0.0;
}

double SpeculationStats::meanAcceptedLength() const {
  return verifications ? double(acceptedTokens) / double(verifications) + 1.0 : 0.0;
}

int64_t BatchGeneration::promptTokens() const {
  int64_t total = 0;
  for (const Generation &sequence : sequences)
    total += sequence.promptTokens;
  return total;
}

int64_t BatchGeneration::generatedTokens() const {
  int64_t total = 0;
  for (const Generation &sequence : sequences)
    total += int64_t(sequence.tokens.size());
  return total;
}

int64_t BatchGeneration::decodeTokens() const {
  int64_t total = 0;
  for (const Generation &sequence : sequences)
    total += std::max<int64_t>(int64_t(sequence.tokens.size()) - 1, 0);
  return total;
}

double BatchGeneration::decodeTokensPerSecond() const {
  return decodeSeconds > 0 ? double(decodeTokens()) / decodeSeconds : 0.0;
}

double BatchGeneration::prefillTokensPerSecond() const {
  return prefillSeconds > 0 ? double(promptTokens()) / prefillSeconds : 0.0;
}

double BatchGeneration::targetForwardsPerToken() const {
  int64_t generated = generatedTokens();
  return generated ? double(stats.targetForwards) / double(generated) : 0.0;
}

std::vector<int32_t> promptLookupDraft(const std::vector<int32_t> &sequence, int64_t maxTokens, int64_t maxMatch) {
  auto length = int64_t(sequence.size());
  for (int64_t match = std::min(maxMatch, length - 1); match >= 1 && maxTokens > 0; --match) {
    auto suffix = sequence.end() - match;
    // Latest earlier occurrence first: recent context predicts best.
    for (int64_t begin = length - match - 1; begin >= 0; --begin) {
      if (!std::equal(suffix, sequence.end(), sequence.begin() + begin))
        continue;
      int64_t from = begin + match, to = std::min(length, from + maxTokens);
      return {sequence.begin() + from, sequence.begin() + to};
    }
  }
  return {};
}

namespace {

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// One sequence's progress. The last generated token (`context.back()`, at
// position `context.size() - 1`) has not been fed to the target yet.
class Sequence {
public:
  Sequence(Decoder &decoder, const GenerationOptions &options, int64_t slot, std::vector<int32_t> prompt)
      : decoder_(decoder), options_(options), config_(decoder.config()), context_(std::move(prompt)),
        rng_(options.sampling.seed + uint64_t(slot)) {
    result_.slot = slot;
    result_.promptTokens = int64_t(context_.size());
  }

  bool done() const { return done_; }
  Generation take() { return std::move(result_); }
  int64_t generated() const { return int64_t(result_.tokens.size()); }

  void prefill() {
    DecoderOutput output = decoder_.prefill(result_.slot, context_);
    ++result_.stats.targetForwards;
    result_.prefillLogits = output.logits;
    checkFiniteLogits(output.logits.data(), int64_t(output.logits.size()), "target");
    if (options_.maxNewTokens == 0) {
      done_ = true;
      result_.finishReason = "length";
      return;
    }
    int64_t last = int64_t(context_.size()) - 1;
    std::vector<std::vector<double>> target{distribution(output.logits, last, {})};
    emit(acceptDrafts({}, {}, target, rng_), output.logits, last);
    // The drafter's first rows: position i pairs hidden state i with token i + 1.
    mtpTokens_.assign(context_.begin() + 1, context_.end());
    mtpHidden_ = std::move(output.hidden);
    mtpStart_ = 0;
  }

  // One target forward: plain, or verifying the drafter's proposal.
  void advance() {
    int64_t position = int64_t(context_.size()) - 1;
    // Never draft what max-new-tokens would cut off or the context cannot
    // hold; room 0 means this forward yields the sequence's last token, so
    // the plain step below needs no drafter bookkeeping.
    int64_t room = std::min(options_.maxNewTokens - generated() - 1, decoder_.context() - 1 - position);
    int64_t steps = options_.drafter == DrafterKind::None ? 0 : std::min(options_.draftSteps, room);
    if (options_.drafter == DrafterKind::Mtp && steps > 0)
      return advanceWithMtp(position, steps);
    std::vector<int32_t> tokens{context_.back()};
    std::vector<int32_t> drafts;
    if (options_.drafter == DrafterKind::Ngram && steps > 0)
      drafts = promptLookupDraft(context_, steps);
    tokens.insert(tokens.end(), drafts.begin(), drafts.end());
    DecoderOutput output = decoder_.step(result_.slot, tokens, position);
    verify(drafts, {}, output);
  }

private:
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
    throw Error("sequence " + std::to_string(result_.slot) + " after " + std::to_string(generated()) +
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

  // MTP drafting (docs/design.md §3): the first draft row catches the drafter's
  // cache up on the target's hidden states of the tokens accepted last
  // time; later rows feed the drafter its own hidden state. Each draft
  // token's n-gram embedding starts as soon as it is proposed and runs
  // during the next draft step (EmbeddingQueue); verification reuses those
  // embeddings (paper 4.2).
  void advanceWithMtp(int64_t position, int64_t steps) {
    EmbeddingQueue queue(decoder_, result_.slot);
    queue.push({context_.back()}, position);
    DecoderOutput draft = decoder_.draft(result_.slot, mtpTokens_, mtpStart_, mtpHidden_);
    int64_t row = int64_t(mtpTokens_.size()) - 1, width = config_.hiddenSize;
    std::vector<int32_t> drafts;
    std::vector<std::vector<double>> proposals;
    while (true) {
      proposals.push_back(distribution(draft.logits, row, drafts, "drafter"));
      drafts.push_back(drawToken(proposals.back(), rng_));
      int64_t index = int64_t(drafts.size());
      queue.push({drafts.back()}, position + index);
      if (index == steps || config_.isEos(drafts.back()))
        break;
      std::vector<float> hidden(draft.hidden.begin() + row * width, draft.hidden.begin() + (row + 1) * width);
      draft = decoder_.draft(result_.slot, {drafts.back()}, position + index - 1, hidden);
      row = 0;
    }
    std::vector<float> embeddings;
    while (!queue.empty()) {
      std::vector<float> rows = queue.pop();
      embeddings.insert(embeddings.end(), rows.begin(), rows.end());
    }
    DecoderOutput output = decoder_.forward(result_.slot, embeddings, position);
    std::vector<int32_t> emitted = verify(drafts, proposals, output);
    mtpTokens_ = emitted;
    mtpHidden_.assign(output.hidden.begin(), output.hidden.begin() + int64_t(emitted.size()) * width);
    mtpStart_ = position;
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
      if (options_.logprobs)
        result_.logprobs.push_back(logSoftmaxAt(&*row, tokens[i]));
      if (options_.onToken)
        options_.onToken(result_.slot, tokens[i]);
      bool stopped = config_.isEos(tokens[i]) || reachedStopString(tokens[i]);
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
  const GenerationOptions &options_;
  const ModelConfig &config_;
  std::vector<int32_t> context_; // prompt and generated tokens
  std::string text_;             // generated text, kept with stop strings
  Rng rng_;
  Generation result_;
  bool done_ = false;
  // The drafter's pending rows: tokens[i] at position mtpStart_ + i with the
  // target's hidden state of that position.
  std::vector<int32_t> mtpTokens_;
  std::vector<float> mtpHidden_;
  int64_t mtpStart_ = 0;
};

} // namespace

BatchGeneration generate(Decoder &decoder, const std::vector<std::vector<int32_t>> &prompts,
                         const GenerationOptions &options, const GenerationProgress &progress) {
  validateSampling(options.sampling);
  if (prompts.empty())
    throw Error("generate: no prompts given");
  if (int64_t(prompts.size()) > decoder.slots())
    throw Error(std::to_string(prompts.size()) + " prompts need " + std::to_string(prompts.size()) +
                " sequence slots, the decoder has " + std::to_string(decoder.slots()));
  if (options.drafter != DrafterKind::None && options.draftSteps < 1)
    throw Error("--draft-steps must be at least 1, got " + std::to_string(options.draftSteps));
  if (!options.stopStrings.empty() && !options.tokenizer)
    throw Error("stop strings need the model's tokenizer (tokenizer.json)");
  for (const std::string &stop : options.stopStrings)
    if (stop.empty())
      throw Error("a stop string is empty");
  if (options.drafter == DrafterKind::Mtp && !decoder.hasDrafter())
    throw Error("--speculative mtp needs the MTP weights (model.mtp.*), which the checkpoint lacks");
  for (const std::vector<int32_t> &prompt : prompts)
    checkFitsContext(decoder.config(), decoder.maxContext(), int64_t(prompt.size()), options.maxNewTokens);

  std::vector<Sequence> sequences;
  sequences.reserve(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i)
    sequences.emplace_back(decoder, options, int64_t(i), prompts[i]);
  BatchGeneration result;
  auto report = [&] {
    if (!progress)
      return;
    int64_t generated = 0;
    for (const Sequence &sequence : sequences)
      generated += sequence.generated();
    progress(generated);
  };

  auto start = std::chrono::steady_clock::now();
  std::vector<double> firstTokenSeconds;
  for (Sequence &sequence : sequences) {
    sequence.prefill();
    firstTokenSeconds.push_back(secondsSince(start));
  }
  result.prefillSeconds = secondsSince(start);
  report();

  start = std::chrono::steady_clock::now();
  for (bool busy = true; busy;) {
    busy = false;
    for (Sequence &sequence : sequences) {
      if (sequence.done())
        continue;
      sequence.advance();
      busy = true;
      report();
    }
  }
  result.decodeSeconds = secondsSince(start);
  for (size_t i = 0; i < sequences.size(); ++i) {
    result.sequences.push_back(sequences[i].take());
    result.sequences.back().firstTokenSeconds = firstTokenSeconds[i];
    result.stats.add(result.sequences.back().stats);
  }
  return result;
}

} // namespace ember::rt
