//===- FuseNgram.cpp - the n-gram embedding chain -> ember.ngram_embed ----===//
#include "passes/FusionSupport.h"
#include "passes/Passes.h"

#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <optional>

namespace mlir::ember {
#define GEN_PASS_DEF_EMBERFUSENGRAM
#include "passes/Passes.h.inc"
} // namespace mlir::ember

using namespace mlir;
using namespace mlir::ember;

namespace {

/// The ops of one n-gram embedding as models/NgramGraph.cpp builds it.
struct Chain {
  NgramIdsOp ids;
  MultiTableGatherOp rows, word;     // the n-gram rows; the word rows [T, 1, D]
  memref::CollapseShapeOp wordRows;  // word rows as [T, D]
  memref::ExpandShapeOp tokenColumn; // the word gather's ids: the tokens as [T, 1]
};

/// True when `buffer` is an allocation that only `users` and deallocations use.
bool isScratch(Value buffer, ArrayRef<Operation *> users) {
  return buffer.getDefiningOp<memref::AllocOp>() &&
         llvm::all_of(buffer.getUsers(), [&](Operation *user) {
           return isa<memref::DeallocOp>(user) || llvm::is_contained(users, user);
         });
}

/// The `OpTy` among `buffer`'s users that writes it.
template <typename OpTy> OpTy writerOf(Value buffer) {
  for (Operation *user : buffer.getUsers())
    if (auto op = dyn_cast<OpTy>(user); op && hasEffect<MemoryEffects::Write>(user, buffer))
      return op;
  return {};
}

/// The chain ending in `combine`, when fusing it changes nothing observable:
/// the rows are scratch, the word gather's ids are a [T, 1] view of a row of
/// tokens (the fused op's tokens operand), and nothing between the ids and
/// the combine writes memory.
std::optional<Chain> matchChain(NgramCombineOp combine) {
  Chain c;
  Value rows = combine.getRows();
  c.rows = writerOf<MultiTableGatherOp>(rows);
  if (!c.rows || !c.rows.getNgramAttr() || !isScratch(rows, {c.rows, combine}))
    return std::nullopt;
  c.ids = writerOf<NgramIdsOp>(c.rows.getIds());
  if (!c.ids || c.ids.getConfig() != c.rows.getNgramAttr())
    return std::nullopt;

  c.wordRows = combine.getWord().getDefiningOp<memref::CollapseShapeOp>();
  if (!c.wordRows || !c.wordRows->hasOneUse())
    return std::nullopt;
  Value word = c.wordRows.getSrc();
  c.word = writerOf<MultiTableGatherOp>(word);
  if (!c.word || c.word.getNgramAttr() || c.word.getRowOffsets() != ArrayRef<int64_t>{0} ||
      !isScratch(word, {c.word, c.wordRows}))
    return std::nullopt;
  c.tokenColumn = c.word.getIds().getDefiningOp<memref::ExpandShapeOp>();
  if (!c.tokenColumn || c.tokenColumn.getSrcType().getRank() != 1)
    return std::nullopt;

  // The fused op reads the token table and the weights where the combine
  // stands: both gathers must lie between the ids and it, with no write.
  Value out = combine.getOut();
  if (out == c.rows.getTable() || out == c.word.getTable() ||
      c.ids->getBlock() != combine->getBlock() || !c.ids->isBeforeInBlock(combine))
    return std::nullopt;
  int gathers = 0;
  for (Operation *op = c.ids->getNextNode(); op != combine; op = op->getNextNode()) {
    if (op == c.rows || op == c.word)
      ++gathers;
    else if (!isMemoryEffectFree(op) && !isa<memref::AllocOp>(op))
      return std::nullopt;
  }
  if (gathers != 2)
    return std::nullopt;
  return c;
}

struct FuseNgram : mlir::ember::impl::EmberFuseNgramBase<FuseNgram> {
  void runOnOperation() override {
    SmallVector<NgramCombineOp> candidates;
    getOperation().walk([&](NgramCombineOp op) { candidates.push_back(op); });
    for (NgramCombineOp op : candidates)
      if (std::optional<Chain> chain = matchChain(op))
        fuse(op, *chain);
  }

  void fuse(NgramCombineOp combine, Chain &c) {
    OpBuilder b(combine);
    NgramEmbedOp::create(b, combine.getLoc(), c.tokenColumn.getSrc(), c.ids.getTable(), c.ids.getSlots(),
                         c.ids.getPositions(), c.word.getTable(), c.rows.getTable(),
                         combine.getProjections(), combine.getOut(), c.ids.getConfig());
    ++numFused;
    Value rows = c.rows.getOut(), word = c.word.getOut(), ids = c.ids.getIds();
    for (Operation *op : {combine.getOperation(), c.wordRows.getOperation(),
                          c.word.getOperation(), c.rows.getOperation(),
                          c.tokenColumn.getOperation()})
      if (op->use_empty())
        op->erase();
    for (Value buffer : {rows, word})
      if (eraseIfUnused(buffer))
        ++numBuffersRemoved;

    // The ids stay when something else reads them (ember_ngram_embed
    // returns them); else their op and buffer go too.
    for (Operation *user : llvm::make_early_inc_range(ids.getUsers()))
      if (isa<memref::DimOp>(user) && user->use_empty())
        user->erase();
    auto idsOpOrDealloc = [&](Operation *user) {
      return user == c.ids || isa<memref::DeallocOp>(user);
    };
    if (!ids.getDefiningOp<memref::AllocOp>() || !llvm::all_of(ids.getUsers(), idsOpOrDealloc)) {
      ++numIdsKept;
      return;
    }
    c.ids->erase();
    if (eraseIfUnused(ids))
      ++numBuffersRemoved;
  }
};

} // namespace
