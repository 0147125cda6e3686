#include "ember/runtime/ModelWeights.h"

#include "ember/model/CheckpointNames.h"
#include "ember/model/Error.h"

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

DType checkpointWeightDType(const Checkpoint &checkpoint) { return checkpoint.get(kWordEmbeddingName).dtype; }

// Checks every name before the dtype lookup, so a bare directory gets the
// full list rather than just the first missing name.
static DType checkedWeightDType(const ModelConfig &config, const Checkpoint &checkpoint) {
  checkNoMissingTensors(modelWeights(config), checkpoint);
  return checkpointWeightDType(checkpoint);
}

ModelWeights::ModelWeights(const ModelConfig &config, const Checkpoint &checkpoint)
    : ModelWeights(config, checkpoint, checkedWeightDType(config, checkpoint)) {}

ModelWeights::ModelWeights(const ModelConfig &config, const Checkpoint &checkpoint, DType dtype)
    : ModelWeights(modelWeights(config), checkpoint, dtype) {}

ModelWeights::ModelWeights(std::vector<AbiWeight> abi, const Checkpoint &checkpoint, DType dtype) : dtype_(dtype) {
  checkNoMissingTensors(abi, checkpoint);
  weights_.reserve(abi.size());
  for (AbiWeight &weight : abi) {
    std::vector<const TensorView *> pieces;
    for (const AbiPiece &piece : weight.pieces)
      pieces.push_back(&checkpoint.get(piece.name, piece.shape));
    ConcatenatedRows buffer(pieces, weight.alwaysF32 ? DType::F32 : dtype, ConcatenatedRows::Copy::Deferred);
    weights_.push_back({std::move(weight), std::move(buffer)});
  }
}

std::optional<ModelWeights> loadMtpWeights(const ModelConfig &config, const Checkpoint &checkpoint, DType dtype) {
  std::vector<AbiWeight> abi = mtpWeights(config, checkpoint.find(kMtpWordEmbeddingName) != nullptr);
  bool anyMtp = false;
  for (const AbiWeight &weight : abi)
    anyMtp = anyMtp || (weight.name.rfind("model.mtp.", 0) == 0 && checkpoint.find(weight.name));
  if (!anyMtp)
    return std::nullopt;
  return ModelWeights(std::move(abi), checkpoint, dtype);
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
