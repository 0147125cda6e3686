#include "ember/runtime/ModelWeights.h"
#include "ember/model/CheckpointNames.h"
#include "ember/model/Error.h"

#include "ModelCheckpoint.h"
#include "TestSupport.h"

#include <algorithm>
#include <cmath>

namespace ember::rt {
namespace {

// What streamTo delivers, which must be every byte once, in order.
std::vector<float> valuesOf(const ConcatenatedRows &buffer) {
  std::vector<std::byte> bytes;
  buffer.streamTo([&](size_t offset, const std::byte *data, size_t count) {
    EXPECT_EQ(offset, bytes.size());
    EXPECT_LE(count, ConcatenatedRows::kStreamChunkBytes);
    bytes.insert(bytes.end(), data, data + count);
  });
  EXPECT_EQ(bytes.size(), buffer.nbytes());
  std::vector<float> values(buffer.nbytes() / dtypeSize(buffer.dtype()));
  convertToFloat(bytes.data(), buffer.dtype(), values.size(), values.data());
  return values;
}

// Expected contents of a weight written by test::modelTensors: each piece's iota in order.
std::vector<float> iotaPieces(const AbiWeight &weight) {
  std::vector<float> values;
  for (const AbiPiece &piece : weight.pieces)
    for (int64_t i = 0; i < elementCount(piece.shape, piece.name); ++i)
      values.push_back(float(i));
  return values;
}

TEST(ModelWeights, BackToBackCheckpointIsMappedWithoutCopies) {
  test::TempDir dir;
  ModelConfig config = test::microConfig();
  writeSafetensors(dir.file("model.safetensors"), test::modelTensors(config, DType::BF16));
  Checkpoint checkpoint(dir.path());
  ModelWeights weights(config, checkpoint);
  EXPECT_EQ(weights.dtype(), DType::BF16);
  std::vector<AbiWeight> abi = modelWeights(config);
  ASSERT_EQ(weights.weights().size(), abi.size());
  EXPECT_EQ(weights.copiedBytes(), 0u);
  for (size_t i = 0; i < abi.size(); ++i) {
    const ModelWeights::Weight &weight = weights.weights()[i];
    EXPECT_EQ(weight.abi.name, abi[i].name);
    EXPECT_TRUE(weight.buffer.isZeroCopy()) << weight.abi.name;
    EXPECT_EQ(weight.buffer.data(), checkpoint.get(abi[i].pieces[0].name).data);
    EXPECT_EQ(weight.buffer.dtype(), abi[i].alwaysF32 ? DType::F32 : DType::BF16);
    EXPECT_EQ(weight.buffer.nbytes(),
              size_t(elementCount(abi[i].shape, abi[i].name)) * dtypeSize(weight.buffer.dtype()));
  }
}

TEST(ModelWeights, ScatteredPiecesAreCopiedInAbiOrder) {
  test::TempDir dir;
  ModelConfig config = test::microConfig();
  std::vector<TensorData> tensors = test::modelTensors(config, DType::F32);
  std::reverse(tensors.begin(), tensors.end()); // every multi-piece weight now lies backwards
  writeSafetensors(dir.file("model.safetensors"), tensors);
  Checkpoint checkpoint(dir.path());
  ModelWeights weights(config, checkpoint);
  for (const ModelWeights::Weight &weight : weights.weights()) {
    EXPECT_EQ(weight.buffer.isZeroCopy(), weight.abi.pieces.size() == 1) << weight.abi.name;
    // Streamed to where the decoder places it, never held on the host too.
    EXPECT_EQ(weight.buffer.data() == nullptr, !weight.buffer.isZeroCopy()) << weight.abi.name;
    if (!weight.abi.alwaysF32) {
      EXPECT_EQ(valuesOf(weight.buffer), iotaPieces(weight.abi)) << weight.abi.name;
    }
  }
  EXPECT_GT(weights.copiedBytes(), 0u);
  EXPECT_GT(weights.mappedBytes(), 0u);
}

TEST(ModelWeights, ConvertsToTheRequestedDtypeButKeepsF32Weights) {
  test::TempDir dir;
  ModelConfig config = test::microConfig();
  writeSafetensors(dir.file("model.safetensors"), test::modelTensors(config, DType::BF16, /*bias=*/0.25f));
  Checkpoint checkpoint(dir.path());
  ModelWeights weights(config, checkpoint, DType::F32);
  EXPECT_EQ(weights.dtype(), DType::F32);
  for (const ModelWeights::Weight &weight : weights.weights()) {
    EXPECT_EQ(weight.buffer.dtype(), DType::F32);
    EXPECT_EQ(weight.buffer.isZeroCopy(), weight.abi.alwaysF32) << weight.abi.name;
    if (weight.abi.alwaysF32) {
      EXPECT_EQ(valuesOf(weight.buffer)[0], 0.25f);
    } else {
      EXPECT_EQ(valuesOf(weight.buffer), iotaPieces(weight.abi)) << weight.abi.name;
    }
  }
}

TEST(ModelWeights, F16CheckpointGivesF16Weights) {
  test::TempDir dir;
  ModelConfig config = test::microConfig();
  writeSafetensors(dir.file("model.safetensors"), test::modelTensors(config, DType::F16));
  Checkpoint checkpoint(dir.path());
  EXPECT_EQ(checkpointWeightDType(checkpoint), DType::F16);
  EXPECT_EQ(ModelWeights(config, checkpoint).weights()[0].buffer.dtype(), DType::F16);
}

TEST(ModelWeights, ExtraTensorsAreIgnored) {
  test::TempDir dir;
  ModelConfig config = test::microConfig();
  std::vector<TensorData> tensors = test::modelTensors(config, DType::F32);
  tensors.push_back(test::iotaTensor("model.mtp.norm.weight", DType::F32, {6}));
  writeSafetensors(dir.file("model.safetensors"), tensors);
  writeSafetensors(dir.file("model-auxiliary.safetensors"),
                   {test::iotaTensor("model.mtp.layers.0.eh_proj.weight", DType::F32, {6, 12})});
  EXPECT_EQ(ModelWeights(config, Checkpoint(dir.path())).weights().size(), modelWeights(config).size());
}

TEST(ModelWeights, MissingTensorsAreListedInOneError) {
  test::TempDir dir;
  ModelConfig config = test::microConfig();
  std::vector<TensorData> tensors = test::modelTensors(config, DType::F32);
  // Drop 25 tensors after the first three (embedding, 2 tables).
  tensors.erase(tensors.begin() + 3, tensors.begin() + 28);
  writeSafetensors(dir.file("model.safetensors"), tensors);
  std::vector<AbiPiece> pieces;
  for (const AbiWeight &weight : modelWeights(config))
    pieces.insert(pieces.end(), weight.pieces.begin(), weight.pieces.end());
  EXPECT_ERROR_CONTAINS(ModelWeights(config, Checkpoint(dir.path())), dir.path(),
                        "checkpoint lacks 25 tensors the model needs: '" + pieces[3].name + "', '" + pieces[4].name +
                            "'",
                        "'" + pieces[22].name + "' and 5 more");
  tensors.erase(tensors.begin()); // the word embedding too: still one list, not a dtype lookup failure
  writeSafetensors(dir.file("model.safetensors"), tensors);
  EXPECT_ERROR_CONTAINS(ModelWeights(config, Checkpoint(dir.path())),
                        "lacks 26 tensors the model needs: '" + std::string(kWordEmbeddingName) + "'");
}

TEST(ModelWeights, OneMissingTensorIsSingular) {
  test::TempDir dir;
  ModelConfig config = test::microConfig();
  std::vector<TensorData> tensors = test::modelTensors(config, DType::F32);
  tensors.pop_back(); // lm_head
  writeSafetensors(dir.file("model.safetensors"), tensors);
  EXPECT_ERROR_CONTAINS(ModelWeights(config, Checkpoint(dir.path())),
                        "lacks 1 tensor the model needs: 'lm_head.weight'");
}

TEST(ModelWeights, ShapeMismatchNamesFileTensorAndShapes) {
  test::TempDir dir;
  ModelConfig config = test::microConfig();
  std::vector<TensorData> tensors = test::modelTensors(config, DType::BF16);
  auto expert = std::find_if(tensors.begin(), tensors.end(), [](const TensorData &tensor) {
    return tensor.spec.name == "model.layers.0.mlp.experts.1.down_proj.weight";
  });
  ASSERT_NE(expert, tensors.end());
  std::reverse(expert->spec.shape.begin(), expert->spec.shape.end()); // [D, Fe] -> [Fe, D]
  writeSafetensors(dir.file("model.safetensors"), tensors);
  EXPECT_ERROR_CONTAINS(ModelWeights(config, Checkpoint(dir.path())), dir.file("model.safetensors"),
                        "tensor 'model.layers.0.mlp.experts.1.down_proj.weight': expected shape [6, 2], got [2, 6]");
}

const ModelWeights::Weight &weightNamed(const ModelWeights &weights, const std::string &name) {
  for (const ModelWeights::Weight &weight : weights.weights())
    if (weight.abi.name == name)
      return weight;
  throw Error("no weight " + name);
}

TEST(ModelWeights, GeneratedRowsStreamEveryElementOnceInOrder) {
  // Two more elements than a stream chunk holds: a second chunk of 2.
  const int64_t width = int64_t(ConcatenatedRows::kStreamChunkBytes / sizeof(float) / 2) + 1;
  auto label = [](uint64_t element) { return float(element % 1000003); }; // exact in float
  ConcatenatedRows rows({2, width}, DType::F32, [&](uint64_t first, size_t count, float *out) {
    for (size_t i = 0; i < count; ++i)
      out[i] = label(first + i);
  });
  EXPECT_EQ(rows.data(), nullptr);
  EXPECT_FALSE(rows.isZeroCopy());
  EXPECT_EQ(rows.rows(), 2);
  EXPECT_EQ(rows.rowShape(), (Shape{width}));
  std::vector<float> values = valuesOf(rows);
  ASSERT_EQ(values.size(), size_t(2 * width));
  for (size_t i = 0; i < values.size(); ++i)
    ASSERT_EQ(values[i], label(i)) << i;
}

TEST(ModelWeights, RandomWeightsHaveTheAbisShapesAndAStableSpread) {
  ModelConfig config = ModelConfig::load(std::string(EMBER_PRESETS_DIR) + "/tiny.json");
  ModelWeights weights = ModelWeights::random(config, DType::BF16, 7);
  std::vector<AbiWeight> abi = modelWeights(config);
  ASSERT_EQ(weights.weights().size(), abi.size());
  EXPECT_EQ(weights.mappedBytes(), 0u);
  for (size_t i = 0; i < abi.size(); ++i) {
    const ModelWeights::Weight &weight = weights.weights()[i];
    EXPECT_EQ(weight.abi.name, abi[i].name);
    EXPECT_EQ(weight.buffer.dtype(), abi[i].alwaysF32 ? DType::F32 : DType::BF16);
    EXPECT_EQ(weight.buffer.nbytes(), size_t(elementCount(abi[i].shape, "")) * dtypeSize(weight.buffer.dtype()));
  }
  auto meanAndSpread = [&](const std::string &name) {
    std::vector<float> values = valuesOf(weightNamed(weights, name).buffer);
    double sum = 0, squares = 0;
    for (float value : values)
      sum += value;
    double mean = sum / double(values.size());
    for (float value : values)
      squares += (value - mean) * (value - mean);
    return std::pair{mean, std::sqrt(squares / double(values.size()))};
  };
  auto [embeddingMean, embeddingSpread] = meanAndSpread(kWordEmbeddingName); // 512 x 96 values
  EXPECT_NEAR(embeddingMean, 0.0, 0.01);
  EXPECT_NEAR(embeddingSpread, 0.5, 0.01);
  auto [normMean, normSpread] = meanAndSpread("model.norm.weight");
  EXPECT_NEAR(normMean, 1.0, 0.02);
  EXPECT_NEAR(normSpread, 0.05, 0.02);
  auto [headMean, headSpread] = meanAndSpread("lm_head.weight"); // [512, 96]: 1/sqrt(96)
  EXPECT_NEAR(headSpread, 1.0 / std::sqrt(96.0), 0.003);
  // The same seed gives the same values; another seed others.
  EXPECT_EQ(valuesOf(ModelWeights::random(config, DType::BF16, 7).weights()[0].buffer),
            valuesOf(weights.weights()[0].buffer));
  EXPECT_NE(valuesOf(ModelWeights::random(config, DType::BF16, 8).weights()[0].buffer),
            valuesOf(weights.weights()[0].buffer));
}

// micro with quantization_config (blocks of 1 x 4), and its checkpoint in bf16
// but for q_a_proj [2, 6]: F8_E4M3 values 0..11 with block scales [2, 2].
constexpr char kQuantized[] = "model.layers.0.self_attn.0.q_a_proj.weight";

ModelConfig fp8MicroConfig() {
  nlohmann::json raw = test::microConfig().raw;
  raw["quantization_config"] = {{"quant_method", "fp8"}, {"weight_block_size", {1, 4}}};
  return ModelConfig::fromJson(raw, "micro-fp8");
}

std::vector<TensorData> fp8Tensors(const ModelConfig &config) {
  std::vector<TensorData> tensors = test::modelTensors(config, DType::BF16);
  for (TensorData &tensor : tensors)
    if (tensor.spec.name == kQuantized)
      tensor = test::iotaTensor(kQuantized, DType::F8E4M3, {2, 6});
  // First: the writer keeps every tensor aligned to its element size.
  tensors.insert(tensors.begin(),
                 test::tensorFrom(fp8ScaleName(kQuantized), DType::F32, {2, 2}, {1.0f, 0.5f, 2.0f, 0.25f}));
  return tensors;
}

TEST(ModelWeights, Fp8BlocksAreDequantizedIntoTheWeightDType) {
  test::TempDir dir;
  ModelConfig config = fp8MicroConfig();
  writeSafetensors(dir.file("model.safetensors"), fp8Tensors(config));
  Checkpoint checkpoint(dir.path());
  ModelWeights weights(config, checkpoint);
  EXPECT_EQ(weights.dtype(), DType::BF16);
  const ModelWeights::Weight &weight = weightNamed(weights, kQuantized);
  EXPECT_FALSE(weight.buffer.isZeroCopy());
  EXPECT_EQ(weight.buffer.dtype(), DType::BF16);
  EXPECT_EQ(valuesOf(weight.buffer),
            (std::vector<float>{0, 1, 2, 3, 4 * 0.5f, 5 * 0.5f, 6 * 2, 7 * 2, 8 * 2, 9 * 2, 10 * 0.25f, 11 * 0.25f}));
  EXPECT_EQ(weights.dequantizedBytes(), 12u * 2u);
}

TEST(ModelWeights, Fp8ScaleErrorsNameTheTensors) {
  test::TempDir dir;
  ModelConfig config = fp8MicroConfig();
  auto load = [&](const ModelConfig &c, std::vector<TensorData> tensors) {
    writeSafetensors(dir.file("model.safetensors"), tensors);
    return ModelWeights(c, Checkpoint(dir.path()));
  };
  std::vector<TensorData> tensors = fp8Tensors(config);
  EXPECT_ERROR_CONTAINS(load(test::microConfig(), tensors), dir.file("model.safetensors"),
                        std::string("tensor '") + kQuantized + "' is F8_E4M3, but micro has no quantization_config");
  std::vector<TensorData> unscaled(tensors.begin() + 1, tensors.end());
  EXPECT_ERROR_CONTAINS(load(config, unscaled), "has no '" + fp8ScaleName(kQuantized) + "' (its block scales)");
  std::vector<TensorData> misshapen = tensors;
  misshapen.front() = test::tensorFrom(fp8ScaleName(kQuantized), DType::F32, {2, 1}, {1.0f, 1.0f});
  EXPECT_ERROR_CONTAINS(load(config, misshapen),
                        "tensor '" + fp8ScaleName(kQuantized) +
                            "': expected shape [2, 2] (the blocks of [2, 6] at weight_block_size [1, 4]), got [2, 1]");
  std::vector<TensorData> fp8Scales = tensors;
  fp8Scales.front().spec.dtype = DType::F8E4M3;
  fp8Scales.front().data.resize(4);
  EXPECT_ERROR_CONTAINS(load(config, fp8Scales), "block scales must be F32, BF16 or F16");
  std::vector<TensorData> fp8Norm = tensors;
  for (TensorData &tensor : fp8Norm)
    if (tensor.spec.name == "model.norm.weight")
      tensor = test::iotaTensor("model.norm.weight", DType::F8E4M3, {6});
  EXPECT_ERROR_CONTAINS(load(config, fp8Norm), "tensor 'model.norm.weight' is F8_E4M3, but ember reads FP8 only for "
                                               "block-scaled matrices");
  std::vector<TensorData> fp8Embedding = tensors;
  fp8Embedding[1] = test::iotaTensor(kWordEmbeddingName, DType::F8E4M3, {16, 6});
  EXPECT_ERROR_CONTAINS(load(config, fp8Embedding), "tensor 'model.embed_tokens.weight' is F8_E4M3; ember compiles "
                                                    "for the word embedding's dtype");
}

// The FP8 weight format's checkpoint: every weight an FP8 release quantizes
// in F8_E4M3 (values 0, 1, 2, ...), its block scales all 2 (first, so the
// writer keeps them aligned), the rest bf16.
std::vector<TensorData> fp8FormatTensors(const ModelConfig &config) {
  std::vector<TensorData> tensors = test::modelTensors(config, DType::BF16), scales;
  std::vector<AbiWeight> abi = modelWeights(config, /*fp8=*/true);
  size_t weightCount = modelWeights(config).size(); // the block scales follow the weights
  for (size_t index = 0; index < abi.size(); ++index)
    for (const AbiPiece &piece : abi[index].pieces) {
      if (index >= weightCount)
        scales.push_back(test::tensorFrom(piece.name, DType::F32, piece.shape,
                                          std::vector<float>(size_t(elementCount(piece.shape, piece.name)), 2.0f)));
      else if (abi[index].fp8)
        for (TensorData &tensor : tensors)
          if (tensor.spec.name == piece.name)
            tensor = test::iotaTensor(piece.name, DType::F8E4M3, piece.shape);
    }
  scales.insert(scales.end(), tensors.begin(), tensors.end());
  return scales;
}

TEST(ModelWeights, Fp8FormatPassesTheQuantizedBytesAndTheirScales) {
  test::TempDir dir;
  ModelConfig config = fp8MicroConfig();
  writeSafetensors(dir.file("model.safetensors"), fp8FormatTensors(config));
  Checkpoint checkpoint(dir.path());
  ModelWeights weights(config, checkpoint, DType::F8E4M3);
  EXPECT_EQ(weights.dtype(), DType::F8E4M3);
  EXPECT_EQ(weights.weights().size(), modelWeights(config).size() + size_t(kFp8ScalesPerLayer * config.numLayers));
  const ModelWeights::Weight &quantized = weightNamed(weights, kQuantized);
  EXPECT_EQ(quantized.buffer.dtype(), DType::F8E4M3);
  EXPECT_TRUE(quantized.buffer.isZeroCopy()); // the checkpoint's bytes, not dequantized
  EXPECT_EQ(valuesOf(quantized.buffer), valuesOf(ConcatenatedRows({&checkpoint.get(kQuantized)}, DType::F32)));
  const ModelWeights::Weight &scale = weightNamed(weights, fp8ScaleName(kQuantized));
  EXPECT_EQ(scale.buffer.dtype(), DType::F32);
  EXPECT_EQ(valuesOf(scale.buffer), std::vector<float>(4, 2.0f));
  EXPECT_EQ(weightNamed(weights, "model.norm.weight").buffer.dtype(), DType::BF16);
  EXPECT_EQ(weights.dequantizedBytes(), 0u);
}

TEST(ModelWeights, Fp8FormatErrorsNameTheTensors) {
  test::TempDir dir;
  auto load = [&](const ModelConfig &c, const std::vector<TensorData> &tensors) {
    writeSafetensors(dir.file("model.safetensors"), tensors);
    return ModelWeights(c, Checkpoint(dir.path()), DType::F8E4M3);
  };
  ModelConfig config = fp8MicroConfig();
  EXPECT_ERROR_CONTAINS(load(test::microConfig(), fp8FormatTensors(config)),
                        "micro: FP8 weights need the block size of quantization_config.weight_block_size");
  // Only q_a quantized: the other quantized weights' scales are missing.
  EXPECT_ERROR_CONTAINS(load(config, fp8Tensors(config)), "'model.layers.0.self_attn.0.q_b_proj.weight_scale_inv'");
  std::vector<TensorData> bf16Weight = fp8FormatTensors(config);
  for (TensorData &tensor : bf16Weight)
    if (tensor.spec.name == kQuantized)
      tensor = test::iotaTensor(kQuantized, DType::BF16, tensor.spec.shape);
  EXPECT_ERROR_CONTAINS(load(config, bf16Weight), std::string("tensor '") + kQuantized +
                                                      "' is BF16, but FP8 weights (--fp8-weights kernels) take '" +
                                                      kQuantized + "' as F8_E4M3");
}

} // namespace
} // namespace ember::rt
