// Generation on the fake decoder (FakeDecoderArtifact.cpp), whose drafter
// is wrong at some positions and which returns NaN logits whenever the token
// table or a cache is stale where it reads: speculative output equal to
// plain greedy decoding shows both acceptance and rollback, and batched,
// queued or late-arriving sequences equal to each one alone show that rows
// sharing a step, and a slot's next occupant, never see another sequence.

#include "ember/runtime/Decoder.h"
#include "ember/runtime/Generate.h"
#include "ember/runtime/Scheduler.h"

#include "FakeDecoderAccess.h"
#include "ModelCheckpoint.h"
#include "TestSupport.h"

#include <cmath>
#include <map>

namespace ember::rt {
namespace {

constexpr float kBias = 3.0f;

class GenerationTest : public ::testing::Test {
protected:
  GenerationTest() : config_(test::microConfig()) {
    writeSafetensors(dir_.file("model.safetensors"), test::modelTensors(config_, DType::F32, kBias, true));
    checkpoint_ = std::make_unique<Checkpoint>(dir_.path());
    weights_ = std::make_unique<ModelWeights>(config_, *checkpoint_);
    mtpWeights_ = loadMtpWeights(config_, *checkpoint_, DType::F32);
  }

  Decoder decoder(int64_t slots, int64_t prefillChunk = 0) {
    return Decoder(config_, *weights_, EMBER_FAKE_ARTIFACT, *backend_, {kDefaultMaxContext, slots, prefillChunk},
                   &*mtpWeights_);
  }

  BatchGeneration run(const std::vector<std::vector<int32_t>> &prompts, DrafterKind drafter, int64_t maxNewTokens,
                      int64_t draftSteps = 3, double temperature = 0, Decoder *session = nullptr,
                      const std::vector<int64_t> &arrivals = {}) {
    std::optional<Decoder> own;
    if (!session)
      session = &own.emplace(decoder(int64_t(prompts.size())));
    GenerationOptions options;
    options.maxNewTokens = maxNewTokens;
    options.drafter = drafter;
    options.draftSteps = draftSteps;
    options.sampling.temperature = temperature;
    options.sampling.seed = 11;
    options.keepStepLogits = true; // checked below: the fake's NaN marks stale state
    test::fakeDrafterInconsistentRows() = 0;
    BatchGeneration result = generate(*session, prompts, options, {}, arrivals);
    for (const Generation &sequence : result.sequences)
      for (float logit : sequence.chosenFrom)
        EXPECT_TRUE(std::isfinite(logit)) << "the fake saw a stale table or cache";
    EXPECT_EQ(test::fakeDrafterInconsistentRows(), 0) << "the drafter saw a stale table, cache or hidden state";
    return result;
  }

  // Plain greedy continuation by the fake's rule.
  std::vector<int32_t> expected(std::vector<int32_t> sequence, int64_t maxNewTokens) const {
    std::vector<int32_t> generated;
    while (int64_t(generated.size()) < maxNewTokens) {
      auto next = int32_t(fakeNextToken(sequence.data(), int64_t(sequence.size()) - 1, kBias, config_.vocabSize));
      generated.push_back(next);
      sequence.push_back(next);
      if (next == config_.eosTokenId)
        break;
    }
    return generated;
  }

