//===- SizeEvaluator.cpp - a step's sizes as numbers for given T, P -------===//
//
// Allocations and views carry their sizes as index values; an index value
// resolves when every operand of its (pure) defining op does: the op's own
// folder then computes it, so any arith op, affine.apply or select that
// folds is understood.
//
//===----------------------------------------------------------------------===//
#include "passes/SizeEvaluator.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::ember;

SizeEvaluator::~SizeEvaluator() = default;

void SizeEvaluator::enter(Block *body, Operation *call, ValueRange operands) {
  frames.push_back({body, call, SmallVector<Value>(operands)});
}

bool SizeEvaluator::isEntered(Block *body) const {
  return llvm::any_of(frames, [&](const Frame &frame) { return frame.body == body; });
}

Value SizeEvaluator::callOperand(BlockArgument arg, unsigned frame) const {
  const Frame &entered = frames[frame];
  if (!entered.call || arg.getOwner() != entered.body || arg.getArgNumber() >= entered.operands.size())
    return {};
  return entered.operands[arg.getArgNumber()];
}

SizeEvaluator::Root SizeEvaluator::rootOf(Value value, unsigned frame) {
  while (true) {
    if (auto arg = dyn_cast<BlockArgument>(value)) {
      Value operand = callOperand(arg, frame);
      if (!operand)
        return {value, frame};
      value = operand;
      --frame;
    } else if (auto view = value.getDefiningOp<ViewLikeOpInterface>()) {
      value = view.getViewSource();
    } else if (auto transpose = value.getDefiningOp<memref::TransposeOp>()) {
      value = transpose.getIn();
    } else {
      return {value, frame};
    }
  }
}

SmallVector<int64_t> SizeEvaluator::unresolved(Value memref) {
  if (diagnoseAs && !unresolvedSizes)
    emitError(memref.getLoc()) << diagnoseAs << ": cannot resolve the sizes of a " << memref.getType();
  unresolvedSizes = true;
  SmallVector<int64_t> shape(cast<MemRefType>(memref.getType()).getShape());
  for (int64_t &size : shape)
    size = ShapedType::isDynamic(size) ? 0 : size;
  return shape;
}

/// The entry function's arguments: token-indexed buffers ([T, ...]: the
/// only dynamic size is the first) have T rows; persistent per-slot tables
/// (the [slots, context] token table, the [.., slots, context, W] caches)
/// are taken as S slots, each holding P positions and its share of the T.
SmallVector<int64_t> SizeEvaluator::entryShape(MemRefType type) const {
  SmallVector<int64_t> shape(type.getShape());
  int64_t dynamic = type.getNumDynamicDims(), seen = 0;
  if (dynamic == 1 && type.isDynamicDim(0)) {
    shape[0] = tokens;
    return shape;
  }
  for (int64_t &size : shape)
    if (ShapedType::isDynamic(size))
      size = ++seen == dynamic ? position + (tokens + sequences - 1) / sequences : sequences;
  return shape;
}

std::optional<int64_t> SizeEvaluator::evaluateOther(Value, unsigned) { return std::nullopt; }

std::optional<SmallVector<int64_t>> SizeEvaluator::shapeOther(Value, unsigned) { return std::nullopt; }

/// What `op`'s folder computes from its operands' numbers: a copy folds
/// (a folder may update its op in place), then goes.
std::optional<int64_t> SizeEvaluator::fold(Operation *op, unsigned frame) {
  if (op->getNumResults() != 1 || op->getNumRegions() != 0 || !isPure(op) || !op->getResult(0).getType().isIntOrIndex())
    return std::nullopt;
  SmallVector<Attribute> constants;
  for (Value operand : op->getOperands()) {
    std::optional<int64_t> number = operand.getType().isIntOrIndex() ? evaluate(operand, frame) : std::nullopt;
    if (!number)
      return std::nullopt;
    constants.push_back(IntegerAttr::get(operand.getType(), *number));
  }
  Operation *copy = op->cloneWithoutRegions();
  SmallVector<OpFoldResult> results;
  bool folded = succeeded(copy->fold(constants, results)) && results.size() == 1;
  copy->destroy();
  if (!folded)
    return std::nullopt;
  if (auto value = dyn_cast<Value>(results.front()))
    return value.getDefiningOp() == op ? std::nullopt : evaluate(value, frame);
  auto integer = dyn_cast<IntegerAttr>(cast<Attribute>(results.front()));
  if (!integer)
    return std::nullopt;
  // i1 (a comparison) is 0 or 1, not 0 or -1.
  return integer.getType().isInteger(1) ? int64_t(integer.getValue().getZExtValue())
                                        : integer.getValue().getSExtValue();
}

