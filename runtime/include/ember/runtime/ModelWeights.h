#pragma once

#include "ember/runtime/ConcatenatedRows.h"
#include "ember/model/Config.h"
#include "ember/model/ModelAbi.h"
#include "ember/runtime/Safetensors.h"

#include <array>
#include <optional>
#include <vector>

namespace ember::rt {

// The weight arguments of the compiled decoder, modelWeights(config), bound to
// a checkpoint: every piece is shape-checked, and each argument is one buffer
// of the artifact's weight dtype (f32 where alwaysF32) — a view of the mapped
// file when its pieces already lie there back to back in that dtype, else a
// copy. Extra checkpoint tensors (e.g. model.mtp.*) are ignored. Valid while
// the Checkpoint lives.
class ModelWeights {
public:
  // The weight dtype is the checkpoint's: checkpointWeightDType().
  ModelWeights(const ModelConfig &config, const Checkpoint &checkpoint);
  ModelWeights(const ModelConfig &config, const Checkpoint &checkpoint, DType dtype);
  // Any argument list, e.g. mtpWeights(config, ...).
  ModelWeights(std::vector<AbiWeight> abi, const Checkpoint &checkpoint, DType dtype);

  struct Weight {
    AbiWeight abi;
    ConcatenatedRows buffer; // abi.shape in buffer.dtype()
  };
  const std::vector<Weight> &weights() const { return weights_; }
  DType dtype() const { return dtype_; }
  size_t mappedBytes() const; // held as views of the checkpoint
  size_t copiedBytes() const; // held in owned buffers

  // The word embedding [V, D], n-gram tables [sum M_i, D/E] and projections
  // [E * D, D/E], as NgramWeights' in-memory constructor takes them, so the
  // n-gram runner shares these buffers.
  std::array<TensorView, 3> ngramEmbeddingViews() const;

private:
  std::vector<Weight> weights_;
  DType dtype_;
};

// The MTP drafter's weights (mtpWeights) in `dtype`, or nothing when the
// checkpoint has no model.mtp.* tensors at all; throws listing the missing
// ones when it has only some.
std::optional<ModelWeights> loadMtpWeights(const ModelConfig &config, const Checkpoint &checkpoint, DType dtype);

// The dtype an artifact for this checkpoint is compiled for: that of
// model.embed_tokens.weight.
DType checkpointWeightDType(const Checkpoint &checkpoint);

// Throws one error naming the model directory and the tensors of `weights`
// the checkpoint lacks (the first 20, then "and N more").
void checkNoMissingTensors(const std::vector<AbiWeight> &weights, const Checkpoint &checkpoint);

} // namespace ember::rt
