//===- FuseMoeCombine.cpp - expert_down + moe_combine -> expert_down_combine ===//
#include "passes/FusionSupport.h"
#include "passes/Passes.h"

#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SmallVectorExtras.h"

#include <optional>

namespace mlir::ember {
#define GEN_PASS_DEF_EMBERFUSEMOECOMBINE
#include "passes/Passes.h.inc"
} // namespace mlir::ember

using namespace mlir;
using namespace mlir::ember;

namespace {

/// True when some op strictly between `first` and `last` may change one of
/// `buffers`: it writes or frees a view of one, or writes memory it does
/// not name.
bool writtenBetween(Operation *first, Operation *last, ArrayRef<Value> buffers) {
  SmallVector<Value> roots = llvm::map_to_vector(buffers, rootBuffer);
  for (Operation *op = first->getNextNode(); op != last; op = op->getNextNode()) {
    auto effecting = dyn_cast<MemoryEffectOpInterface>(op);
    if (!effecting) {
      if (!isMemoryEffectFree(op))
        return true;
      continue;
    }
    SmallVector<MemoryEffects::EffectInstance> effects;
    effecting.getEffects(effects);
    for (const MemoryEffects::EffectInstance &effect : effects) {
      if (isa<MemoryEffects::Read, MemoryEffects::Allocate>(effect.getEffect()))
        continue;
      Value target = effect.getValue();
      if (!target || llvm::is_contained(roots, rootBuffer(target)))
        return true;
    }
  }
  return false;
}

/// The dispatch and down projection feeding `combine`, when fusing them
/// changes nothing observable.
struct Chain {
  MoeDispatchOp dispatch;
  ExpertDownOp down;
};

std::optional<Chain> matchChain(MoeCombineOp combine) {
  Value y = combine.getY(), experts = combine.getExperts();
  Chain c;
  for (Operation *user : y.getUsers())
    if (auto down = dyn_cast<ExpertDownOp>(user); down && down.getY() == y)
      c.down = down;
  if (!c.down || !y.getDefiningOp<memref::AllocOp>() ||
      !llvm::all_of(y.getUsers(), [&](Operation *user) {
        return user == c.down || user == combine || isa<memref::DeallocOp>(user);
      }))
    return std::nullopt;
  Value order = c.down.getOrder();
  for (Operation *user : order.getUsers())
    if (auto dispatch = dyn_cast<MoeDispatchOp>(user); dispatch && dispatch.getOrder() == order)
      c.dispatch = dispatch;
  if (!c.dispatch || c.dispatch.getExperts() != experts || c.down.getExperts() != experts ||
      c.dispatch.getNRouted() != combine.getNRouted() ||
      cast<MemRefType>(c.down.getDown().getType()).getDimSize(0) !=
          static_cast<int64_t>(combine.getNRouted()))
    return std::nullopt;

  // The fused op computes the down projections where the combine stands,
  // from the rows the dispatch sorted, and writes the residual while it
  // reads h and the weights.
  Block *block = combine->getBlock();
  if (c.dispatch->getBlock() != block || c.down->getBlock() != block ||
      !c.dispatch->isBeforeInBlock(c.down) || !c.down->isBeforeInBlock(combine))
    return std::nullopt;
  Value h = c.down.getH(), down = c.down.getDown();
  if (writtenBetween(c.dispatch, c.down, {experts, order}) ||
      writtenBetween(c.down, combine, {experts, h, down}) ||
      llvm::is_contained({rootBuffer(h), rootBuffer(down)}, rootBuffer(combine.getOut())))
    return std::nullopt;
  return c;
}

struct FuseMoeCombine : mlir::ember::impl::EmberFuseMoeCombineBase<FuseMoeCombine> {
  void runOnOperation() override {
    SmallVector<MoeCombineOp> candidates;
    getOperation().walk([&](MoeCombineOp op) { candidates.push_back(op); });
    for (MoeCombineOp op : candidates)
      if (std::optional<Chain> chain = matchChain(op))
        fuse(op, *chain);
  }

  void fuse(MoeCombineOp combine, Chain &c) {
    // rows [T*k] i32, like order: allocated next to the dispatch, freed
    // after its only reader.
    Value order = c.dispatch.getOrder();
    auto orderType = cast<MemRefType>(order.getType());
    auto rowsType = MemRefType::get(orderType.getShape(), orderType.getElementType());
    OpBuilder b(c.dispatch);
    SmallVector<Value> sizes;
    if (orderType.isDynamicDim(0))
      sizes.push_back(memref::DimOp::create(b, c.dispatch.getLoc(), order, 0));
    Value rows = memref::AllocOp::create(b, c.dispatch.getLoc(), rowsType, sizes);
    MoeGroupOp::create(b, c.dispatch.getLoc(), c.dispatch.getExperts(), order, rows,
                       c.dispatch.getNRoutedAttr());

    b.setInsertionPoint(combine);
    ExpertDownCombineOp::create(b, combine.getLoc(), combine.getX(), c.down.getH(),
                                c.down.getDown(), combine.getExperts(), combine.getWeights(), rows,
                                combine.getOut(), combine.getNRoutedAttr());
    memref::DeallocOp::create(b, combine.getLoc(), rows);
    Value y = combine.getY();
    combine->erase();
    c.down->erase();
    c.dispatch->erase();
    eraseIfUnused(y);
    ++numFused;
  }
};

} // namespace
