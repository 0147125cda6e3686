#include "ember/model/Config.h"
#include "ember/model/Error.h"
#include "ember/model/ModelAbi.h"

#include "TestSupport.h"

namespace ember::rt {
namespace {

using nlohmann::json;

std::string presetPath(const std::string &name) { return std::string(EMBER_PRESETS_DIR) + "/" + name + ".json"; }

json tinyJson() { return ModelConfig::load(presetPath("tiny")).raw; }

// Writes `config` to a temp file and loads it, so messages carry a real path.
class ConfigErrors : public ::testing::Test {
protected:
  ModelConfig loadModified(const std::function<void(json &)> &edit) {
    json config = tinyJson();
    edit(config);
    test::writeBytes(path(), config.dump());
    return ModelConfig::load(path());
  }
  std::string path() const { return dir_.file("config.json"); }

private:
  test::TempDir dir_;
};

TEST(Config, TinyPresetAndDerivedGeometry) {
  ModelConfig config = ModelConfig::load(presetPath("tiny"));
  EXPECT_EQ(config.vocabSize, 512);
  EXPECT_EQ(config.hiddenSize, 96);
  EXPECT_EQ(config.numLayers, 2);
  EXPECT_EQ(config.nRoutedExperts, 8);
  EXPECT_EQ(config.zeroExpertNum, 4);
  EXPECT_DOUBLE_EQ(config.routedScalingFactor, 6.0);
  EXPECT_DOUBLE_EQ(config.rmsNormEps, 1e-5);
  EXPECT_TRUE(config.mlaScaleQLora);
  EXPECT_FALSE(config.tieWordEmbeddings);
  EXPECT_FALSE(config.ropeScaling.has_value());
  EXPECT_EQ(config.numNgramTables(), 12);
  EXPECT_EQ(config.ngramVocab(), 78 * 512);
  EXPECT_EQ(config.ngramTableWidth(), 8);
  EXPECT_EQ(config.ngramTableRows(0), 78 * 512 + 1);
  EXPECT_EQ(config.ngramTableRows(11), 78 * 512 + 23);
  std::vector<int64_t> offsets = config.ngramRowOffsets();
  ASSERT_EQ(offsets.size(), 12u);
  EXPECT_EQ(offsets[0], 0);
  EXPECT_EQ(offsets[1], 78 * 512 + 1);
  EXPECT_EQ(offsets[2], 2 * 78 * 512 + 1 + 3);
  EXPECT_EQ(config.ngramTotalRows(), offsets[11] + config.ngramTableRows(11));
}

TEST(Config, OtherPresets) {
  ModelConfig n3k2 = ModelConfig::load(presetPath("tiny-n3k2"));
  EXPECT_EQ(n3k2.numNgramTables(), 4);
  EXPECT_EQ(n3k2.ngramTableWidth(), 24);
  ModelConfig yarn = ModelConfig::load(presetPath("tiny-yarn"));
  ASSERT_TRUE(yarn.ropeScaling.has_value());
  EXPECT_EQ(yarn.ropeScaling->type, "yarn");
  EXPECT_DOUBLE_EQ(yarn.ropeScaling->factor, 10.0);
  EXPECT_EQ(yarn.ropeScaling->originalMaxPositionEmbeddings, 512);
  EXPECT_DOUBLE_EQ(yarn.ropeScaling->mscaleAllDim, 1.0);
  EXPECT_EQ(yarn.ropeScaling->raw["beta_fast"], 32);
  ModelConfig bench = ModelConfig::load(presetPath("ngram-bench"));
  EXPECT_EQ(bench.numNgramTables(), 12);
  EXPECT_EQ(bench.ngramTableWidth(), 20);
  EXPECT_GT(bench.ngramTotalRows() * bench.ngramTableWidth(), 300'000'000); // far beyond any L3
}

TEST_F(ConfigErrors, MissingField) {
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) { c.erase("kv_lora_rank"); }), path(),
                        "missing field 'kv_lora_rank'");
}

TEST_F(ConfigErrors, NonIntegerField) {
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) { c["hidden_size"] = 96.5; }), path(),
                        "field 'hidden_size' must be an integer, got 96.5");
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) { c["num_layers"] = "2"; }),
                        "field 'num_layers' must be an integer, got \"2\"");
}

TEST_F(ConfigErrors, WrongTypeForNumbersAndBooleans) {
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) { c["rope_theta"] = "big"; }),
                        "field 'rope_theta' must be a number");
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) { c["router_bias"] = 0; }),
                        "field 'router_bias' must be a boolean, got 0");
}

TEST_F(ConfigErrors, NeighborNumAtLeastTwo) {
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) { c["emb_neighbor_num"] = 1; }), path(),
                        "field 'emb_neighbor_num' must be >= 2, got 1");
}