  test::TempDir dir_;
  std::unique_ptr<Backend> backend_ = makeCpuBackend();
  ModelConfig config_;
  std::unique_ptr<Checkpoint> checkpoint_;
  std::unique_ptr<ModelWeights> weights_;
  std::optional<ModelWeights> mtpWeights_;
};

TEST_F(GenerationTest, MtpGreedyEqualsPlainGreedyWithRejections) {
  ASSERT_TRUE(mtpWeights_.has_value());
  config_.eosTokenId = -1; // never stop early: long runs see many rejections
  int64_t drafted = 0, accepted = 0;
  for (int32_t first = 0; first < 16; ++first)
    for (int64_t steps : {1, 2, 3, 5}) {
      std::vector<int32_t> prompt = {first, 9, int32_t((first * 7) % 16)};
      BatchGeneration result = run({prompt}, DrafterKind::Mtp, 20, steps);
      ASSERT_EQ(result.sequences[0].tokens, expected(prompt, 20)) << "prompt " << first << ", " << steps << " steps";
      drafted += result.stats.draftedTokens;
      accepted += result.stats.acceptedTokens;
      EXPECT_LT(result.stats.targetForwards, 20);
    }
  EXPECT_GT(accepted, 0);
  EXPECT_LT(accepted, drafted); // the fake drafter is wrong at every third position
}

TEST_F(GenerationTest, NgramGreedyEqualsPlainGreedy) {
  config_.eosTokenId = -1;
  int64_t verifications = 0;
  for (int32_t first = 0; first < 16; ++first) {
    std::vector<int32_t> prompt = {first, 4, first, 4, first, 4, 1};
    BatchGeneration result = run({prompt}, DrafterKind::Ngram, 24);
    ASSERT_EQ(result.sequences[0].tokens, expected(prompt, 24)) << "prompt " << first;
    verifications += result.stats.verifications;
  }
  EXPECT_GT(verifications, 0);
}

TEST_F(GenerationTest, RejectedDraftsAreOverwrittenInTableAndCache) {
  config_.eosTokenId = -1;
  std::vector<int32_t> prompt = {5, 1, 12};
  Decoder session = decoder(1);
  BatchGeneration result = run({prompt}, DrafterKind::Mtp, 12, 4, 0, &session);
  ASSERT_LT(result.stats.acceptedTokens, result.stats.draftedTokens);
  std::vector<int32_t> sequence = prompt;
  sequence.insert(sequence.end(), result.sequences[0].tokens.begin(), result.sequences[0].tokens.end());
  // Every position fed to the target (all but the last token) holds the
  // accepted sequence, in the token table and in the KV cache.
  const FakeDecoderCall &call = test::fakeDecoderLastCall();
  ASSERT_STREQ(call.entry, "forward");
  for (size_t p = 0; p + 1 < sequence.size(); ++p) {
    EXPECT_EQ(call.tokenTable.aligned[p], sequence[p]) << "table position " << p;
    EXPECT_EQ(call.kvCache.aligned[int64_t(p) * call.kvCache.strides[2]], float(sequence[p])) << "cache position " << p;
  }
}

TEST_F(GenerationTest, EosInsideTheDraftEndsTheSequence) {
  std::vector<int32_t> prompt = {5, 1, 12};
  std::vector<int32_t> plain = expected(prompt, 12);
  config_.eosTokenId = plain[4]; // accepted mid-draft
  std::vector<int32_t> cut = expected(prompt, 12);
  ASSERT_LE(cut.size(), 5u);
  for (DrafterKind drafter : {DrafterKind::Mtp, DrafterKind::Ngram, DrafterKind::None})
    EXPECT_EQ(run({prompt}, drafter, 12).sequences[0].tokens, cut) << drafterName(drafter);
}

TEST_F(GenerationTest, SlotsAreIndependent) {
  config_.eosTokenId = -1;
  std::vector<std::vector<int32_t>> prompts = {{3, 7, 1}, {9}, {2, 2, 2, 2, 5}};
  BatchGeneration result = run(prompts, DrafterKind::Mtp, 10);
  ASSERT_EQ(result.sequences.size(), 3u);
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(result.sequences[i].slot, int64_t(i));
    EXPECT_EQ(result.sequences[i].tokens, expected(prompts[i], 10)) << "sequence " << i;
  }
  EXPECT_EQ(result.generatedTokens(), 30);
}

TEST_F(GenerationTest, SampledSpeculationRunsAndIsReproducible) {
  BatchGeneration first = run({{3, 7, 1}}, DrafterKind::Mtp, 16, 3, 0.8);
  BatchGeneration second = run({{3, 7, 1}}, DrafterKind::Mtp, 16, 3, 0.8);
  EXPECT_EQ(first.sequences[0].tokens, second.sequences[0].tokens);
  EXPECT_GT(first.stats.draftedTokens, 0);
}

TEST_F(GenerationTest, MissingDrafterIsReported) {
  Decoder decoder(config_, *weights_, EMBER_FAKE_ARTIFACT, *backend_);
  GenerationOptions options;
  options.maxNewTokens = 4;
  options.drafter = DrafterKind::Mtp;
  EXPECT_ERROR_CONTAINS(generate(decoder, {{1, 2}}, options), "--speculative mtp needs the MTP weights");
  options.drafter = DrafterKind::Ngram;
  options.draftSteps = 0;
  EXPECT_ERROR_CONTAINS(generate(decoder, {{1, 2}}, options), "--draft-steps must be at least 1, got 0");
  options.draftSteps = 3;
  EXPECT_ERROR_CONTAINS(generate(decoder, {{1, 2}, {3}}, options, {}, {0}), "generate: 1 arrival steps for 2 prompts");
  EXPECT_ERROR_CONTAINS(parseDrafterKind("eagle"), "--speculative must be none, mtp or ngram, got 'eagle'");
}

// Four prompts through two slots, arriving at different steps: each takes
// a slot as one comes free and shares steps with whatever else runs, and
// generates what it generates alone, with every drafter.
TEST_F(GenerationTest, ContinuousBatchingEqualsEachSequenceAlone) {
  config_.eosTokenId = -1;
  std::vector<std::vector<int32_t>> prompts = {{3, 7, 1}, {9}, {2, 2, 2, 2, 5}, {4, 4}};
  for (DrafterKind drafter : {DrafterKind::None, DrafterKind::Ngram, DrafterKind::Mtp}) {
    SCOPED_TRACE(drafterName(drafter));
    int64_t stepsAlone = 0;
    for (const std::vector<int32_t> &prompt : prompts)
      stepsAlone += run({prompt}, drafter, 8).steps;
    Decoder session = decoder(2);
    BatchGeneration result = run(prompts, drafter, 8, 3, 0, &session, {0, 3, 1, 6});
    ASSERT_EQ(result.sequences.size(), prompts.size());
    for (size_t i = 0; i < prompts.size(); ++i) {
      EXPECT_EQ(result.sequences[i].tokens, expected(prompts[i], 8)) << "prompt " << i;
      EXPECT_LT(result.sequences[i].slot, 2);
    }
    EXPECT_LT(result.steps, stepsAlone); // the sequences shared steps
  }
}

// A prompt prefilled in chunks next to another sequence, which then
// finishes: left alone mid-prompt, it prefills the rest of its prompt in
// calls of its own (not the whole prompt again) and continues as alone.
TEST_F(GenerationTest, PromptLeftAloneMidPrefillPrefillsTheRest) {
  config_.eosTokenId = -1;
  std::vector<std::vector<int32_t>> prompts = {{3, 7, 1, 5, 2, 9, 4, 4, 6, 1, 8}, {9}};
  Decoder session = decoder(2, /*prefillChunk=*/2);
  BatchGeneration result = run(prompts, DrafterKind::None, 3, 3, 0, &session);
  ASSERT_EQ(result.sequences.size(), prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(result.sequences[i].tokens, expected(prompts[i], 3)) << "prompt " << i;
    EXPECT_EQ(result.sequences[i].prefillLogits.size(), prompts[i].size() * size_t(config_.vocabSize))
        << "prompt " << i;
  }
}

// Two prompts fed in chunks of 2 next to each other: each chunk after a
// prompt's first is embedded ahead (ember_embed on a second thread, during
// the step before), the rest of a step's rows when it starts, and the
// tokens are those of each prompt alone. Steps: [3 7][9 4] embedded now,
// [1 5][2 8] ahead; [2 9][8] ahead; [4] ahead, prompt 2's first decode row
// now; then decode steps (ember_step). So ember_embed embeds the 12 prompt
// rows and that decode row, each once.
TEST_F(GenerationTest, PromptChunksAreEmbeddedAhead) {
  config_.eosTokenId = -1;
  std::vector<std::vector<int32_t>> prompts = {{3, 7, 1, 5, 2, 9, 4}, {9, 4, 2, 8, 8}};
  Decoder session = decoder(2, /*prefillChunk=*/2);
  int64_t before = test::fakeEmbeddedRows();
  BatchGeneration result = run(prompts, DrafterKind::None, 4, 3, 0, &session);
  ASSERT_EQ(result.sequences.size(), prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i)
    EXPECT_EQ(result.sequences[i].tokens, expected(prompts[i], 4)) << "prompt " << i;
  EXPECT_EQ(test::fakeEmbeddedRows() - before, 13);
}

// Sequences drafting with MTP share each drafter call and one verifying
// forward: two prompts of one length, whose drafts the fake rejects at the
// same positions, draft in lockstep with as many drafter calls as one alone.
TEST_F(GenerationTest, MtpSequencesDraftTogether) {
  config_.eosTokenId = -1;
  std::vector<std::vector<int32_t>> prompts = {{3, 7, 1}, {9, 4, 2}};
  std::vector<int64_t> callsAlone;
  for (const std::vector<int32_t> &prompt : prompts) {
    Decoder alone = decoder(1);
    int64_t before = test::fakeDrafterCalls();
    BatchGeneration result = run({prompt}, DrafterKind::Mtp, 10, 3, 0, &alone);
    callsAlone.push_back(test::fakeDrafterCalls() - before);
    ASSERT_GT(result.stats.draftedTokens, 0);
  }
  ASSERT_EQ(callsAlone[0], callsAlone[1]); // in lockstep
  Decoder session = decoder(2);
  int64_t before = test::fakeDrafterCalls();
  BatchGeneration result = run(prompts, DrafterKind::Mtp, 10, 3, 0, &session);
  EXPECT_EQ(test::fakeDrafterCalls() - before, callsAlone[0]);
  for (size_t i = 0; i < prompts.size(); ++i)
    EXPECT_EQ(result.sequences[i].tokens, expected(prompts[i], 10)) << "prompt " << i;
}

// One slot, three prompts: each waits for the one before to finish and
// overwrites its rows from position 0; a prompt due later than the others
// finish arrives as soon as nothing else runs.
TEST_F(GenerationTest, QueuedSequencesReuseTheSlot) {
  config_.eosTokenId = -1;
  std::vector<std::vector<int32_t>> prompts = {{5, 1, 12, 12, 3}, {9}, {7, 7}};
  Decoder session = decoder(1);
  BatchGeneration result = run(prompts, DrafterKind::None, 6, 3, 0, &session, {0, 0, 1000});
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(result.sequences[i].tokens, expected(prompts[i], 6)) << "prompt " << i;
    EXPECT_EQ(result.sequences[i].slot, 0);
  }
}

