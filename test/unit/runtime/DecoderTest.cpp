#include "ember/runtime/Decoder.h"
#include "ember/model/Error.h"
#include "ember/model/Parsing.h"
#include "ember/runtime/Generate.h"
#include "ember/runtime/ModelStamp.h"
#include "ember/runtime/SharedLibrary.h"

#include "FakeDecoderAccess.h"
#include "ModelCheckpoint.h"
#include "TestSupport.h"

#include <dlfcn.h>

#include <cstdio>
#include <limits>


namespace ember::rt {
namespace {

constexpr float kBias = 5.0f; // layer 0's router bias[0], which the fake adds

// Greedy continuation of `prompt` by the fake's rule (FakeDecoderCall.h).
std::vector<int32_t> expectedGeneration(std::vector<int32_t> sequence, int64_t maxNewTokens, int64_t vocab,
                                        int64_t eos) {
  std::vector<int32_t> generated;
  while (int64_t(generated.size()) < maxNewTokens) {
    auto next = int32_t(fakeNextToken(sequence.data(), int64_t(sequence.size()) - 1, kBias, vocab));
    generated.push_back(next);
    sequence.push_back(next);
    if (next == eos)
      break;
  }
  return generated;
}

const FakeDecoderCall &lastCall() { return test::fakeDecoderLastCall(); }

class DecoderTest : public ::testing::Test {
protected:
  DecoderTest() : config_(test::microConfig()) {
    writeSafetensors(dir_.file("model.safetensors"), test::modelTensors(config_, DType::BF16, kBias));
    checkpoint_ = std::make_unique<Checkpoint>(dir_.path());
    weights_ = std::make_unique<ModelWeights>(config_, *checkpoint_);
  }
  Decoder decoder(int64_t maxContext = kDefaultMaxContext) {
    return Decoder(config_, *weights_, EMBER_FAKE_ARTIFACT, *backend_, {maxContext, 1});
  }
  Generation generateGreedy(Decoder &session, const std::vector<int32_t> &prompt, int64_t maxNewTokens,
                            const GenerationProgress &progress = {}) {
    GenerationOptions options;
    options.maxNewTokens = maxNewTokens;
    options.keepStepLogits = true;
    return generate(session, {prompt}, options, progress).sequences.front();
  }
  int32_t next(const std::vector<int32_t> &sequence) {
    return int32_t(fakeNextToken(sequence.data(), int64_t(sequence.size()) - 1, kBias, config_.vocabSize));
  }

