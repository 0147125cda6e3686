//===- ExpertTensorCoreKernels.cpp - mma_sync_tile for the routed experts --===//
//
// The routed experts at prefill as grouped GEMMs on tensor cores
// (buildGroupedGemm). A block takes a window of 64 rows of moe_group's
// sorted order and a tile of outputs (TensorCoreTile.h):
//   (1) 64 threads find their row's key, the expert it computes for (R for
//       none), and its x row;
//   (2) for each key in the window, smallest first, the tile's main loop
//       runs with that expert's weights over all 64 rows (rows of other
//       experts cost MMAs, not weight reads), and the rows of the key store.
// Groups are sorted, so a window holds few experts and each expert's
// weights are read about once per 64 of its rows, plus once per window its
// group straddles, where warp_per_row reads them once per W rows (gate and
// up) or once per assignment (down). Windows of zero experts, padding or
// rows past the end cost their keys.
// expert_gate_up: keys by the op's semantics (a real expert's assignment
// whose expert is its W-row tile's), x rows the tokens, silu(gate) * up
// stored. expert_down_combine: each h row's owning assignment first, the
// outputs by row into a buffer, then the combine in order j.
//
//===----------------------------------------------------------------------===//
#include "dialects/Ember/EmberDialect.h"
#include "lowering/BlockScaledWeights.h"
#include "lowering/LoopBuilders.h"
#include "lowering/RowTiledDots.h"
#include "lowering/nvptx/GpuKernelBuilders.h"
#include "lowering/nvptx/GpuStrategies.h"
#include "lowering/nvptx/TensorCoreTile.h"

using namespace mlir;
using namespace mlir::ember;

namespace {

/// The smallest key in the window's `keys` (i32, kTileTokens of them) above
/// `previous` (-1 for the first), or `none` if there is none. Every thread
/// scans the same workgroup words, so the result is uniform.
Value nextKey(OpBuilder &b, Location loc, Value keys, Value previous, Value none) {
  return buildSequentialLoop(b, loc, indexConstant(b, loc, kTileTokens), none,
                             [&](OpBuilder &b, Location loc, Value r, ValueRange acc) {
                               Value key = loadIndex(b, loc, keys, r);
                               Value above = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, key, previous);
                               Value smaller = indexLess(b, loc, key, acc[0]);
                               Value take = arith::AndIOp::create(b, loc, above, smaller);
                               return SmallVector<Value>{arith::SelectOp::create(b, loc, take, key, acc[0])};
                             })[0];
}

bool isBf16(Value memref) { return cast<MemRefType>(memref.getType()).getElementType().isBF16(); }

/// A grouped GEMM over sorted rows on the tensor-core tile: row p of
/// [0, rows) computes dot(x[xRow(p)], w_m[key(p), o]) for each weight m and
/// output o, where `findRow` gives the row its key (an expert below
/// `numRouted`) and x row by calling `take`, or leaves it out.
struct GroupedGemm {
  Value x;
  SmallVector<Value, 2> weights; // [R, outputs, inputs], bf16
  Value rows, numRouted;
  int64_t inputs, outputs;
  function_ref<void(OpBuilder &, Location, Value p,
                    function_ref<void(OpBuilder &, Location, Value key, Value xRow)> take)>
      findRow;
  function_ref<void(OpBuilder &, Location, Value p, Value o, ArrayRef<Value> dots)> store;
};

