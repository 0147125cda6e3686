#include "ember/runtime/NgramEmbedding.h"

#include "ember/model/CheckpointNames.h"
#include "ember/model/Error.h"

namespace ember::rt {

static std::vector<const TensorView *> fetchTables(const ModelConfig &config, const Checkpoint &checkpoint) {
  std::vector<const TensorView *> tables;
  for (int64_t i = 0; i < config.numNgramTables(); ++i)
    tables.push_back(&checkpoint.get(ngramEmbedderName(i), {config.ngramTableRows(i), config.ngramTableWidth()}));
  return tables;
}

static std::vector<const TensorView *> fetchProjections(const ModelConfig &config, const Checkpoint &checkpoint) {
  std::vector<const TensorView *> projections;
  for (int64_t i = 0; i < config.numNgramTables(); ++i)
    projections.push_back(&checkpoint.get(ngramPostProjName(i), {config.hiddenSize, config.ngramTableWidth()}));
  return projections;
}

// Checks the common dtype before any concatenation so a mismatch names both
// tensors rather than failing halfway through a copy.
static const TensorView *checkedWordEmbedding(const ModelConfig &config, const Checkpoint &checkpoint) {
  const TensorView &embedding = checkpoint.get(kWordEmbeddingName, {config.vocabSize, config.hiddenSize});
  for (int64_t i = 0; i < config.numNgramTables(); ++i)
    for (const std::string &name : {ngramEmbedderName(i), ngramPostProjName(i)}) {
      const TensorView &view = checkpoint.get(name);
      if (view.dtype != embedding.dtype)
        throw Error(view.file + ": tensor '" + name + "' has dtype " + dtypeName(view.dtype) + " but '" +
                    embedding.name + "' has " + dtypeName(embedding.dtype) +
                    "; the n-gram embedding needs one dtype for all its weights");
    }
  return &embedding;
}

NgramWeights::NgramWeights(const ModelConfig &config, const Checkpoint &checkpoint)
    : wordEmbedding(checkedWordEmbedding(config, checkpoint)), tables(fetchTables(config, checkpoint)),
      projections(fetchProjections(config, checkpoint)), dtype(wordEmbedding->dtype) {}

static const TensorView *checkedInMemoryView(const TensorView &view, const Shape &expectedShape, DType dtype) {
  if (view.shape != expectedShape)
    throw Error(view.file + ": tensor '" + view.name + "': expected shape " + formatShape(expectedShape) + ", got " +
                formatShape(view.shape));
  if (view.dtype != dtype)
    throw Error(view.file + ": tensor '" + view.name + "' has dtype " + dtypeName(view.dtype) + ", expected " +
                dtypeName(dtype) + "; the n-gram embedding needs one dtype for all its weights");
  return &view;
}

NgramWeights::NgramWeights(const ModelConfig &config, const TensorView &wordEmbeddingView,
                           const TensorView &tablesView, const TensorView &projectionsView)
    : wordEmbedding(checkedInMemoryView(wordEmbeddingView, {config.vocabSize, config.hiddenSize},
                                        wordEmbeddingView.dtype)),
      tables({checkedInMemoryView(tablesView, {config.ngramTotalRows(), config.ngramTableWidth()},
                                  wordEmbeddingView.dtype)}),
      projections({checkedInMemoryView(projectionsView,
                                       {config.numNgramTables() * config.hiddenSize, config.ngramTableWidth()},
                                       wordEmbeddingView.dtype)}),
      dtype(wordEmbeddingView.dtype) {}

void validateTokens(const std::vector<int32_t> &tokens, int64_t vocabSize) {
  for (size_t position = 0; position < tokens.size(); ++position)
    if (tokens[position] < 0 || tokens[position] >= vocabSize)
      throw Error("token id " + std::to_string(tokens[position]) + " at position " + std::to_string(position) +
                  " is out of range [0, " + std::to_string(vocabSize) + ")");
}

NgramEmbeddingRunner::NgramEmbeddingRunner(const ModelConfig &config, const Checkpoint &checkpoint,
                                           const std::string &artifactPath)
    : NgramEmbeddingRunner(config, NgramWeights(config, checkpoint), artifactPath) {}

NgramEmbeddingRunner::NgramEmbeddingRunner(const ModelConfig &config, NgramWeights weights,
                                           const std::string &artifactPath)
    : config_(config), weights_(std::move(weights)),
      artifact_(std::make_unique<NgramArtifact>(artifactPath, config_, weights_.dtype)) {}

void NgramEmbeddingRunner::run(const std::vector<int32_t> &tokens, float *embOut, int32_t *idsOut) const {
  if (tokens.empty())
    throw Error("n-gram embedding: the prompt is empty");
  validateTokens(tokens, config_.vocabSize);
  auto length = int64_t(tokens.size());
  int64_t hidden = config_.hiddenSize, tables = config_.numNgramTables(), width = config_.ngramTableWidth();

  // A one-slot token table holding exactly the prompt: no history before it.
  std::vector<int32_t> tokenTable(tokens), slots(tokens.size(), 0), positions(tokens.size());
  for (size_t t = 0; t < positions.size(); ++t)
    positions[t] = int32_t(t);
  auto tokensRef = rowMajorMemRef<int32_t, 1>(tokenTable.data(), {length});
  auto tokenTableRef = rowMajorMemRef<int32_t, 2>(tokenTable.data(), {1, length});
  auto slotsRef = rowMajorMemRef<int32_t, 1>(slots.data(), {length});
  auto positionsRef = rowMajorMemRef<int32_t, 1>(positions.data(), {length});
  // The artifact only reads the weights; the C interface has no const.
  auto wordEmbeddingRef = rowMajorMemRef<void, 2>(const_cast<std::byte *>(weights_.wordEmbedding->data),
                                                  {config_.vocabSize, hidden});
  auto tablesRef = rowMajorMemRef<void, 2>(const_cast<std::byte *>(weights_.tables.data()),
                                           {weights_.tables.rows(), width});
  auto projectionsRef = rowMajorMemRef<void, 3>(const_cast<std::byte *>(weights_.projections.data()),
                                                {tables, hidden, width});
  auto idsRef = rowMajorMemRef<int32_t, 2>(idsOut, {length, tables});
  auto embeddingsRef = rowMajorMemRef<float, 2>(embOut, {length, hidden});
  artifact_->embed()(&tokensRef, &tokenTableRef, &slotsRef, &positionsRef, &wordEmbeddingRef, &tablesRef,
                     &projectionsRef, &idsRef, &embeddingsRef);
}

} // namespace ember::rt
