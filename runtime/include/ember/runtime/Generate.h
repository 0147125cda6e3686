#pragma once

// Generation with the compiled decoder: several sequences at once (one slot
// each), plain or speculative (MTP drafter or prompt lookup), greedy or
// sampled. Speculation never changes what is generated: greedy output equals
// plain greedy output, sampled output has the target's distribution.

#include "ember/runtime/Decoder.h"
#include "ember/runtime/Sampling.h"
#include "ember/runtime/Tokenizer.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace ember::rt {

enum class DrafterKind { None, Mtp, Ngram };

// "none", "mtp" or "ngram"; throws naming --speculative otherwise.
DrafterKind parseDrafterKind(const std::string &name);
const char *drafterName(DrafterKind kind);

struct GenerationOptions {
  int64_t maxNewTokens = 0; // 0: prefill only
  SamplingOptions sampling;
  DrafterKind drafter = DrafterKind::None;
  int64_t draftSteps = 3; // tokens drafted per verification (at most)
  // Keep Generation::chosenFrom: V floats per generated token (0.5 MB each
  // at the real vocabulary), so only when asked for (--dump-step-logits).
  bool keepStepLogits = false;
  // Called with each token as it is generated (the request's id, token, its
  // log-probability with `logprobs`, else NaN), e.g. to stream its text.
  std::function<void(int64_t, int32_t, double)> onToken;
  // A sequence stops once its decoded text (special tokens left out)
  // contains one of these; needs `tokenizer`.
  std::vector<std::string> stopStrings;
  const Tokenizer *tokenizer = nullptr;
  // Keep each generated token's log-probability under the model
  // (log_softmax of its logits row, before any sampling option).
  bool logprobs = false;
  // Generate maxNewTokens tokens whatever they are: EOS does not end the
  // sequence (fixed lengths for benchmarks, as vLLM's ignore_eos).
  bool ignoreEos = false;
};

struct SpeculationStats {
  int64_t targetForwards = 0; // prefills, steps and verifications
  int64_t verifications = 0;  // target forwards that checked at least one draft
  int64_t draftedTokens = 0, acceptedTokens = 0;
  void add(const SpeculationStats &other);
  double acceptanceRate() const; // accepted / drafted
  // Tokens a verification yields: accepted drafts + the target's own token.
  double meanAcceptedLength() const;
};

struct Generation {
  int64_t slot = 0;
  int64_t promptTokens = 0;
  std::vector<int32_t> tokens;      // generated, EOS included
  std::vector<float> chosenFrom;    // [tokens, V] with keepStepLogits: row i = target logits token i was chosen from
  std::vector<float> prefillLogits; // [T, V]
  SpeculationStats stats;
  // "stop" (EOS or a stop string), or "length" (max-new-tokens reached).
  std::string finishReason;
  std::string stopString;       // the stop string that ended it, if one did
  std::vector<double> logprobs; // per generated token, with GenerationOptions::logprobs
  // Time to first token: from generate()'s start to this sequence's first
  // token (the prefills of the sequences before it, its own, its first draw).
  double firstTokenSeconds = 0;
};

struct BatchGeneration {
  std::vector<Generation> sequences; // in prompt order
  double prefillSeconds = 0, decodeSeconds = 0;
  // Scheduler steps (Scheduler.h): each one ember_step over the rows of
  // every running sequence (a sequence with the MTP drafter adds calls of
  // its own).
  int64_t steps = 0;
  SpeculationStats stats; // summed over sequences
  int64_t promptTokens() const;
  int64_t generatedTokens() const;
  // Tokens from decode steps: all but each sequence's first (which the prefill yields).
  int64_t decodeTokens() const;
  double decodeTokensPerSecond() const;
  double prefillTokensPerSecond() const;
  double targetForwardsPerToken() const; // target forwards / generated tokens
};

// What a client reads of a generation: its tokens decoded without special
// tokens, cut where the stop string that ended it begins.
std::string generatedText(const Tokenizer &tokenizer, const Generation &generation);

// Called after each verification with the tokens generated so far (all sequences).
using GenerationProgress = std::function<void(int64_t generated)>;

// Throws, naming the option, unless `options` are valid for `decoder`.
void validateGenerationOptions(const Decoder &decoder, const GenerationOptions &options);

// Generates for every prompt with continuous batching (Scheduler.h) until
// each has maxNewTokens tokens or has ended (EOS, a stop string): the
// prompts take the decoder's slots as they come free, and every step runs
// the rows of all running sequences in one ember_step, so the weights are
// read once per step for the whole batch. Prompt i arrives once arrivals[i]
// steps have run (or the scheduler is idle); no arrivals: all at once.
// Prompt i samples with seed + i; what it generates does not depend on the
// others.
BatchGeneration generate(Decoder &decoder, const std::vector<std::vector<int32_t>> &prompts,
                         const GenerationOptions &options, const GenerationProgress &progress = {},
                         const std::vector<int64_t> &arrivals = {});

// Prompt lookup: the continuation (at most maxTokens) of the latest earlier
// occurrence of the longest suffix of `sequence` (maxMatch tokens down to 1)
// that occurred before. Empty when no suffix recurs.
std::vector<int32_t> promptLookupDraft(const std::vector<int32_t> &sequence, int64_t maxTokens,
                                       int64_t maxMatch = 3);

} // namespace ember::rt