void buildGroupedGemm(OpBuilder &b, Location loc, const GroupedGemm &gemm, Attribute decision) {
  TileShape tile = tileShape(gemm.weights.size());
  Value gridX = indexConstant(b, loc, llvm::divideCeil(gemm.outputs, tile.rows));
  Value gridY = arith::CeilDivUIOp::create(b, loc, gemm.rows, indexConstant(b, loc, kTileTokens));
  // Workgroup memory: the tile's, then each window row's key and x row.
  SmallVector<Type> workgroup = tileWorkgroup(b.getContext(), tile);
  workgroup.append(2, workgroupMemRef(b.getI32Type(), kTileTokens));

  auto body = [&](OpBuilder &b, Location loc, const KernelIds &ids, ValueRange buffers) {
    Value keys = buffers[buffers.size() - 2], xRows = buffers.back();
    Value window = indexMul(b, loc, ids.blockY, indexConstant(b, loc, kTileTokens));
    Value firstOutput = indexMul(b, loc, ids.blockX, indexConstant(b, loc, tile.rows));
    auto storeIndex = [](OpBuilder &b, Location loc, Value value, Value buffer, Value at) {
      memref::StoreOp::create(b, loc, toI32(b, loc, value), buffer, at);
    };
    // (1) Row r's key and x row (row 0 where it computes nothing).
    Value tid = ids.threadX;
    buildIf(b, loc, indexLess(b, loc, tid, indexConstant(b, loc, kTileTokens)), [&](OpBuilder &b, Location loc) {
      storeIndex(b, loc, gemm.numRouted, keys, tid);
      storeIndex(b, loc, indexConstant(b, loc, 0), xRows, tid);
      Value p = indexAdd(b, loc, window, tid);
      buildIf(b, loc, indexLess(b, loc, p, gemm.rows), [&](OpBuilder &b, Location loc) {
        gemm.findRow(b, loc, p, [&](OpBuilder &b, Location loc, Value key, Value xRow) {
          storeIndex(b, loc, key, keys, tid);
          storeIndex(b, loc, xRow, xRows, tid);
        });
      });
    });
    gpu::BarrierOp::create(b, loc);

    TileThread thread = tileThread(b, loc, tile, tid);
    TileOperands operands{gemm.x, {}, gemm.weights, {}, {}, gemm.inputs, Value()};
    for (auto [row, column] : thread.xSlots)
      operands.xRows.push_back(loadIndex(b, loc, xRows, row));
    Value lastOutput = indexConstant(b, loc, gemm.outputs - 1);
    for (auto [row, column] : thread.wSlots)
      operands.wRows.push_back(arith::MinUIOp::create(b, loc, indexAdd(b, loc, firstOutput, row), lastOutput));

    // (2) One pass of the main loop per expert of the window.
    Value first = nextKey(b, loc, keys, indexConstant(b, loc, -1), gemm.numRouted);
    auto segments = scf::WhileOp::create(b, loc, TypeRange{b.getIndexType()}, ValueRange{first});
    OpBuilder::InsertionGuard guard(b);
    Block *before = b.createBlock(&segments.getBefore(), {}, {b.getIndexType()}, {loc});
    scf::ConditionOp::create(b, loc, indexLess(b, loc, before->getArgument(0), gemm.numRouted), before->getArguments());
    Block *after = b.createBlock(&segments.getAfter(), {}, {b.getIndexType()}, {loc});
    Value expert = after->getArgument(0);
    operands.weightLead = {expert};
    SmallVector<Value> acc = buildTileMainLoop(b, loc, tile, thread, buffers, operands);
    forEachTileOutput(b, loc, tile, thread, [&](OpBuilder &b, Location loc, Value r, Value unit, int64_t index) {
      Value o = indexAdd(b, loc, firstOutput, unit);
      Value ours = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, loadIndex(b, loc, keys, r), expert);
      Value inside = arith::AndIOp::create(b, loc, ours, indexLess(b, loc, o, indexConstant(b, loc, gemm.outputs)));
      buildIf(b, loc, inside, [&](OpBuilder &b, Location loc) {
        SmallVector<Value, 2> dots;
        for (int64_t m = 0; m < tile.weights; ++m)
          dots.push_back(acc[m * tile.accumulators + index]);
        gemm.store(b, loc, indexAdd(b, loc, window, r), o, dots);
      });
    });
    scf::YieldOp::create(b, loc, nextKey(b, loc, keys, expert, gemm.numRouted));
  };
  buildCooperativeLaunch(b, loc, gridX, gridY, {kTensorCoreThreads, 1, 1}, workgroup, decision, body);
}