TEST_F(ConfigErrors, SplitNumAtLeastOne) {
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) { c["emb_split_num"] = 0; }),
                        "field 'emb_split_num' must be >= 1, got 0");
}

TEST_F(ConfigErrors, VocabAtLeastOne) {
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) { c["vocab_size"] = 0; }), "field 'vocab_size' must be >= 1, got 0");
}

TEST_F(ConfigErrors, HiddenDivisibleByTables) {
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) { c["emb_neighbor_num"] = 8; c["emb_split_num"] = 1; }), path(),
                        "field 'hidden_size' (96) must be divisible by emb_split_num*(emb_neighbor_num-1) = 7");
}

TEST_F(ConfigErrors, SpecialTokensInsideVocab) {
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) { c["eos_token_id"] = 512; }),
                        "field 'eos_token_id' (512) must be < vocab_size (512)");
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) { c["bos_token_id"] = 600; }),
                        "field 'bos_token_id' (600) must be < vocab_size (512)");
}

// HF configs write eos_token_id as an integer or a list; the first id is
// the n-gram segment boundary, any of them ends a generation.
TEST_F(ConfigErrors, EosTokenIdMayBeAList) {
  ModelConfig single = loadModified([](json &) {});
  EXPECT_TRUE(single.moreEosTokenIds.empty());
  EXPECT_TRUE(single.isEos(single.eosTokenId));
  ModelConfig list = loadModified([](json &c) { c["eos_token_id"] = {7, 2, 300}; });
  EXPECT_EQ(list.eosTokenId, 7);
  EXPECT_EQ(list.moreEosTokenIds, (std::vector<int64_t>{2, 300}));
  EXPECT_TRUE(list.isEos(7));
  EXPECT_TRUE(list.isEos(300));
  EXPECT_FALSE(list.isEos(3));
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) { c["eos_token_id"] = json::array(); }),
                        "field 'eos_token_id' must be an integer or a non-empty list of integers, got []");
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) { c["eos_token_id"] = {2, "x"}; }),
                        "field 'eos_token_id' must be an integer, got \"x\"");
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) { c["eos_token_id"] = {2, 512}; }),
                        "field 'eos_token_id' (512) must be < vocab_size (512)");
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) { c["eos_token_id"] = {2, -1}; }),
                        "field 'eos_token_id' must be >= 0, got -1");
}

TEST_F(ConfigErrors, NgramIdsMustFitInt32) {
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) { c["ngram_vocab_size_ratio"] = 5'000'000; }),
                        "n-gram ids must fit in int32");
  // The largest of tiny's E = 12 tables has m + 2E - 1 rows: m = 572 *
  // 3754342 = 2^31 - 24 makes exactly 2^31 - 1, one more does not fit.
  EXPECT_EQ(loadModified([](json &c) {
              c["vocab_size"] = 572;
              c["ngram_vocab_size_ratio"] = 3754342;
            }).ngramTableRows(11),
            int64_t(INT32_MAX));
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) {
                          c["vocab_size"] = 525;
                          c["ngram_vocab_size_ratio"] = 4090445;
                        }),
                        "ngram_vocab_size_ratio*vocab_size (4090445*525) is too large: n-gram ids must fit in int32");
}

TEST_F(ConfigErrors, RopeScalingNeedsTypeAndFactor) {
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) { c["rope_scaling"] = {{"type", "yarn"}}; }),
                        "rope_scaling: missing field 'factor'");
}

TEST_F(ConfigErrors, RopeDimEven) {
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) { c["qk_rope_head_dim"] = 7; }), path(),
                        "field 'qk_rope_head_dim' (7) must be even");
}

TEST_F(ConfigErrors, RopeScalingMustBeYarnWithOriginalLength) {
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) { c["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}}; }),
                        "rope_scaling: type 'linear' is not supported (only 'yarn')");
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) { c["rope_scaling"] = {{"type", "yarn"}, {"factor", 2.0}}; }),
                        "rope_scaling: missing field 'original_max_position_embeddings'");
}