std::optional<int64_t> SizeEvaluator::evaluate(OpFoldResult size, unsigned frame) {
  if (std::optional<int64_t> constant = getConstantIntValue(size))
    return constant;
  Value value = cast<Value>(size);
  if (auto bound = bindings.find(value); bound != bindings.end())
    return bound->second;
  if (auto arg = dyn_cast<BlockArgument>(value)) {
    if (Value operand = callOperand(arg, frame))
      return evaluate(operand, frame - 1);
    return evaluateOther(value, frame);
  }
  if (auto dim = value.getDefiningOp<memref::DimOp>()) {
    std::optional<int64_t> index = dim.getConstantIndex();
    if (!index)
      return std::nullopt;
    return shapeIn(dim.getSource(), frame)[*index];
  }
  if (std::optional<int64_t> folded = fold(value.getDefiningOp(), frame))
    return folded;
  return evaluateOther(value, frame);
}

SmallVector<int64_t> SizeEvaluator::resolve(Value memref, ArrayRef<OpFoldResult> sizes, unsigned frame) {
  SmallVector<int64_t> shape;
  for (OpFoldResult size : sizes) {
    std::optional<int64_t> value = evaluate(size, frame);
    if (!value)
      return unresolved(memref);
    shape.push_back(*value);
  }
  return shape;
}

SmallVector<int64_t> SizeEvaluator::shapeIn(Value memref, unsigned frame) {
  auto type = cast<MemRefType>(memref.getType());
  if (type.hasStaticShape())
    return SmallVector<int64_t>(type.getShape());
  if (auto arg = dyn_cast<BlockArgument>(memref)) {
    if (Value operand = callOperand(arg, frame))
      return shapeIn(operand, frame - 1);
    if (frame == 0 && arg.getOwner() == frames[0].body)
      return entryShape(type);
    return unresolved(memref);
  }
  if (std::optional<SmallVector<int64_t>> shape = shapeOther(memref, frame))
    return *shape;
  Operation *def = memref.getDefiningOp();
  return llvm::TypeSwitch<Operation *, SmallVector<int64_t>>(def)
      .Case([&](memref::AllocOp op) { return resolve(memref, op.getMixedSizes(), frame); })
      .Case([&](memref::SubViewOp op) {
        SmallVector<OpFoldResult> kept;
        llvm::SmallBitVector dropped = op.getDroppedDims();
        for (auto [dim, size] : llvm::enumerate(op.getMixedSizes()))
          if (!dropped.test(dim))
            kept.push_back(size);
        return resolve(memref, kept, frame);
      })
      .Case([&](memref::ExpandShapeOp op) { return resolve(memref, op.getMixedOutputShape(), frame); })
      .Case([&](memref::CollapseShapeOp op) {
        SmallVector<int64_t> source = shapeIn(op.getSrc(), frame), shape;
        for (const ReassociationIndices &group : op.getReassociationIndices()) {
          int64_t product = 1;
          for (int64_t dim : group)
            product *= source[dim];
          shape.push_back(product);
        }
        return shape;
      })
      .Case([&](memref::TransposeOp op) {
        SmallVector<int64_t> source = shapeIn(op.getIn(), frame), shape;
        AffineMap permutation = op.getPermutation();
        for (unsigned dim = 0; dim < permutation.getNumResults(); ++dim)
          shape.push_back(source[permutation.getDimPosition(dim)]);
        return shape;
      })
      .Case([&](memref::CastOp op) { return shapeIn(op.getSource(), frame); })
      .Case([&](memref::ReinterpretCastOp op) { return resolve(memref, op.getMixedSizes(), frame); })
      .Default([&](Operation *) { return unresolved(memref); });
}