/// A kernel of one thread per element of `count` (blocks of 128).
void buildElementwise(OpBuilder &b, Location loc, Value count, Value gridY, Attribute decision,
                      function_ref<void(OpBuilder &, Location, Value i, Value y)> body) {
  Value gridX = arith::CeilDivUIOp::create(b, loc, count, indexConstant(b, loc, kTensorCoreThreads));
  buildCooperativeLaunch(
      b, loc, gridX, gridY, {kTensorCoreThreads, 1, 1}, {}, decision,
      [&](OpBuilder &b, Location loc, const KernelIds &ids, ValueRange) {
        Value i =
            indexAdd(b, loc, indexMul(b, loc, ids.blockX, indexConstant(b, loc, kTensorCoreThreads)), ids.threadX);
        buildIf(b, loc, indexLess(b, loc, i, count), [&](OpBuilder &b, Location loc) { body(b, loc, i, ids.blockY); });
      });
}

} // namespace

bool mlir::ember::fitsExpertGateUpTensorCoreKernel(ExpertGateUpOp op) {
  int64_t inputs = cast<MemRefType>(op.getX().getType()).getDimSize(1);
  return fitsExpertGateUpKernel(op) && isBf16(op.getGate()) && isBf16(op.getUp()) && fitsTile(2, inputs);
}

void mlir::ember::buildExpertGateUpTensorCoreKernel(OpBuilder &b, ExpertGateUpOp op, Attribute decision) {
  Location loc = op.getLoc();
  Value experts = op.getExperts(), h = op.getH();
  int64_t rowsPerTile = op.getRowsPerTile();
  Value rows = dimOf(b, loc, h, 0), k = dimOf(b, loc, experts, 1), numRouted = dimOf(b, loc, op.getGate(), 0);
  ExpertTileOperands expertTile{op.getOrder(), experts,    rows, indexMul(b, loc, dimOf(b, loc, experts, 0), k), k,
                                numRouted,     rowsPerTile};
  // The op's rows: an assignment of a real expert that is its W-row tile's
  // expert; x is its token's row.
  auto findRow = [&](OpBuilder &b, Location loc, Value p,
                     function_ref<void(OpBuilder &, Location, Value, Value)> take) {
    Value w = indexConstant(b, loc, rowsPerTile);
    Value base = indexMul(b, loc, arith::DivUIOp::create(b, loc, p, w), w);
    buildExpertTile(b, loc, expertTile, base, [&](OpBuilder &b, Location loc, const ExpertTile &tileRows) {
      ExpertTileRow row = buildExpertTileRow(b, loc, expertTile, tileRows, p);
      buildIf(b, loc, row.computed, [&](OpBuilder &b, Location loc) { take(b, loc, tileRows.expert, row.token); });
    });
  };
  auto store = [&](OpBuilder &b, Location loc, Value p, Value f, ArrayRef<Value> dots) {
    Value value = arith::MulFOp::create(b, loc, buildSilu(b, loc, dots[0]), dots[1]);
    memref::StoreOp::create(b, loc, value, h, ValueRange{p, f});
  };
  GroupedGemm gemm{op.getX(),
                   {op.getGate(), op.getUp()},
                   rows,
                   numRouted,
                   cast<MemRefType>(op.getX().getType()).getDimSize(1),
                   cast<MemRefType>(h.getType()).getDimSize(1),
                   findRow,
                   store};
  buildGroupedGemm(b, loc, gemm, decision);
}

bool mlir::ember::fitsExpertDownCombineTensorCoreKernels(ExpertDownCombineOp op) {
  int64_t hidden = cast<MemRefType>(op.getH().getType()).getDimSize(1);
  return fitsExpertDownCombineKernel(op) && isBf16(op.getDown()) && fitsTile(1, hidden);
}

