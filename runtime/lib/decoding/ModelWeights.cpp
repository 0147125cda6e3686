#include "ember/runtime/ModelWeights.h"

#include "ember/model/CheckpointNames.h"
#include "ember/model/Error.h"

#include <cmath>

namespace ember::rt {

void checkNoMissingTensors(const std::vector<AbiWeight> &weights, const Checkpoint &checkpoint) {
  constexpr size_t kListed = 20;
  std::vector<std::string> missing;
  for (const AbiWeight &weight : weights)
    for (const AbiPiece &piece : weight.pieces)
      if (!checkpoint.find(piece.name))
        missing.push_back(piece.name);
  if (missing.empty())
    return;
  std::string list;
  for (size_t i = 0; i < missing.size() && i < kListed; ++i)
    list += (i ? ", '" : "'") + missing[i] + "'";
  if (missing.size() > kListed)
    list += " and " + std::to_string(missing.size() - kListed) + " more";
  throw Error(checkpoint.dir() + ": checkpoint lacks " + std::to_string(missing.size()) + " tensor" +
              (missing.size() == 1 ? "" : "s") + " the model needs: " + list);
}

DType checkpointWeightDType(const Checkpoint &checkpoint) {
  const TensorView &embedding = checkpoint.get(kWordEmbeddingName);
  if (embedding.dtype == DType::F8E4M3)
    throw Error(embedding.file + ": tensor '" + embedding.name +
                "' is F8_E4M3; ember compiles for the word embedding's dtype, which must be F32, BF16 or F16 (FP8 "
                "releases keep it in BF16 and quantize only linear weights)");
  return embedding.dtype;
}

// The scale tensor of each F8_E4M3 piece, checked against the config's
// block size; null for the other pieces.
static BlockScales blockScalesOf(const ModelConfig &config, const AbiWeight &weight,
                                 const std::vector<const TensorView *> &pieces, const Checkpoint &checkpoint) {
  BlockScales scales;
  for (const TensorView *piece : pieces) {
    scales.scaleInv.push_back(nullptr);
    if (piece->dtype != DType::F8E4M3)
      continue;
    std::string where = piece->file + ": tensor '" + piece->name + "' is F8_E4M3";
    if (weight.alwaysF32 || piece->shape.size() != 2)
      throw Error(where + ", but ember reads FP8 only for block-scaled matrices, and the model needs '" + weight.name +
                  "' in " + (weight.alwaysF32 ? "F32" : "F32, BF16 or F16"));
    if (!config.fp8)
      throw Error(where + ", but " + config.path +
                  " has no quantization_config: its weight_block_size is needed to read FP8 weights");
    const TensorView *scaleInv = checkpoint.find(fp8ScaleName(piece->name));
    if (!scaleInv)
      throw Error(where + ", but the checkpoint " + checkpoint.dir() + " has no '" + fp8ScaleName(piece->name) +
                  "' (its block scales)");
    auto [blockRows, blockCols] = *config.fp8;
    Shape expected{(piece->shape[0] + blockRows - 1) / blockRows, (piece->shape[1] + blockCols - 1) / blockCols};
    if (scaleInv->shape != expected)
      throw Error(scaleInv->file + ": tensor '" + scaleInv->name + "': expected shape " + formatShape(expected) +
                  " (the blocks of " + formatShape(piece->shape) + " at weight_block_size [" +
                  std::to_string(blockRows) + ", " + std::to_string(blockCols) + "]), got " +
                  formatShape(scaleInv->shape));
    if (scaleInv->dtype == DType::F8E4M3)
      throw Error(scaleInv->file + ": tensor '" + scaleInv->name +
                  "' is F8_E4M3; block scales must be F32, BF16 or F16");
    scales.scaleInv.back() = scaleInv;
    scales.blockRows = blockRows;
    scales.blockCols = blockCols;
  }
  return scales;
}

// Checks every name before the dtype lookup, so a bare directory gets the
// full list rather than just the first missing name.
static DType checkedWeightDType(const ModelConfig &config, const Checkpoint &checkpoint) {
  checkNoMissingTensors(modelWeights(config), checkpoint);
  return checkpointWeightDType(checkpoint);
}

ModelWeights::ModelWeights(const ModelConfig &config, const Checkpoint &checkpoint)
    : ModelWeights(config, checkpoint, checkedWeightDType(config, checkpoint)) {}

ModelWeights::ModelWeights(const ModelConfig &config, const Checkpoint &checkpoint, DType dtype)
    : ModelWeights(config, modelWeights(config, dtype == DType::F8E4M3), checkpoint, dtype) {}

// What a weight is passed as: f32 where it always is, its F8_E4M3 bytes in
// the FP8 weight format, bf16 for that format's other weights.
static DType argumentDType(const AbiWeight &weight, DType dtype) {
  if (weight.alwaysF32)
    return DType::F32;
  if (weight.fp8)
    return DType::F8E4M3;
  return dtype == DType::F8E4M3 ? DType::BF16 : dtype;
}

// In the FP8 weight format the quantized weights are passed as they lie:
// the checkpoint must hold them in F8_E4M3.
static void checkFp8Pieces(const AbiWeight &weight, const std::vector<const TensorView *> &pieces) {
  for (const TensorView *piece : pieces)
    if (piece->dtype != DType::F8E4M3)
      throw Error(piece->file + ": tensor '" + piece->name + "' is " + dtypeName(piece->dtype) +
                  ", but FP8 weights (--fp8-weights kernels) take '" + weight.name +
                  "' as F8_E4M3 with block scales, as an FP8 release holds it");
}

ModelWeights::ModelWeights(const ModelConfig &config, std::vector<AbiWeight> abi, const Checkpoint &checkpoint,
                           DType dtype)
    : dtype_(dtype) {
  checkNoMissingTensors(abi, checkpoint);
  weights_.reserve(abi.size());
  for (AbiWeight &weight : abi) {
    std::vector<const TensorView *> pieces;
    for (const AbiPiece &piece : weight.pieces)
      pieces.push_back(&checkpoint.get(piece.name, piece.shape));
    DType argument = argumentDType(weight, dtype);
    BlockScales scales;
    if (weight.fp8)
      checkFp8Pieces(weight, pieces);
    else
      scales = blockScalesOf(config, weight, pieces, checkpoint);
    for (size_t i = 0; i < scales.scaleInv.size(); ++i)
      if (scales.scaleInv[i])
        dequantizedBytes_ += pieces[i]->nbytes * dtypeSize(argument);
    ConcatenatedRows buffer(pieces, argument, ConcatenatedRows::Copy::Deferred, std::move(scales));
    weights_.push_back({std::move(weight), std::move(buffer)});
  }
}

// splitmix64: a counter-based generator, so any range of a weight can be
// generated on its own.
static uint64_t mixBits(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

ModelWeights ModelWeights::random(const ModelConfig &config, DType dtype, uint64_t seed) {
  ModelWeights weights(dtype);
  std::vector<AbiWeight> abi = modelWeights(config);
  for (size_t index = 0; index < abi.size(); ++index) {
    AbiWeight &weight = abi[index];
    double mean = 0, stddev = 1.0 / std::sqrt(double(weight.shape.back()));
    if (weight.alwaysF32)
      stddev = 0.01;
    else if (weight.gathered)
      stddev = 0.5;
    else if (weight.shape.size() == 1)
      mean = 1, stddev = 0.05;
    // Uniform on [mean - sqrt(3) stddev, mean + sqrt(3) stddev): that standard deviation.
    float low = float(mean - std::sqrt(3.0) * stddev), width = float(2 * std::sqrt(3.0) * stddev);
    uint64_t key = mixBits(seed ^ (uint64_t(index) << 48));
    ConcatenatedRows buffer(weight.shape, weight.alwaysF32 ? DType::F32 : dtype,
                            [=](uint64_t first, size_t count, float *out) {
                              for (size_t i = 0; i < count; ++i)
                                out[i] = low + width * float(mixBits(key + first + i) >> 40) * 0x1p-24f;
                            });
    weights.weights_.push_back({std::move(weight), std::move(buffer)});
  }
  return weights;
}

std::optional<ModelWeights> loadMtpWeights(const ModelConfig &config, const Checkpoint &checkpoint, DType dtype) {
  std::vector<AbiWeight> abi =
      mtpWeights(config, checkpoint.find(kMtpWordEmbeddingName) != nullptr, dtype == DType::F8E4M3);
  bool anyMtp = false;
  for (const AbiWeight &weight : abi)
    anyMtp = anyMtp || (weight.name.rfind("model.mtp.", 0) == 0 && checkpoint.find(weight.name));
  if (!anyMtp)
    return std::nullopt;
  return ModelWeights(config, std::move(abi), checkpoint, dtype);
}

size_t ModelWeights::mappedBytes() const {
  size_t bytes = 0;
  for (const Weight &weight : weights_)
    bytes += weight.buffer.isZeroCopy() ? weight.buffer.nbytes() : 0;
  return bytes;
}

size_t ModelWeights::copiedBytes() const {
  size_t bytes = 0;
  for (const Weight &weight : weights_)
    bytes += weight.buffer.isZeroCopy() ? 0 : weight.buffer.nbytes();
  return bytes;
}

} // namespace ember::rt
