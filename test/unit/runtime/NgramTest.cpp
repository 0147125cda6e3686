#include "ember/model/CheckpointNames.h"
#include "ember/model/Error.h"
#include "ember/runtime/NgramArtifact.h"
#include "ember/runtime/NgramEmbedding.h"

#include "FakeNgramCall.h"
#include "TestSupport.h"

#include <dlfcn.h>

namespace ember::rt {
namespace {

using nlohmann::json;

// V=8, D=6, N=3, K=1 (E=2 tables of width 3), ratio 1: M_0 = 9, M_1 = 11.
ModelConfig smallConfig() {
  json config = ModelConfig::load(std::string(EMBER_PRESETS_DIR) + "/tiny.json").raw;
  config["vocab_size"] = 8;
  config["hidden_size"] = 6;
  config["emb_neighbor_num"] = 3;
  config["emb_split_num"] = 1;
  config["ngram_vocab_size_ratio"] = 1;
  return ModelConfig::fromJson(config, "small");
}

// The embedding tensors of smallConfig(), embedders and projections each back
// to back unless `interleave` puts a projection between the embedders.
std::vector<TensorData> embeddingTensors(const ModelConfig &config, DType dtype, bool interleave = false) {
  std::vector<TensorData> tensors = {
      test::iotaTensor(kWordEmbeddingName, dtype, {config.vocabSize, config.hiddenSize})};
  int64_t width = config.ngramTableWidth();
  for (int64_t i = 0; i < config.numNgramTables(); ++i) {
    tensors.push_back(test::iotaTensor(ngramEmbedderName(i), dtype, {config.ngramTableRows(i), width}));
    if (interleave)
      tensors.push_back(test::iotaTensor(ngramPostProjName(i), dtype, {config.hiddenSize, width}));
  }
  if (!interleave)
    for (int64_t i = 0; i < config.numNgramTables(); ++i)
      tensors.push_back(test::iotaTensor(ngramPostProjName(i), dtype, {config.hiddenSize, width}));
  return tensors;
}

TEST(ConcatenatedRows, BackToBackTensorsAreAView) {
  test::TempDir dir;
  ModelConfig config = smallConfig();
  writeSafetensors(dir.file("model.safetensors"), embeddingTensors(config, DType::BF16));
  Checkpoint checkpoint(dir.path());
  NgramWeights weights(config, checkpoint);
  EXPECT_TRUE(weights.tables.isZeroCopy());
  EXPECT_TRUE(weights.projections.isZeroCopy());
  EXPECT_EQ(weights.tables.data(), checkpoint.get(ngramEmbedderName(0)).data);
  EXPECT_EQ(weights.tables.rows(), config.ngramTotalRows());
  EXPECT_EQ(weights.tables.rowShape(), (Shape{3}));
  EXPECT_EQ(weights.projections.rows(), 2 * config.hiddenSize);
  EXPECT_EQ(weights.dtype, DType::BF16);
}

TEST(ConcatenatedRows, ScatteredTensorsAreCopiedInOrder) {
  test::TempDir dir;
  ModelConfig config = smallConfig();
  writeSafetensors(dir.file("model.safetensors"), embeddingTensors(config, DType::F32, /*interleave=*/true));
  Checkpoint checkpoint(dir.path());
  NgramWeights weights(config, checkpoint);
  ASSERT_FALSE(weights.tables.isZeroCopy());
  const TensorView &first = checkpoint.get(ngramEmbedderName(0));
  const TensorView &second = checkpoint.get(ngramEmbedderName(1));
  ASSERT_EQ(weights.tables.nbytes(), first.nbytes + second.nbytes);
  EXPECT_EQ(std::memcmp(weights.tables.data(), first.data, first.nbytes), 0);
  EXPECT_EQ(std::memcmp(weights.tables.data() + first.nbytes, second.data, second.nbytes), 0);
}

TEST(ConcatenatedRows, TensorsInDifferentFilesAreCopied) {
  test::TempDir dir;
  writeSafetensors(dir.file("a.safetensors"), {test::iotaTensor("a", DType::F32, {2, 2})});
  writeSafetensors(dir.file("b.safetensors"), {test::iotaTensor("b", DType::F32, {1, 2}, 4)});
  SafetensorsFile a(dir.file("a.safetensors")), b(dir.file("b.safetensors"));
  ConcatenatedRows rows({a.find("a"), b.find("b")});
  EXPECT_FALSE(rows.isZeroCopy());
  EXPECT_EQ(rows.rows(), 3);
  std::vector<float> values(6);
  convertToFloat(rows.data(), DType::F32, 6, values.data());
  EXPECT_EQ(values, (std::vector<float>{0, 1, 2, 3, 4, 5}));
}

TEST(ConcatenatedRows, RejectsMixedDtypesAndWidths) {
  test::TempDir dir;
  writeSafetensors(dir.file("m.safetensors"), {test::iotaTensor("f", DType::F32, {2, 2}),
                                               test::iotaTensor("g", DType::F32, {2, 3}),
                                               test::iotaTensor("h", DType::BF16, {2, 2})});
  SafetensorsFile file(dir.file("m.safetensors"));
  EXPECT_ERROR_CONTAINS(ConcatenatedRows({file.find("f"), file.find("h")}),
                        "tensor 'h' has dtype BF16 but tensor 'f' has F32");
  EXPECT_ERROR_CONTAINS(ConcatenatedRows({file.find("f"), file.find("g")}),
                        "tensor 'g' has shape [2, 3], expected rows of shape [2]");
}

TEST(NgramWeights, ShapeAndDtypeChecks) {
  test::TempDir dir;
  ModelConfig config = smallConfig();
  std::vector<TensorData> tensors = embeddingTensors(config, DType::BF16);
  tensors.back() = test::iotaTensor(ngramPostProjName(1), DType::F16, {config.hiddenSize, 3});
  writeSafetensors(dir.file("model.safetensors"), tensors);
  EXPECT_ERROR_CONTAINS(NgramWeights(config, Checkpoint(dir.path())),
                        "tensor 'model.ngram_embeddings.post_projs.1.weight' has dtype F16 but "
                        "'model.embed_tokens.weight' has BF16");

  tensors = embeddingTensors(config, DType::BF16);
  tensors[1] = test::iotaTensor(ngramEmbedderName(0), DType::BF16, {8, 3}); // M_0 is 9
  writeSafetensors(dir.file("model.safetensors"), tensors);
  EXPECT_ERROR_CONTAINS(NgramWeights(config, Checkpoint(dir.path())),
                        "tensor 'model.ngram_embeddings.embedders.0.weight': expected shape [9, 3], got [8, 3]");
}

TEST(NgramEmbedding, ValidateTokens) {
  EXPECT_NO_THROW(validateTokens({0, 7, 3}, 8));
  EXPECT_ERROR_CONTAINS(validateTokens({0, 8, 3}, 8), "token id 8 at position 1 is out of range [0, 8)");
  EXPECT_ERROR_CONTAINS(validateTokens({-1}, 8), "token id -1 at position 0 is out of range [0, 8)");
}

TEST(NgramArtifact, LoadErrorsCarryDlerror) {
  ModelConfig tiny = ModelConfig::load(std::string(EMBER_PRESETS_DIR) + "/tiny.json");
  EXPECT_ERROR_CONTAINS(NgramArtifact("/nonexistent/artifact.so", tiny, DType::BF16), "/nonexistent/artifact.so",
                        "cannot load compiled artifact", "No such file");
  test::TempDir dir;
  test::writeBytes(dir.file("junk.so"), "not an ELF file");
  EXPECT_ERROR_CONTAINS(NgramArtifact(dir.file("junk.so"), tiny, DType::BF16), "junk.so",
                        "cannot load compiled artifact");
}

TEST(NgramEmbedding, RunnerPassesDescriptorsOfTheRightShape) {
  test::TempDir dir;
  ModelConfig config = smallConfig();
  writeSafetensors(dir.file("model.safetensors"), embeddingTensors(config, DType::BF16));
  Checkpoint checkpoint(dir.path());
  NgramEmbeddingRunner runner(config, checkpoint, EMBER_FAKE_ARTIFACT);

  std::vector<int32_t> tokens = {1, 5, 2, 7};
  std::vector<float> embeddings(4 * 6);
  std::vector<int32_t> ids(4 * 2);
  runner.run(tokens, embeddings.data(), ids.data());
  EXPECT_EQ(ids, (std::vector<int32_t>{100, 101, 500, 501, 200, 201, 700, 701}));
  EXPECT_EQ(embeddings[6 + 2], 1002.0f);

  void *handle = dlopen(EMBER_FAKE_ARTIFACT, RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(handle, nullptr);
  auto *call = static_cast<FakeNgramCall *>(dlsym(handle, "fake_ngram_last_call"));
  ASSERT_NE(call, nullptr);
  // The rows' coordinates were the runner's (freed by now); the ids above
  // show they named each token's own table entry.
  EXPECT_EQ(call->tokens.sizes[0], 4);
  EXPECT_EQ(call->slots.sizes[0], 4);
  EXPECT_EQ(call->positions.sizes[0], 4);
  EXPECT_EQ(call->tokenTable.sizes[0], 1);
  EXPECT_EQ(call->tokenTable.sizes[1], 4);
  EXPECT_EQ(call->wordEmbedding.aligned, checkpoint.get(kWordEmbeddingName).data);
  EXPECT_EQ(call->wordEmbedding.sizes[0], 8);
  EXPECT_EQ(call->wordEmbedding.sizes[1], 6);
  EXPECT_EQ(call->ngramTables.aligned, checkpoint.get(ngramEmbedderName(0)).data);
  EXPECT_EQ(call->ngramTables.sizes[0], 9 + 11);
  EXPECT_EQ(call->ngramTables.sizes[1], 3);
  EXPECT_EQ(call->projections.aligned, checkpoint.get(ngramPostProjName(0)).data);
  EXPECT_EQ(call->projections.sizes[0], 2);
  EXPECT_EQ(call->projections.sizes[1], 6);
  EXPECT_EQ(call->projections.sizes[2], 3);
  EXPECT_EQ(call->projections.strides[0], 18);
  EXPECT_EQ(call->projections.strides[1], 3);
  EXPECT_EQ(call->projections.strides[2], 1);
  EXPECT_EQ(call->idsOut.aligned, ids.data());
  EXPECT_EQ(call->embeddingsOut.sizes[0], 4);
  EXPECT_EQ(call->embeddingsOut.strides[0], 6);
  dlclose(handle);

  EXPECT_ERROR_CONTAINS(runner.run({1, 9}, embeddings.data(), ids.data()), "token id 9 at position 1");
  EXPECT_ERROR_CONTAINS(runner.run({}, embeddings.data(), ids.data()), "the prompt is empty");
}

TEST(MemRef, RowMajorStrides) {
  float data[24];
  auto ref = rowMajorMemRef<float, 3>(data, {2, 3, 4});
  EXPECT_EQ(ref.aligned, data);
  EXPECT_EQ(ref.offset, 0);
  EXPECT_EQ(ref.strides[0], 12);
  EXPECT_EQ(ref.strides[1], 4);
  EXPECT_EQ(ref.strides[2], 1);
  EXPECT_EQ(ref.sizes[1], 3);
}

} // namespace
} // namespace ember::rt