void mlir::ember::buildExpertDownCombineTensorCoreKernels(OpBuilder &b, ExpertDownCombineOp op, Attribute decision) {
  Location loc = op.getLoc();
  Value h = op.getH(), down = op.getDown(), experts = op.getExperts(), rows = op.getRows();
  int64_t hidden = cast<MemRefType>(h.getType()).getDimSize(1);
  int64_t outputs = cast<MemRefType>(op.getOut().getType()).getDimSize(1);
  Value tokens = dimOf(b, loc, op.getOut(), 0), k = dimOf(b, loc, experts, 1), hRows = dimOf(b, loc, h, 0);
  Value assignments = indexMul(b, loc, tokens, k), numRouted = indexConstant(b, loc, op.getNRouted());
  Value one = indexConstant(b, loc, 1);
  Type i32 = b.getI32Type();
  Value owner = memref::AllocOp::create(b, loc, MemRefType::get({ShapedType::kDynamic}, i32), ValueRange{hRows});
  Value y = memref::AllocOp::create(b, loc, MemRefType::get({ShapedType::kDynamic, outputs}, b.getF32Type()),
                                    ValueRange{hRows});
  auto expertOf = [&](OpBuilder &b, Location loc, Value a) {
    auto [t, j] = splitAssignment(b, loc, a, k);
    return loadIndex(b, loc, experts, ValueRange{t, j});
  };
  // (1) Each h row's owner: the real assignment a whose row it is
  // (rows[a]), else -1.
  buildElementwise(b, loc, hRows, one, decision, [&](OpBuilder &b, Location loc, Value p, Value) {
    memref::StoreOp::create(b, loc, arith::ConstantIntOp::create(b, loc, i32, -1), owner, p);
  });
  buildElementwise(b, loc, assignments, one, decision, [&](OpBuilder &b, Location loc, Value a, Value) {
    Value p = loadIndex(b, loc, rows, a);
    Value owned =
        arith::AndIOp::create(b, loc, indexLess(b, loc, expertOf(b, loc, a), numRouted), indexLess(b, loc, p, hRows));
    buildIf(b, loc, owned,
            [&](OpBuilder &b, Location loc) { memref::StoreOp::create(b, loc, toI32(b, loc, a), owner, p); });
  });
  // (2) y[p, d] = down[e, d, :] . h[p, :] on tensor cores, e the expert of
  // p's owner.
  auto findRow = [&](OpBuilder &b, Location loc, Value p,
                     function_ref<void(OpBuilder &, Location, Value, Value)> take) {
    Value a = loadIndex(b, loc, owner, p);
    buildIf(b, loc, indexLess(b, loc, a, assignments),
            [&](OpBuilder &b, Location loc) { take(b, loc, expertOf(b, loc, a), p); });
  };
  auto store = [&](OpBuilder &b, Location loc, Value p, Value d, ArrayRef<Value> dots) {
    memref::StoreOp::create(b, loc, dots[0], y, ValueRange{p, d});
  };
  buildGroupedGemm(b, loc, GroupedGemm{h, {down}, hRows, numRouted, hidden, outputs, findRow, store}, decision);
  // (3) The combine, a thread per (output d, token t): assignment a's
  // output is y's row rows[a] where a owns it. Where it does not (rows that
  // do not invert moe_group's order, or two assignments on one row), the
  // thread computes the dot product itself, as the op defines it.
  buildElementwise(
      b, loc, indexConstant(b, loc, outputs), tokens, decision, [&](OpBuilder &b, Location loc, Value d, Value t) {
        auto routedOutput = [&](OpBuilder &b, Location loc, Value a, Value d, Value expert) {
          Value p = loadIndex(b, loc, rows, a);
          Value clamped =
              arith::MinUIOp::create(b, loc, p, arith::SubIOp::create(b, loc, hRows, indexConstant(b, loc, 1)));
          Value owns = arith::AndIOp::create(
              b, loc, indexLess(b, loc, p, hRows),
              arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, loadIndex(b, loc, owner, clamped), a));
          auto pick = scf::IfOp::create(
              b, loc, owns,
              [&](OpBuilder &b, Location loc) {
                scf::YieldOp::create(b, loc, memref::LoadOp::create(b, loc, y, ValueRange{p, d}).getResult());
              },
              [&](OpBuilder &b, Location loc) {
                scf::YieldOp::create(b, loc,
                                     buildExpertDownDot(b, loc, MatmulLoops{}, down, BlockScales{}, h, expert, d, p,
                                                        indexConstant(b, loc, hidden)));
              });
          return pick.getResult(0);
        };
        buildMoeCombineElement(b, loc, op.getNRouted(), op.getX(), experts, op.getWeights(), op.getOut(), routedOutput,
                               t, d);
      });
  memref::DeallocOp::create(b, loc, owner);
  memref::DeallocOp::create(b, loc, y);
}
