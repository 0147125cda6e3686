//===- FuseMoeCombine.cpp - expert_down + moe_combine -> expert_down_combine ===//
#include "passes/FusionSupport.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

#include <algorithm>
#include <optional>

namespace mlir::ember {
#define GEN_PASS_DEF_EMBERFUSEMOECOMBINE
#include "passes/Passes.h.inc"
} // namespace mlir::ember

using namespace mlir;
using namespace mlir::ember;

namespace {

/// The dispatch, projections and allocations feeding `combine`, when
/// fusing them changes nothing observable.
struct Chain {
  MoeDispatchOp dispatch;
  ExpertGateUpOp gateUp;
  ExpertDownOp down;
  memref::AllocOp order, h;
};

/// `value`'s allocation when `isAllowedUser` accepts each of its users but
/// deallocations.
memref::AllocOp allocUsedOnlyBy(Value value, function_ref<bool(Operation *)> isAllowedUser) {
  auto alloc = value.getDefiningOp<memref::AllocOp>();
  if (!alloc || !llvm::all_of(value.getUsers(), [&](Operation *user) {
        return isa<memref::DeallocOp>(user) || isAllowedUser(user);
      }))
    return {};
  return alloc;
}

std::optional<Chain> matchChain(MoeCombineOp combine) {
  Value y = combine.getY(), experts = combine.getExperts();
  Chain c;
  for (Operation *user : y.getUsers())
    if (auto down = dyn_cast<ExpertDownOp>(user); down && down.getY() == y)
      c.down = down;
  if (!c.down ||
      !allocUsedOnlyBy(y, [&](Operation *user) { return user == c.down || user == combine; }))
    return std::nullopt;
  Value order = c.down.getOrder(), h = c.down.getH();
  for (Operation *user : order.getUsers()) {
    if (auto dispatch = dyn_cast<MoeDispatchOp>(user); dispatch && dispatch.getOrder() == order)
      c.dispatch = dispatch;
    if (auto gateUp = dyn_cast<ExpertGateUpOp>(user); gateUp && gateUp.getH() == h)
      c.gateUp = gateUp;
  }
  if (!c.dispatch || !c.gateUp)
    return std::nullopt;
  c.order = allocUsedOnlyBy(order, [&](Operation *user) {
    return user == c.dispatch || user == c.gateUp || user == c.down;
  });
  c.h = allocUsedOnlyBy(h, [&](Operation *user) { return user == c.gateUp || user == c.down; });
  auto numRouted = static_cast<int64_t>(combine.getNRouted());
  if (!c.order || !c.h || c.dispatch.getExperts() != experts ||
      c.gateUp.getExperts() != experts || c.down.getExperts() != experts ||
      c.dispatch.getNRouted() != combine.getNRouted() ||
      cast<MemRefType>(c.gateUp.getGate().getType()).getDimSize(0) != numRouted ||
      cast<MemRefType>(c.down.getDown().getType()).getDimSize(0) != numRouted)
    return std::nullopt;

  // The fused op computes the down projections where the combine stands,
  // from the rows the dispatch sorted, and writes the residual while it
  // reads h and the weights.
  Block *block = combine->getBlock();
  Operation *ops[] = {c.dispatch, c.gateUp, c.down, combine};
  ArrayRef<Operation *> sequence(ops);
  for (auto [before, after] : llvm::zip(sequence.drop_back(), sequence.drop_front()))
    if (before->getBlock() != block || !before->isBeforeInBlock(after))
      return std::nullopt;
  Value down = c.down.getDown();
  if (mayWriteBetween(c.dispatch->getNextNode(), c.down, {experts, order}) ||
      mayWriteBetween(c.down->getNextNode(), combine, {experts, h, down}) ||
      llvm::is_contained({rootBuffer(h), rootBuffer(down)}, rootBuffer(combine.getOut())))
    return std::nullopt;
  return c;
}

struct FuseMoeCombine : mlir::ember::impl::EmberFuseMoeCombineBase<FuseMoeCombine> {
  using Base::Base;