  test::TempDir dir_;
  std::unique_ptr<Backend> backend_ = makeCpuBackend();
  ModelConfig config_;
  std::unique_ptr<Checkpoint> checkpoint_;
  std::unique_ptr<ModelWeights> weights_;
};

TEST_F(DecoderTest, PrefillPassesTheAbiArguments) {
  Decoder session = decoder();
  EXPECT_EQ(session.context(), 64); // max_position_embeddings < --max-context
  DecoderOutput output = session.prefill(0, {3, 7, 1});
  ASSERT_EQ(output.logits.size(), 3u * 16);
  ASSERT_EQ(output.hidden.size(), 3u * 6);
  EXPECT_EQ(greedyToken(&output.logits[2 * 16], 16), next({3, 7, 1}));
  EXPECT_EQ(greedyToken(&output.logits[0], 16), next({3}));
  EXPECT_EQ(output.hidden[1 * 6 + 2], 7002.0f);

  const FakeDecoderCall &call = lastCall();
  EXPECT_STREQ(call.entry, "step");
  EXPECT_EQ(call.start, 0);
  EXPECT_EQ(call.slot, 0);
  EXPECT_EQ(call.tokenCount, 3);
  EXPECT_EQ(call.tokenTable.sizes[0], 1);
  EXPECT_EQ(call.tokenTable.sizes[1], 64);
  EXPECT_EQ(call.kvCache.sizes[0], 2); // 2 sublayers x 1 layer
  EXPECT_EQ(call.kvCache.sizes[1], 1);
  EXPECT_EQ(call.kvCache.sizes[2], 64);
  EXPECT_EQ(call.kvCache.sizes[3], 4);                  // kv_lora 2 + rope 2
  EXPECT_EQ(call.logits.aligned, output.logits.data()); // moving a vector keeps its buffer
  EXPECT_EQ(call.lmHead.aligned, weights_->weights().back().buffer.data());
  EXPECT_EQ(call.lmHead.sizes[0], 16);
}

TEST_F(DecoderTest, StepsSeeTheHistoryAndRollBackByOverwriting) {
  Decoder session = decoder(/*maxContext=*/8);
  EXPECT_EQ(session.context(), 8);
  session.prefill(0, {3, 7, 1});
  DecoderOutput output = session.step(0, {4}, 3);
  EXPECT_EQ(greedyToken(output.logits.data(), 16), next({3, 7, 1, 4}));
  const FakeDecoderCall &call = lastCall();
  EXPECT_EQ(call.start, 3);
  EXPECT_EQ(call.tokenTable.sizes[1], 8);

  output = session.step(0, {9, 9, 9}, 4); // a draft of three tokens
  EXPECT_EQ(greedyToken(&output.logits[2 * 16], 16), next({3, 7, 1, 4, 9, 9, 9}));
  output = session.step(0, {11}, 4); // rejected: continue from position 4
  EXPECT_EQ(greedyToken(output.logits.data(), 16), next({3, 7, 1, 4, 11}));
  EXPECT_TRUE(std::isfinite(output.logits[0])); // the fake found table and cache consistent
}

// One call over the rows of several sequences gives each sequence what its
// own calls give: the fake derives each row's token from its own slot's
// table and cache rows, so a row attending to another slot's rows, or a
// misplaced write, changes the tokens or makes them NaN.
TEST_F(DecoderTest, BatchedStepEqualsEachSequenceAlone) {
  const std::vector<std::vector<int32_t>> prompts{{3, 7, 1}, {5}, {2, 9, 4, 4, 8}};
  std::vector<DecoderOutput> alone;
  for (const auto &prompt : prompts) {
    Decoder single = decoder();
    single.prefill(0, prompt);
    alone.push_back(single.step(0, {6}, int64_t(prompt.size())));
  }
  Decoder session(config_, *weights_, EMBER_FAKE_ARTIFACT, *backend_, {kDefaultMaxContext, 3, 0});
  // Prefill rows of slot 2 next to slot 0's prompt, then one decode row
  // each, in slot order 1, 2, 0.
  StepRows prefill = StepRows::of(0, prompts[0], 0);
  prefill.append(2, prompts[2], 0);
  session.step(prefill);
  session.step(StepRows::of(1, prompts[1], 0));
  StepRows decode;
  for (int64_t slot : {1, 2, 0})
    decode.append(slot, {6}, int64_t(prompts[size_t(slot)].size()));
  DecoderOutput batched = session.step(decode);
  ASSERT_EQ(batched.logits.size(), 3u * 16);
  for (size_t row = 0; row < 3; ++row) {
    size_t slot = size_t(decode.slots[row]);
    SCOPED_TRACE("slot " + std::to_string(slot));
    EXPECT_EQ(std::vector<float>(batched.logits.begin() + long(row * 16), batched.logits.begin() + long(row * 16 + 16)),
              alone[slot].logits);
    EXPECT_EQ(std::vector<float>(batched.hidden.begin() + long(row * 6), batched.hidden.begin() + long(row * 6 + 6)),
              alone[slot].hidden);
  }
}

TEST_F(DecoderTest, ChunkedPrefillEqualsOneCall) {
  const std::vector<int32_t> prompt{3, 7, 1, 4, 9, 2, 5, 8, 6, 11, 12};
  DecoderOutput whole = decoder().prefill(0, prompt);
  for (int64_t chunk : {1, 3, 4, 10, 11, 64}) {
    SCOPED_TRACE("chunk " + std::to_string(chunk));
    Decoder session(config_, *weights_, EMBER_FAKE_ARTIFACT, *backend_, {kDefaultMaxContext, 1, chunk});
    DecoderOutput chunked = session.prefill(0, prompt);
    EXPECT_EQ(chunked.logits, whole.logits); // NaN rows would mark a stale table or cache
    EXPECT_EQ(chunked.hidden, whole.hidden);
    DecoderOutput after = session.step(0, {13}, int64_t(prompt.size()));
    std::vector<int32_t> sequence = prompt;
    sequence.push_back(13);
    EXPECT_EQ(greedyToken(after.logits.data(), 16), next(sequence));
    EXPECT_TRUE(std::isfinite(after.logits[0]));
  }
  EXPECT_THROW(Decoder(config_, *weights_, EMBER_FAKE_ARTIFACT, *backend_, {kDefaultMaxContext, 1, -1}), Error);
}

TEST_F(DecoderTest, GenerationStopsAtMaxNewTokens) {
  Decoder session = decoder();
  std::vector<int32_t> prompt = {3, 7, 1};
  std::vector<int32_t> expected = expectedGeneration(prompt, 6, 16, config_.eosTokenId);
  ASSERT_EQ(expected.size(), 6u) << "this prompt must not reach EOS within 6 tokens";
  int64_t progressCalls = 0;
  Generation generation =
      generateGreedy(session, prompt, 6, [&](int64_t generated) { EXPECT_EQ(generated, ++progressCalls); });
  EXPECT_EQ(generation.tokens, expected);
  EXPECT_EQ(progressCalls, 6);
  EXPECT_EQ(generation.promptTokens, 3);
  EXPECT_EQ(generation.stats.targetForwards, 6);
  ASSERT_EQ(generation.prefillLogits.size(), 3u * 16);
  ASSERT_EQ(generation.chosenFrom.size(), 6u * 16);
  EXPECT_TRUE(std::equal(generation.chosenFrom.begin(), generation.chosenFrom.begin() + 16,
                         generation.prefillLogits.begin() + 2 * 16));
  for (size_t i = 0; i < 6; ++i)
    EXPECT_EQ(greedyToken(&generation.chosenFrom[i * 16], 16), expected[i]);
  EXPECT_EQ(lastCall().start, 3 + 4); // the last token is never fed back
}

TEST_F(DecoderTest, GenerationStopsAtEosIncludingIt) {
  // Find a prompt whose greedy continuation hits EOS (2) within 10 tokens.
  for (int32_t first = 0; first < 16; ++first) {
    std::vector<int32_t> prompt = {first, 5};
    std::vector<int32_t> expected = expectedGeneration(prompt, 10, 16, config_.eosTokenId);
    if (expected.back() != config_.eosTokenId || expected.size() < 2)
      continue;
    Decoder session = decoder();
    Generation generation = generateGreedy(session, prompt, 10);
    EXPECT_EQ(generation.tokens, expected);
    EXPECT_EQ(generation.chosenFrom.size(), expected.size() * 16);
    return;
  }
  FAIL() << "no test prompt reaches EOS";
}

TEST_F(DecoderTest, StepLogitsAreKeptOnlyWhenAsked) {
  Decoder session = decoder();
  GenerationOptions options;
  options.maxNewTokens = 3;
  Generation generation = generate(session, {{3, 7, 1}}, options).sequences.front();
  EXPECT_EQ(generation.tokens, expectedGeneration({3, 7, 1}, 3, 16, config_.eosTokenId));
  EXPECT_TRUE(generation.chosenFrom.empty());
}

TEST_F(DecoderTest, PrefillOnlyGeneratesNothing) {
  Decoder session = decoder();
  Generation generation = generateGreedy(session, {3, 7}, 0);
  EXPECT_TRUE(generation.tokens.empty());
  EXPECT_TRUE(generation.chosenFrom.empty());
  EXPECT_EQ(generation.prefillLogits.size(), 2u * 16);
}

TEST_F(DecoderTest, ContextLimit) {
  Decoder session = decoder(/*maxContext=*/4);
  EXPECT_ERROR_CONTAINS(session.prefill(0, {1, 2, 3, 4, 5}),
                        "prompt of 5 tokens exceeds the context limit of 4 (max_position_embeddings 64, "
                        "--max-context 4)");
  EXPECT_ERROR_CONTAINS(session.step(0, {1, 2}, 3),
                        "decoder step: row 1 of 2: position 4 is outside the context limit of 4");
  EXPECT_ERROR_CONTAINS(generateGreedy(session, {1, 2, 3}, 3),
                        "prompt of 3 tokens plus 3 new tokens needs 5 positions, more than the context limit of 4");
  EXPECT_EQ(generateGreedy(session, {1, 2, 3}, 2).tokens.size(), 2u); // the last token needs no position
  EXPECT_ERROR_CONTAINS(checkFitsContext(config_, 100, 65, 0),
                        "prompt of 65 tokens exceeds the context limit of 64 (max_position_embeddings 64, "
                        "--max-context 100)");
  EXPECT_ERROR_CONTAINS(contextLimit(config_, 0), "--max-context must be at least 1, got 0");
  // The sum would overflow int64 (UBSan found it).
  EXPECT_ERROR_CONTAINS(checkFitsContext(config_, 100, 3, std::numeric_limits<int64_t>::max()),
                        "prompt of 3 tokens plus 9223372036854775807 new tokens needs more than 2^63 positions, more "
                        "than the context limit of 64");
}

TEST_F(DecoderTest, TokensAreValidated) {
  Decoder session = decoder();
  EXPECT_ERROR_CONTAINS(session.prefill(0, {1, 16}), "token id 16 (slot 0, position 1) is out of range [0, 16)");
  EXPECT_ERROR_CONTAINS(session.step(0, {-3}, 2),
                        "decoder step: row 0 of 1: token id -3 (slot 0, position 2) is out of range [0, 16)");
  EXPECT_ERROR_CONTAINS(session.prefill(0, {}), "no tokens given");
  EXPECT_ERROR_CONTAINS(session.step(0, {1}, -1), "row 0 of 1: position -1 is outside the context limit");
  EXPECT_ERROR_CONTAINS(session.step(1, {1}, 0), "row 0 of 1: slot 1 is out of range [0, 1)");
  StepRows twice = StepRows::of(0, {1, 2}, 0);
  twice.append(0, {3}, 1);
  EXPECT_ERROR_CONTAINS(session.step(twice), "row 2 of 3: slot 0 position 1 is given twice");
  StepRows ragged = StepRows::of(0, {1, 2}, 0);
  ragged.slots.pop_back();
  EXPECT_ERROR_CONTAINS(session.step(ragged), "2 tokens, 1 slots and 2 positions; expected one of each per row");
  EXPECT_ERROR_CONTAINS(session.draft(StepRows::of(0, {1}, 0), std::vector<float>(6)), "no MTP weights were bound");
}

TEST(Decoder, GreedyTokenTakesTheLowestIndexOnTies) {
  std::vector<float> logits = {0.5f, 2.0f, -1.0f, 2.0f};
  EXPECT_EQ(greedyToken(logits.data(), 4), 1);
  EXPECT_EQ(greedyToken(logits.data(), 1), 0);
}

TEST(DecoderArtifact, LoadErrorsNameTheFile) {
  std::unique_ptr<Backend> cpu = makeCpuBackend();
  ModelConfig tiny = ModelConfig::load(std::string(EMBER_PRESETS_DIR) + "/tiny.json");
  EXPECT_ERROR_CONTAINS(DecoderArtifact(*cpu, "/nonexistent/a.so", tiny, DType::BF16), "/nonexistent/a.so",
                        "cannot load compiled artifact");
  // libc is a loadable library, but no artifact: it carries no stamp.
  Dl_info libc{};
  ASSERT_NE(dladdr(reinterpret_cast<void *>(&std::fclose), &libc), 0);
  EXPECT_ERROR_CONTAINS(DecoderArtifact(*cpu, libc.dli_fname, tiny, DType::BF16), std::string(libc.dli_fname),
                        "the artifact carries no ember_model_stamp");
  // A bare name is a file of the working directory, not a library looked up
  // on the loader's paths.
  EXPECT_ERROR_CONTAINS(DecoderArtifact(*cpu, "libm.so.6", tiny, DType::BF16),
                        "libm.so.6: cannot load compiled artifact: ./libm.so.6");
  DecoderArtifact artifact(*cpu, EMBER_FAKE_ARTIFACT, tiny, DType::BF16);
  EXPECT_NE(artifact.embed, artifact.forward);
}

// The stamp is read from the file: an artifact that is refused is never
// dlopen'ed, so none of its code (an nvptx artifact's constructors load its
// kernels) runs. The fake artifact with its stamp patched to another
// model's (and so unsealed) is refused and not loaded.
TEST(DecoderArtifact, TheStampIsCheckedBeforeTheLibraryIsLoaded) {
  EXPECT_EQ(readExportedString(EMBER_FAKE_ARTIFACT, kModelStampSymbol), std::string(kAnyModelStamp));
  EXPECT_EQ(readExportedString(EMBER_FAKE_ARTIFACT, "no_such_symbol"), std::nullopt);
  test::TempDir dir;
  std::string bytes = readFile(EMBER_FAKE_ARTIFACT), other = "a different model stamp";
  ASSERT_EQ(other.size(), std::string(kAnyModelStamp).size());
  size_t at = bytes.find(kAnyModelStamp);
  ASSERT_NE(at, std::string::npos);
  bytes.replace(at, other.size(), other);
  std::string patched = dir.file("patched.so");
  test::writeBytes(patched, bytes);
  EXPECT_EQ(readExportedString(patched, kModelStampSymbol), other);
  std::unique_ptr<Backend> cpu = makeCpuBackend();
  ModelConfig tiny = ModelConfig::load(std::string(EMBER_PRESETS_DIR) + "/tiny.json");
  EXPECT_ERROR_CONTAINS(DecoderArtifact(*cpu, patched, tiny, DType::BF16), patched, "the artifact is not sealed");
  EXPECT_EQ(dlopen(patched.c_str(), RTLD_NOW | RTLD_NOLOAD), nullptr);
}

} // namespace
} // namespace ember::rt
