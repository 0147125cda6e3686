#pragma once

// Token choice: greedy, or sampling with temperature / top-k / top-p, and the
// speculative acceptance rule that keeps the target's distribution exact.

#include <cstdint>
#include <random>
#include <vector>

namespace ember::rt {

struct SamplingOptions {
  double temperature = 0; // 0: greedy (argmax, lowest id on ties)
  int64_t topK = 0;       // 0: no top-k cut
  double topP = 1.0;      // 1: no nucleus cut
  double minP = 0;        // 0: no cut; else tokens below minP x the most likely one's probability are cut
  double repetitionPenalty = 1.0; // 1: none; HF's repetition_penalty over the tokens before the drawn one
  uint64_t seed = 0;
  bool greedy() const { return temperature == 0; }
};

// Throws naming the flag: temperature >= 0, top-k >= 0, top-p in (0, 1],
// min-p in [0, 1], repetition penalty > 0.
void validateSampling(const SamplingOptions &options);

// A reproducible stream of uniform doubles in [0, 1) (one per sequence).
class Rng {
public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  double uniform() { return double(engine_() >> 11) * 0x1.0p-53; }

private:
  std::mt19937_64 engine_;
};

// The distribution a token is drawn from given `vocab` logits: one-hot at the
// argmax when greedy, else softmax(logits / temperature) cut to the top-k,
// then to the tokens at least min-p times as likely as the most likely one,
// then to the smallest most-likely set whose mass reaches top-p, renormalised.
std::vector<double> samplingDistribution(const float *logits, int64_t vocab, const SamplingOptions &options);

// HF's RepetitionPenaltyLogitsProcessor (and vLLM's): the logit of every
// token that occurs in `previous` (prompt and generated tokens) is divided by
// `penalty` when positive and multiplied by it when negative, once per
// distinct token; penalty > 1 makes repeats less likely. Returns the logits
// unchanged when the penalty is 1.
std::vector<float> penalizeRepetition(const float *logits, int64_t vocab, double penalty,
                                      const std::vector<int32_t> &previous);

// Draws from a distribution (entries sum to 1 up to rounding).
int32_t drawToken(const std::vector<double> &distribution, Rng &rng);

// Speculative verification of drafts[0..k): target[i] (i = 0..k) is the
// target's sampling distribution for the token after drafts[0..i);
// draft[i] that of the drafter for drafts[i], or empty for a deterministic
// drafter (a point mass on drafts[i]). Accepts drafts[i] with probability
// min(1, p(d)/q(d)); the first rejection draws from normalise(max(0, p - q))
// instead; if all pass, one more token comes from target[k]. Returns the
// accepted drafts followed by that one token, so the output has exactly the
// target's distribution. Greedy options make it "keep drafts while they equal
// the target's argmax".
std::vector<int32_t> acceptDrafts(const std::vector<int32_t> &drafts, const std::vector<std::vector<double>> &draft,
                                  const std::vector<std::vector<double>> &target, Rng &rng);

} // namespace ember::rt