TEST_F(ConfigErrors, Fp8QuantizationConfig) {
  json release = {
      {"activation_scheme", "dynamic"}, {"fmt", "e4m3"}, {"quant_method", "fp8"}, {"weight_block_size", {128, 64}}};
  ModelConfig fp8 = loadModified([&](json &c) { c["quantization_config"] = release; });
  ASSERT_TRUE(fp8.fp8.has_value());
  EXPECT_EQ(fp8.fp8->blockRows, 128);
  EXPECT_EQ(fp8.fp8->blockCols, 64);
  EXPECT_FALSE(loadModified([](json &c) { c["quantization_config"] = nullptr; }).fp8.has_value());
  auto withField = [&](const char *field, json value) {
    return [=](json &c) {
      c["quantization_config"] = release;
      c["quantization_config"][field] = value;
    };
  };
  EXPECT_ERROR_CONTAINS(loadModified(withField("quant_method", "awq")), path(),
                        "quantization_config: field 'quant_method' is \"awq\"; ember reads only \"fp8\"");
  EXPECT_ERROR_CONTAINS(loadModified(withField("fmt", "e5m2")), "field 'fmt' is \"e5m2\"; ember reads only \"e4m3\"");
  EXPECT_ERROR_CONTAINS(loadModified(withField("activation_scheme", "static")),
                        "static activation scales are not supported");
  EXPECT_ERROR_CONTAINS(loadModified(withField("weight_block_size", {128})),
                        "field 'weight_block_size' must be [rows, cols], got [128]");
  EXPECT_ERROR_CONTAINS(loadModified(withField("weight_block_size", 128)),
                        "field 'weight_block_size' must be [rows, cols], got 128");
  EXPECT_ERROR_CONTAINS(loadModified(withField("weight_block_size", {0, 128})),
                        "quantization_config: field 'weight_block_size' must be >= 1, got 0");
  EXPECT_ERROR_CONTAINS(loadModified(withField("weight_block_size", {128, 1 << 20})), "field 'weight_block_size'",
                        "65536");
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) { c["quantization_config"] = "fp8"; }),
                        "quantization_config must be an object, got \"fp8\"");
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) {
                          c["quantization_config"] = {{"fmt", "e4m3"}};
                        }),
                        "quantization_config: missing field 'quant_method'");
}

TEST_F(ConfigErrors, TopkAtMostAllExperts) {
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) { c["moe_topk"] = 13; }), path(),
                        "field 'moe_topk' (13) must be <= n_routed_experts + zero_expert_num (12)");
}

TEST_F(ConfigErrors, InvalidJsonAndMissingFile) {
  test::writeBytes(path(), "{ not json");
  EXPECT_ERROR_CONTAINS(ModelConfig::load(path()), path(), "invalid JSON");
  EXPECT_ERROR_CONTAINS(ModelConfig::load(path() + ".missing"), "cannot open");
}

// A field beyond ember's limit is refused as it is read, before any size is
// computed from it: emb_split_num = 2^62 made numNgramTables() overflow to 0
// and every tool die of SIGFPE on hidden_size % 0.
TEST_F(ConfigErrors, FieldsBeyondTheirLimitAreRefusedBeforeAnyArithmetic) {
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) {
                          c["emb_split_num"] = int64_t(1) << 62;
                          c["emb_neighbor_num"] = 5;
                        }),
                        path(),
                        "field 'emb_split_num' (4611686018427387904) exceeds ember's limit of 64 (raise it with "
                        "EMBER_CONFIG_LIMITS=emb_split_num=N)");
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) { c["num_layers"] = 1'000'000; }),
                        "field 'num_layers' (1000000) exceeds ember's limit of 1024");
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) { c["n_routed_experts"] = int64_t(1) << 40; }),
                        "field 'n_routed_experts' (1099511627776) exceeds ember's limit of 65536");
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) {
                          c["rope_scaling"] = {{"type", "yarn"},
                                               {"factor", 2.0},
                                               {"original_max_position_embeddings", int64_t(1) << 40}};
                        }),
                        "rope_scaling: field 'original_max_position_embeddings' (1099511627776) exceeds ember's limit");
}

// The count the derived limit bounds is the one modelWeights() lists.
TEST(Config, CheckpointTensorCountIsTheWeightListsLength) {
  for (const char *preset : {"tiny", "tiny-n3k2", "small"}) {
    ModelConfig config = ModelConfig::load(presetPath(preset));
    size_t pieces = 0;
    for (const AbiWeight &weight : modelWeights(config))
      pieces += weight.pieces.size();
    EXPECT_EQ(config.checkpointTensorCount(), int64_t(pieces)) << preset;
  }
}

// Every field within its limit, but 1024 layers of 2^16 experts: listing
// their 2e8 tensor names took FuzzConfigFields over 2 GB and 10 s
// (test/fuzz corpus: config-fields-too-many-tensors).
TEST_F(ConfigErrors, TooManyCheckpointTensorsAreRefusedBeforeTheyAreListed) {
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) {
                          c["num_layers"] = 1024;
                          c["n_routed_experts"] = 65536;
                        }),
                        path(),
                        ": the config names 201353243 checkpoint tensors (num_layers 1024 x (3 x n_routed_experts "
                        "65536 + 26) + 2 x 12 n-gram tables + 3), beyond ember's limit of 1048576 (raise it with "
                        "EMBER_CONFIG_LIMITS=checkpoint_tensors=N)");
}