  void runOnOperation() override {
    if (rowsPerTile < 1) {
      getOperation()->emitError() << "ember-fuse-moe-combine: rows-per-tile must be >= 1, got "
                                  << rowsPerTile.getValue();
      return signalPassFailure();
    }
    SmallVector<MoeCombineOp> candidates;
    getOperation().walk([&](MoeCombineOp op) { candidates.push_back(op); });
    for (MoeCombineOp op : candidates)
      if (std::optional<Chain> chain = matchChain(op))
        fuse(op, *chain);
  }

  /// With W > 1 rows per tile, new order and h buffers with room for the
  /// padding: T*k + min(T*k, R) * (W - 1) rows, allocated at the dispatch.
  std::pair<Value, Value> paddedBuffers(OpBuilder &b, Chain &c) {
    Location loc = c.dispatch.getLoc();
    auto orderType = cast<MemRefType>(c.order.getType());
    auto hType = cast<MemRefType>(c.h.getType());
    int64_t numRouted = static_cast<int64_t>(c.dispatch.getNRouted()), extra = rowsPerTile - 1;
    auto withRows = [](MemRefType type, int64_t rows) {
      SmallVector<int64_t> shape(type.getShape());
      shape[0] = rows;
      return MemRefType::get(shape, type.getElementType());
    };
    if (orderType.hasStaticShape()) {
      int64_t assignments = orderType.getDimSize(0);
      int64_t rows = assignments + std::min(assignments, numRouted) * extra;
      return {memref::AllocOp::create(b, loc, withRows(orderType, rows)),
              memref::AllocOp::create(b, loc, withRows(hType, rows))};
    }
    // The allocation's size operand dominates the dispatch (a dim of the old
    // buffer would keep it alive).
    Value assignments = c.order.getDynamicSizes()[0];
    auto constant = [&](int64_t value) { return arith::ConstantIndexOp::create(b, loc, value); };
    Value groups = arith::MinUIOp::create(b, loc, assignments, constant(numRouted));
    Value rows = arith::AddIOp::create(
        b, loc, assignments, arith::MulIOp::create(b, loc, groups, constant(extra)));
    return {memref::AllocOp::create(b, loc, withRows(orderType, ShapedType::kDynamic), rows),
            memref::AllocOp::create(b, loc, withRows(hType, ShapedType::kDynamic), rows)};
  }

  void fuse(MoeCombineOp combine, Chain &c) {
    Location loc = c.dispatch.getLoc();
    OpBuilder b(c.dispatch);
    auto [order, h] = rowsPerTile > 1 ? paddedBuffers(b, c)
                                      : std::pair<Value, Value>{c.order, c.h};
    auto i32 = b.getI32Type();
    Value assignments = c.order.getType().isDynamicDim(0) ? c.order.getDynamicSizes()[0] : Value();
    Value rows = memref::AllocOp::create(
        b, loc, MemRefType::get(c.order.getType().getShape(), i32),
        assignments ? ValueRange{assignments} : ValueRange{});
    int64_t numRouted = static_cast<int64_t>(c.dispatch.getNRouted());
    Value counts = memref::AllocOp::create(b, loc, MemRefType::get({numRouted + 1}, i32));
    MoeGroupOp::create(b, loc, c.dispatch.getExperts(), order, rows, counts,
                       c.dispatch.getNRoutedAttr(), b.getI64IntegerAttr(rowsPerTile));
    c.gateUp.getOrderMutable().assign(order);
    c.gateUp.getHMutable().assign(h);
    c.gateUp.setRowsPerTile(rowsPerTile);

    b.setInsertionPoint(combine);
    ExpertDownCombineOp::create(b, combine.getLoc(), combine.getX(), h, c.down.getDown(), c.down.getDownScale(),
                                combine.getExperts(), combine.getWeights(), rows, combine.getOut(),
                                combine.getNRoutedAttr(), c.down.getWeightBlockAttr());
    SmallVector<Value> created{rows, counts};
    if (rowsPerTile > 1)
      created.append({order, h});
    for (Value buffer : created)
      memref::DeallocOp::create(b, combine.getLoc(), buffer);
    Value y = combine.getY();
    combine->erase();
    c.down->erase();
    c.dispatch->erase();
    eraseIfUnused(y);
    if (rowsPerTile > 1) {
      eraseIfUnused(c.order);
      eraseIfUnused(c.h);
    }
    ++numFused;
  }
};

} // namespace
