#include "ember/runtime/Generate.h"
#include "ember/runtime/Sampling.h"

#include "TestSupport.h"

#include <array>
#include <cmath>
#include <map>

namespace ember::rt {
namespace {

TEST(Sampling, GreedyIsAPointMassOnTheLowestArgmax) {
  std::vector<float> logits = {0.5f, 2.0f, -1.0f, 2.0f};
  std::vector<double> p = samplingDistribution(logits.data(), 4, {});
  EXPECT_EQ(p, (std::vector<double>{0, 1, 0, 0}));
}

TEST(Sampling, TemperatureTopKAndTopP) {
  std::vector<float> logits = {std::log(0.1f), std::log(0.2f), std::log(0.3f), std::log(0.4f)};
  SamplingOptions options;
  options.temperature = 1;
  std::vector<double> p = samplingDistribution(logits.data(), 4, options);
  for (size_t v = 0; v < 4; ++v)
    EXPECT_NEAR(p[v], 0.1 * double(v + 1), 1e-6);

  options.topK = 2; // 0.3 and 0.4, renormalised
  p = samplingDistribution(logits.data(), 4, options);
  EXPECT_EQ(p[0], 0.0);
  EXPECT_EQ(p[1], 0.0);
  EXPECT_NEAR(p[2], 3.0 / 7, 1e-6);

  options.topK = 0;
  options.topP = 0.65; // 0.4 + 0.3 is the smallest set reaching 0.65
  p = samplingDistribution(logits.data(), 4, options);
  EXPECT_EQ(p[1], 0.0);
  EXPECT_NEAR(p[3], 4.0 / 7, 1e-6);
  options.topP = 0.1; // the most likely token alone
  p = samplingDistribution(logits.data(), 4, options);
  EXPECT_EQ(p[3], 1.0);

  options.topP = 1;
  options.temperature = 0.5; // squares the odds
  p = samplingDistribution(logits.data(), 4, options);
  EXPECT_NEAR(p[3] / p[0], 16.0, 1e-4);
}

TEST(Sampling, OptionsAreValidated) {
  SamplingOptions options;
  options.temperature = -1;
  EXPECT_ERROR_CONTAINS(validateSampling(options), "--temperature must be a finite number >= 0");
  options = {};
  options.topP = 0;
  EXPECT_ERROR_CONTAINS(validateSampling(options), "--top-p must be in (0, 1]");
  options = {};
  options.topK = -2;
  EXPECT_ERROR_CONTAINS(validateSampling(options), "--top-k must be >= 0");
  options = {};
  options.minP = 1.5;
  EXPECT_ERROR_CONTAINS(validateSampling(options), "--min-p must be in [0, 1]");
  options = {};
  options.repetitionPenalty = 0;
  EXPECT_ERROR_CONTAINS(validateSampling(options), "--repetition-penalty must be a finite number > 0");
}

// Positive logits of earlier tokens shrink, negative ones grow, each distinct
// token once however often it occurred; others are untouched.
TEST(Sampling, RepetitionPenaltyScalesEachEarlierTokenOnce) {
  std::vector<float> logits = {3.0f, -2.0f, 1.0f, 0.5f};
  EXPECT_EQ(penalizeRepetition(logits.data(), 4, 2.0, {0, 1, 0, 0, 1}),
            (std::vector<float>{1.5f, -4.0f, 1.0f, 0.5f}));
  EXPECT_EQ(penalizeRepetition(logits.data(), 4, 1.0, {0, 1}), logits);
  EXPECT_EQ(penalizeRepetition(logits.data(), 4, 0.5, {2}), (std::vector<float>{3.0f, -2.0f, 2.0f, 0.5f}));
}

// min-p keeps the tokens at least min-p times as likely as the most likely
// one (0.4 here), before top-p.
TEST(Sampling, MinPCutsRelativeToTheMostLikelyToken) {
  std::vector<float> logits = {std::log(0.1f), std::log(0.2f), std::log(0.3f), std::log(0.4f)};
  SamplingOptions options;
  options.temperature = 1;
  options.minP = 0.45; // keeps 0.2 (0.5 x 0.4), 0.3 and 0.4
  std::vector<double> p = samplingDistribution(logits.data(), 4, options);
  EXPECT_EQ(p[0], 0.0);
  EXPECT_NEAR(p[1], 2.0 / 9, 1e-6);
  EXPECT_NEAR(p[3], 4.0 / 9, 1e-6);
  options.minP = 0.8; // 0.3 is 0.75 x 0.4: the most likely token alone
  p = samplingDistribution(logits.data(), 4, options);
  EXPECT_EQ(p[3], 1.0);
  options.minP = 0.45;
  options.topP = 0.65; // then top-p over what is left: 0.4 + 0.3
  p = samplingDistribution(logits.data(), 4, options);
  EXPECT_EQ(p[1], 0.0);
  EXPECT_NEAR(p[3], 4.0 / 7, 1e-6);
}

TEST(Sampling, DrawFollowsTheDistribution) {
  Rng rng(7);
  std::vector<double> p = {0.25, 0, 0.75};
  std::array<int, 3> counts{};
  for (int i = 0; i < 20000; ++i)
    ++counts[size_t(drawToken(p, rng))];
  EXPECT_EQ(counts[1], 0);
  EXPECT_NEAR(counts[0] / 20000.0, 0.25, 0.015);
}

TEST(Sampling, GreedyVerificationKeepsDraftsEqualToTheArgmax) {
  Rng rng(1);
  auto pointMass = [](int32_t token) {
    std::vector<double> p(5, 0.0);
    p[size_t(token)] = 1;
    return p;
  };
  std::vector<std::vector<double>> target = {pointMass(3), pointMass(1), pointMass(4)};
  EXPECT_EQ(acceptDrafts({3, 1}, {}, target, rng), (std::vector<int32_t>{3, 1, 4})); // all + bonus
  EXPECT_EQ(acceptDrafts({3, 2}, {}, target, rng), (std::vector<int32_t>{3, 1}));    // correction
  EXPECT_EQ(acceptDrafts({0, 1}, {pointMass(0), pointMass(1)}, target, rng), (std::vector<int32_t>{3}));
  EXPECT_ERROR_CONTAINS(acceptDrafts({3}, {}, target, rng), "1 drafts need 2 target rows (got 3)");
}

// Speculative sampling against a Markov chain over 4 tokens: the target
// draws token t+1 from P[t], the drafter proposes from a different Q[t].
// The emitted 3-token sequences must follow P alone (chi-square over all
// 64 sequences); accepting every draft (the drafter's distribution) must
// fail the same test, which shows the test can tell them apart.
constexpr int kVocab = 4;
using Chain = std::array<std::array<double, kVocab>, kVocab>;
constexpr Chain kTarget = {{{0.1, 0.2, 0.3, 0.4}, {0.5, 0.1, 0.1, 0.3}, {0.25, 0.25, 0.25, 0.25}, {0.7, 0.1, 0.1, 0.1}}};
constexpr Chain kDrafter = {{{0.4, 0.3, 0.2, 0.1}, {0.1, 0.6, 0.2, 0.1}, {0.1, 0.1, 0.1, 0.7}, {0.3, 0.3, 0.3, 0.1}}};

std::vector<double> row(const Chain &chain, int32_t token) { return {chain[token].begin(), chain[token].end()}; }

double chiSquareOfSpeculation(bool acceptEverything, uint64_t seed) {
  constexpr int kSamples = 40000, kLength = 3;
  Rng rng(seed);
  std::map<std::vector<int32_t>, int> counts;
  for (int sample = 0; sample < kSamples; ++sample) {
    std::vector<int32_t> sequence = {0}; // a fixed first token
    while (int(sequence.size()) < kLength + 1) {
      std::vector<int32_t> drafts;
      std::vector<std::vector<double>> proposals, target;
      int32_t last = sequence.back();
      for (int k = 0; k < 3; ++k) { // 3 draft steps
        proposals.push_back(row(kDrafter, last));
        target.push_back(row(kTarget, last));
        drafts.push_back(last = drawToken(proposals.back(), rng));
      }
      target.push_back(row(kTarget, last));
      std::vector<int32_t> emitted = acceptEverything ? drafts : acceptDrafts(drafts, proposals, target, rng);
      sequence.insert(sequence.end(), emitted.begin(), emitted.end());
    }
    ++counts[std::vector<int32_t>(sequence.begin() + 1, sequence.begin() + 1 + kLength)];
  }
  double chiSquare = 0;
  for (int a = 0; a < kVocab; ++a)
    for (int b = 0; b < kVocab; ++b)
      for (int c = 0; c < kVocab; ++c) {
        double expected = kSamples * kTarget[0][a] * kTarget[a][b] * kTarget[b][c];
        double observed = counts[{a, b, c}];
        chiSquare += (observed - expected) * (observed - expected) / expected;
      }
  return chiSquare;
}

TEST(Sampling, SpeculativeSamplingPreservesTheTargetDistribution) {
  // 63 degrees of freedom: P(chi-square > 103.4) = 0.001.
  for (uint64_t seed : {1, 2, 3})
    EXPECT_LT(chiSquareOfSpeculation(false, seed), 103.4) << "seed " << seed;
  EXPECT_GT(chiSquareOfSpeculation(true, 1), 1000.0);
}

TEST(PromptLookup, ContinuesTheLatestLongestMatch) {
  // Suffix [7, 8] occurred at 1 and 5; the latest (5) continues with 9, 4.
  EXPECT_EQ(promptLookupDraft({1, 7, 8, 3, 2, 7, 8, 9, 4, 7, 8}, 3), (std::vector<int32_t>{9, 4, 7}));
  EXPECT_EQ(promptLookupDraft({1, 7, 8, 3, 2, 7, 8, 9, 4, 7, 8}, 1), (std::vector<int32_t>{9}));
  // Only a 1-token suffix recurs.
  EXPECT_EQ(promptLookupDraft({5, 6, 1, 5}, 4), (std::vector<int32_t>{6, 1, 5}));
  EXPECT_TRUE(promptLookupDraft({1, 2, 3}, 4).empty());
  EXPECT_TRUE(promptLookupDraft({1}, 4).empty());
  EXPECT_TRUE(promptLookupDraft({1, 1}, 0).empty());
}

} // namespace
} // namespace ember::rt