// Sets EMBER_CONFIG_LIMITS for one test.
class ScopedLimits {
public:
  explicit ScopedLimits(const char *value) { setenv("EMBER_CONFIG_LIMITS", value, 1); }
  ~ScopedLimits() { unsetenv("EMBER_CONFIG_LIMITS"); }
};

TEST_F(ConfigErrors, TheEnvironmentMovesTheLimits) {
  {
    ScopedLimits limits("num_layers=2000000,hidden_size=96,checkpoint_tensors=100000000");
    EXPECT_EQ(loadModified([](json &c) { c["num_layers"] = 1'000'000; }).numLayers, 1'000'000);
    EXPECT_ERROR_CONTAINS(loadModified([](json &c) { c["hidden_size"] = 192; }),
                          "field 'hidden_size' (192) exceeds ember's limit of 96");
  }
  {
    ScopedLimits limits("num_layer=5");
    EXPECT_ERROR_CONTAINS(ModelConfig::load(presetPath("tiny")),
                          "EMBER_CONFIG_LIMITS='num_layer=5': unknown field 'num_layer' (limits exist for ");
  }
  for (const char *bad : {"num_layers", "num_layers=", "num_layers=0", "num_layers=12x", "num_layers=-3"}) {
    ScopedLimits limits(bad);
    EXPECT_ERROR_CONTAINS(ModelConfig::load(presetPath("tiny")),
                          "the limit of 'num_layers' must be a positive integer");
  }
}

// With every limit raised as far as it goes, no product may overflow:
// each reproducer once crashed (SIGFPE on hidden_size % 0), wrapped the
// tensor count past its limit (then ran out of memory), or printed a
// negative sum of experts.
TEST_F(ConfigErrors, RaisedLimitsStillGiveCheckedArithmetic) {
  ScopedLimits limits("emb_split_num=9223372036854775807,emb_neighbor_num=9223372036854775807,"
                      "n_routed_experts=9223372036854775807,zero_expert_num=9223372036854775807,"
                      "moe_topk=9223372036854775807,hidden_size=9223372036854775807,"
                      "num_attention_heads=9223372036854775807,v_head_dim=9223372036854775807,"
                      "checkpoint_tensors=9223372036854775807");
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) {
                          c["emb_split_num"] = int64_t(1) << 62;
                          c["emb_neighbor_num"] = 5;
                        }),
                        path(), ": emb_split_num*(emb_neighbor_num-1) overflows int64");
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) { c["n_routed_experts"] = int64_t(6148914691236517206); }),
                        "the config names more than 9223372036854775807 checkpoint tensors (num_layers 2 x (3 x "
                        "n_routed_experts 6148914691236517206 + 26) + 2 x 12 n-gram tables + 3)");
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) {
                          c["n_routed_experts"] = INT64_MAX;
                          c["zero_expert_num"] = INT64_MAX;
                          c["moe_topk"] = INT64_MAX;
                        }),
                        "n_routed_experts+zero_expert_num) overflows int64");
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) { c["num_attention_heads"] = int64_t(1) << 60; }),
                        "num_attention_heads*(qk_nope_head_dim+qk_rope_head_dim) overflows int64");
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) { c["hidden_size"] = int64_t(3) << 40; }),
                        "tensor 'model.ngram_embeddings.post_projs.*.weight': shape [12, 3298534883328, 274877906944] "
                        "has too many elements");
  EXPECT_ERROR_CONTAINS(loadModified([](json &c) { c["hidden_size"] = int64_t(3) << 20; }), "the model's weights need ",
                        " bytes as f32, beyond ember's limit of 17592186044416 (raise it with "
                        "EMBER_CONFIG_LIMITS=model_bytes=N)");
}

// The derived byte limit counts every weight as f32.
TEST_F(ConfigErrors, ModelBytesBoundTheWholeWeightList) {
  ModelConfig tiny = ModelConfig::load(presetPath("tiny"));
  int64_t bytes = 0;
  for (const AbiWeight &weight : modelWeights(tiny))
    bytes += 4 * elementCount(weight.shape, weight.name);
  std::string atLimit = "model_bytes=" + std::to_string(bytes);
  {
    ScopedLimits limits(atLimit.c_str());
    EXPECT_EQ(ModelConfig::load(presetPath("tiny")).hiddenSize, tiny.hiddenSize);
  }
  std::string belowLimit = "model_bytes=" + std::to_string(bytes - 1);
  ScopedLimits limits(belowLimit.c_str());
  EXPECT_ERROR_CONTAINS(ModelConfig::load(presetPath("tiny")), "the model's weights need " + std::to_string(bytes) +
                                                                   " bytes as f32, beyond ember's limit of " +
                                                                   std::to_string(bytes - 1));
}

} // namespace
} // namespace ember::rt