// Steps `scheduler` until it is idle: what finished, by request id.
std::map<int64_t, Generation> runToEnd(Scheduler &scheduler) {
  std::map<int64_t, Generation> finished;
  while (scheduler.step())
    for (auto &[id, generation] : scheduler.takeFinished())
      finished[id] = std::move(generation);
  return finished;
}

// A request cancelled while running leaves its slot to the next one, which
// generates what it would alone; a cancelled queued request never runs.
TEST_F(GenerationTest, CancelledRequestsFreeTheirSlot) {
  config_.eosTokenId = -1;
  Decoder session = decoder(1);
  Scheduler scheduler(session);
  GenerationOptions options;
  options.maxNewTokens = 50;
  int64_t running = scheduler.submit({5, 1, 12}, options);
  int64_t queued = scheduler.submit({9}, options);
  options.maxNewTokens = 6;
  int64_t next = scheduler.submit({7, 7}, options);
  ASSERT_TRUE(scheduler.step() && scheduler.step());
  EXPECT_EQ(scheduler.running(), 1);
  EXPECT_EQ(scheduler.queued(), 2);
  EXPECT_TRUE(scheduler.cancel(queued));
  EXPECT_TRUE(scheduler.cancel(running));
  EXPECT_FALSE(scheduler.cancel(running)) << "already gone";
  EXPECT_FALSE(scheduler.cancel(99)) << "never submitted";
  std::map<int64_t, Generation> finished = runToEnd(scheduler);
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_EQ(finished.begin()->first, next);
  EXPECT_EQ(finished.begin()->second.tokens, expected({7, 7}, 6));
  EXPECT_TRUE(scheduler.idle());
}

