//===- SizeEvaluator.h - a step's sizes as numbers for given T, P -*- C++ -*-===//
//
// Resolves the index values and buffer sizes of a step for T new tokens
// after P cached positions, through the functions (and kernels) it enters:
// a frame per entered body, whose arguments take the operands of the op
// that entered it (a func.call, a gpu.launch_func). The entry function's
// arguments take the step's shapes (entryShape). Used by the traffic model
// and by the report's launch shapes.
//
//===----------------------------------------------------------------------===//
#ifndef EMBER_PASSES_SIZEEVALUATOR_H
#define EMBER_PASSES_SIZEEVALUATOR_H

#include "mlir/IR/Block.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "llvm/ADT/DenseMap.h"

#include <optional>

namespace mlir::ember {

class SizeEvaluator {
public:
  /// With a `diagnoseAs` ("traffic model"), a buffer whose sizes cannot be
  /// resolved is an error it names (reported once, see failedToResolve).
  SizeEvaluator(int64_t tokens, int64_t position, const char *diagnoseAs, int64_t sequences = 1)
      : tokens(tokens), position(position), sequences(sequences), diagnoseAs(diagnoseAs) {}
  virtual ~SizeEvaluator();

  /// The buffer a value views: the value no view or call argument derives
  /// from, with the frame it is resolved in.
  struct Root {
    Value value;
    unsigned frame;
  };

  /// Enters `body` from `call` (none for the entry function), its arguments
  /// taking `operands`.
  void enter(Block *body, Operation *call, ValueRange operands);
  void leave() { frames.pop_back(); }
  unsigned top() const { return frames.size() - 1; }
  bool isEntered(Block *body) const;
  /// The op that entered frame `frame` (null for the entry).
  Operation *callOf(unsigned frame) const { return frames[frame].call; }

  /// A value known to hold `number` (a thread id, a loop's induction
  /// variable) until unbound.
  void bind(Value value, int64_t number) { bindings[value] = number; }
  void unbind(Value value) { bindings.erase(value); }

  /// The sizes of `memref` in `frame`; dynamic sizes that cannot be
  /// resolved are 0 (and, with `diagnoseAs`, an error).
  SmallVector<int64_t> shapeIn(Value memref, unsigned frame);
  /// An index or integer value in `frame`: constants, bound values, the
  /// sizes of buffers and whatever folds from them.
  std::optional<int64_t> evaluate(OpFoldResult size, unsigned frame);
  Root rootOf(Value value, unsigned frame);
  bool failedToResolve() const { return unresolvedSizes; }

  const int64_t tokens, position;
  const int64_t sequences; // the slots of the per-slot tables

protected:
  /// Values and buffers this class cannot resolve: subclasses that know
  /// more (GPU ids, gpu.alloc) say so here.
  virtual std::optional<int64_t> evaluateOther(Value value, unsigned frame);
  virtual std::optional<SmallVector<int64_t>> shapeOther(Value memref, unsigned frame);
  /// `sizes` resolved in `frame`, or unresolved(memref).
  SmallVector<int64_t> resolve(Value memref, ArrayRef<OpFoldResult> sizes, unsigned frame);
  /// The caller's operand for an argument of an entered body, else null.
  Value callOperand(BlockArgument arg, unsigned frame) const;

private:
  struct Frame {
    Block *body;
    Operation *call;
    SmallVector<Value> operands;
  };
  SmallVector<int64_t> entryShape(MemRefType type) const;
  std::optional<int64_t> fold(Operation *op, unsigned frame);
  SmallVector<int64_t> unresolved(Value memref);

  const char *diagnoseAs;
  bool unresolvedSizes = false;
  SmallVector<Frame> frames;
  DenseMap<Value, int64_t> bindings;
};

} // namespace mlir::ember

#endif // EMBER_PASSES_SIZEEVALUATOR_H
