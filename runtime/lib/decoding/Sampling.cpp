#include "ember/runtime/Sampling.h"

#include "ember/model/Error.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace ember::rt {

void validateSampling(const SamplingOptions &options) {
  if (!(options.temperature >= 0) || !std::isfinite(options.temperature))
    throw Error("--temperature must be a finite number >= 0, got " + std::to_string(options.temperature));
  if (options.topK < 0)
    throw Error("--top-k must be >= 0 (0: no cut), got " + std::to_string(options.topK));
  if (!(options.topP > 0 && options.topP <= 1))
    throw Error("--top-p must be in (0, 1], got " + std::to_string(options.topP));
  if (!(options.minP >= 0 && options.minP <= 1))
    throw Error("--min-p must be in [0, 1], got " + std::to_string(options.minP));
  if (!(options.repetitionPenalty > 0) || !std::isfinite(options.repetitionPenalty))
    throw Error("--repetition-penalty must be a finite number > 0 (1: none), got " +
                std::to_string(options.repetitionPenalty));
}

std::vector<float> penalizeRepetition(const float *logits, int64_t vocab, double penalty,
                                      const std::vector<int32_t> &previous) {
  std::vector<float> penalized(logits, logits + vocab);
  if (penalty == 1.0)
    return penalized;
  std::vector<bool> done(size_t(vocab), false);
  for (int32_t token : previous) {
    if (token < 0 || token >= vocab || done[size_t(token)])
      continue;
    done[size_t(token)] = true;
    float &logit = penalized[size_t(token)];
    // In float32, as HF's torch.where(score < 0, score * penalty, score / penalty).
    logit = logit < 0 ? logit * float(penalty) : logit / float(penalty);
  }
  return penalized;
}

std::vector<double> samplingDistribution(const float *logits, int64_t vocab, const SamplingOptions &options) {
  std::vector<double> probabilities(size_t(vocab), 0.0);
  int64_t best = 0;
  for (int64_t v = 1; v < vocab; ++v)
    if (logits[v] > logits[best])
      best = v;
  if (options.greedy()) {
    probabilities[size_t(best)] = 1.0;
    return probabilities;
  }
  // Candidates by decreasing logit (ties by id, so the cut is reproducible).
  std::vector<int32_t> order(static_cast<size_t>(vocab));
  std::iota(order.begin(), order.end(), 0);
  size_t keep = options.topK > 0 ? size_t(std::min(options.topK, vocab)) : size_t(vocab);
  auto byLogit = [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(keep), order.end(), byLogit);
  order.resize(keep);

  std::vector<double> weights(keep);
  double total = 0;
  for (size_t i = 0; i < keep; ++i)
    total += weights[i] = std::exp((double(logits[order[i]]) - double(logits[best])) / options.temperature);
  // The most likely token has weight 1: min-p keeps those of weight >= min-p.
  while (keep > 1 && weights[keep - 1] < options.minP)
    total -= weights[--keep];
  double mass = 0;
  size_t used = 0;
  while (used < keep && (used == 0 || mass < options.topP * total))
    mass += weights[used++];
  for (size_t i = 0; i < used; ++i)
    probabilities[size_t(order[i])] = weights[i] / mass;
  return probabilities;
}

int32_t drawToken(const std::vector<double> &distribution, Rng &rng) {
  double u = rng.uniform(), cumulative = 0;
  int32_t last = 0;
  for (size_t v = 0; v < distribution.size(); ++v) {
    if (distribution[v] <= 0)
      continue;
    cumulative += distribution[v];
    last = int32_t(v);
    if (u < cumulative)
      return last;
  }
  return last; // rounding left u just above the total
}

std::vector<int32_t> acceptDrafts(const std::vector<int32_t> &drafts, const std::vector<std::vector<double>> &draft,
                                  const std::vector<std::vector<double>> &target, Rng &rng) {
  if (target.size() != drafts.size() + 1 || (!draft.empty() && draft.size() != drafts.size()))
    throw Error("acceptDrafts: " + std::to_string(drafts.size()) + " drafts need " + std::to_string(drafts.size() + 1) +
                " target rows (got " + std::to_string(target.size()) + ")");
  std::vector<int32_t> accepted;
  for (size_t i = 0; i < drafts.size(); ++i) {
    const std::vector<double> &p = target[i];
    auto d = size_t(drafts[i]);
    double q = draft.empty() ? 1.0 : draft[i][d];
    // A point-mass target (greedy) accepts exactly its argmax, no draw needed.
    if (p[d] >= q || rng.uniform() * q < p[d]) {
      accepted.push_back(drafts[i]);
      continue;
    }
    std::vector<double> residual(p.size());
    double total = 0;
    for (size_t v = 0; v < p.size(); ++v) {
      double qv = draft.empty() ? (v == d ? 1.0 : 0.0) : draft[i][v];
      total += residual[v] = std::max(0.0, p[v] - qv);
    }
    for (double &value : residual)
      value /= total;
    accepted.push_back(drawToken(residual, rng));
    return accepted;
  }
  accepted.push_back(drawToken(target.back(), rng));
  return accepted;
}

} // namespace ember::rt