// Each request samples with its own seed: the same prompt and seed give the
// same tokens whatever else was submitted before.
TEST_F(GenerationTest, RequestsSampleWithTheirOwnSeed) {
  config_.eosTokenId = -1;
  Decoder session = decoder(2);
  Scheduler scheduler(session);
  GenerationOptions options;
  options.maxNewTokens = 12;
  options.sampling.temperature = 1.5;
  options.sampling.seed = 5;
  scheduler.submit({3, 4}, options);
  scheduler.submit({3, 4}, options);
  options.sampling.seed = 6;
  scheduler.submit({3, 4}, options);
  std::map<int64_t, Generation> finished = runToEnd(scheduler);
  ASSERT_EQ(finished.size(), 3u);
  EXPECT_EQ(finished[0].tokens, finished[1].tokens);
  EXPECT_NE(finished[0].tokens, finished[2].tokens) << "another seed drew the same 12 tokens";
}

// ignoreEos: a sequence that would end at EOS generates all its tokens.
TEST_F(GenerationTest, IgnoreEosGeneratesEveryToken) {
  std::vector<int32_t> prompt;
  for (int32_t first = 0; first < config_.vocabSize && prompt.empty(); ++first)
    if (std::vector<int32_t> alone = expected({first}, 12); alone.size() < 12)
      prompt = {first};
  ASSERT_FALSE(prompt.empty()) << "no prompt of the fake reaches EOS within 12 tokens";
  std::vector<int32_t> untilEos = expected(prompt, 12);
  Decoder session = decoder(1);
  GenerationOptions options;
  options.maxNewTokens = 12;
  options.ignoreEos = true;
  Generation generation = std::move(generate(session, {prompt}, options).sequences[0]);
  ASSERT_EQ(generation.tokens.size(), 12u);
  EXPECT_EQ(std::vector<int32_t>(generation.tokens.begin(), generation.tokens.begin() + int64_t(untilEos.size())),
            untilEos);
  EXPECT_EQ(generation.finishReason, "length");
}

} // namespace
} // namespace ember::rt
