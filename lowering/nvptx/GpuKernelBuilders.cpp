//===- GpuKernelBuilders.cpp - cooperative kernels' building blocks -------===//
#include "lowering/nvptx/GpuKernelBuilders.h"
#include "dialects/Ember/EmberDialect.h"
#include "lowering/LoopBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <numeric>

using namespace mlir;
using namespace mlir::ember;

gpu::LaunchOp mlir::ember::buildCooperativeLaunch(
    OpBuilder &b, Location loc, Value gridX, Value gridY, std::array<int64_t, 3> block, TypeRange workgroup,
    Attribute decision,
    function_ref<void(OpBuilder &, Location, const KernelIds &, ValueRange workgroupBuffers)> body) {
  Value one = indexConstant(b, loc, 1);
  auto launch = gpu::LaunchOp::create(b, loc, gridX, gridY, one, indexConstant(b, loc, block[0]),
                                      indexConstant(b, loc, block[1]), indexConstant(b, loc, block[2]),
                                      /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
                                      /*asyncDependencies=*/{}, workgroup);
  launch->setAttr(GpuKernelAttr::kAttrName, decision);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&launch.getBody().front());
  KernelIds ids{launch.getBlockIds().x, launch.getBlockIds().y, launch.getThreadIds().x,
                launch.getThreadIds().y};
  SmallVector<Value> buffers(launch.getWorkgroupAttributions());
  body(b, loc, ids, buffers);
  gpu::TerminatorOp::create(b, loc);
  return launch;
}

Value mlir::ember::buildWarpReduce(OpBuilder &b, Location loc, Value value, Combine combine, int64_t lanes) {
  for (int32_t offset = int32_t(lanes / 2); offset >= 1; offset /= 2) {
    Value other = gpu::ShuffleOp::create(b, loc, value, offset, kWarpSize, gpu::ShuffleMode::XOR)
                      .getShuffleResult();
    value = combine(b, loc, value, other);
  }
  return value;
}

static Value addF(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  return arith::AddFOp::create(b, loc, lhs, rhs);
}

Value mlir::ember::buildWarpSum(OpBuilder &b, Location loc, Value value, int64_t lanes) {
  return buildWarpReduce(b, loc, value, addF, lanes);
}

Value mlir::ember::buildWarpVectorSum(OpBuilder &b, Location loc, Value vector) {
  Value lanes =
      vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD, vector, arith::FastMathFlags::reassoc);
  return buildWarpSum(b, loc, lanes);
}

Value mlir::ember::buildBlockReduce(OpBuilder &b, Location loc, Value value, Value threadX, int64_t threads,
                                    Value scratch, Combine combine) {
  Value warpResult = buildWarpReduce(b, loc, value, combine);
  Value warpSize = indexConstant(b, loc, kWarpSize);
  Value lane = arith::RemUIOp::create(b, loc, threadX, warpSize);
  Value warp = arith::DivUIOp::create(b, loc, threadX, warpSize);
  Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane, indexConstant(b, loc, 0));
  scf::IfOp::create(b, loc, first, [&](OpBuilder &b, Location loc) {
    memref::StoreOp::create(b, loc, warpResult, scratch, warp);
    scf::YieldOp::create(b, loc);
  });
  gpu::BarrierOp::create(b, loc);
  Value init = memref::LoadOp::create(b, loc, scratch, indexConstant(b, loc, 0));
  return scf::ForOp::create(b, loc, indexConstant(b, loc, 1), indexConstant(b, loc, threads / kWarpSize),
                            indexConstant(b, loc, 1), init,
                            [&](OpBuilder &b, Location loc, Value w, ValueRange acc) {
                              Value part = memref::LoadOp::create(b, loc, scratch, w);
                              scf::YieldOp::create(b, loc, combine(b, loc, acc[0], part));
                            })
      .getResult(0);
}

Value mlir::ember::buildBlockSum(OpBuilder &b, Location loc, Value value, Value threadX, int64_t threads,
                                 Value scratch) {
  return buildBlockReduce(b, loc, value, threadX, threads, scratch, addF);
}

Value mlir::ember::loadVectorF32(OpBuilder &b, Location loc, Value memref, ValueRange indices, int64_t width,
                                 int64_t alignment) {
  Type element = cast<MemRefType>(memref.getType()).getElementType();
  auto stored = VectorType::get({width}, element);
  Value loaded = vector::LoadOp::create(b, loc, stored, memref, indices, /*nontemporal=*/false,
                                        llvm::MaybeAlign(alignment));
  if (element.isF32())
    return loaded;
  return arith::ExtFOp::create(b, loc, VectorType::get({width}, b.getF32Type()), loaded);
}

MemRefType mlir::ember::workgroupMemRef(Type element, int64_t count) {
  auto space = gpu::AddressSpaceAttr::get(element.getContext(), gpu::AddressSpace::Workgroup);
  return MemRefType::get({count}, element, MemRefLayoutAttrInterface(), space);
}

MemRefType mlir::ember::workgroupF32(MLIRContext *context, int64_t count) {
  return workgroupMemRef(Float32Type::get(context), count);
}

int64_t mlir::ember::elementsPerVectorLoad(Value memref) {
  Type element = cast<MemRefType>(memref.getType()).getElementType();
  return kVectorLoadBytes * 8 / element.getIntOrFloatBitWidth();
}

int64_t mlir::ember::elementsPerVectorLoad(ValueRange memrefs) {
  int64_t most = 0;
  for (Value memref : memrefs)
    most = std::max(most, elementsPerVectorLoad(memref));
  return most;
}

int64_t mlir::ember::vectorLoadAlignment(Value memref, int64_t width) {
  Type element = cast<MemRefType>(memref.getType()).getElementType();
  return std::min(kVectorLoadBytes, width * element.getIntOrFloatBitWidth() / 8);
}

int64_t mlir::ember::weightVectorWidth(ValueRange weights, ArrayRef<BlockScales> scales) {
  int64_t width = elementsPerVectorLoad(weights);
  for (const BlockScales &blocks : scales)
    while (!scalesFitLanes(blocks, width))
      width /= 2;
  return width;
}

Value mlir::ember::loadWeightVector(OpBuilder &b, Location loc, Value weight, const BlockScales &scales,
                                    ValueRange indices, int64_t width) {
  return loadWeightVectorF32(b, loc, weight, scales, indices, width,
                             llvm::MaybeAlign(vectorLoadAlignment(weight, width)), E4M3Unpacking::PerWord);
}

Value mlir::ember::addProducts(OpBuilder &b, Location loc, Value sum, Value lhs, Value rhs) {
  auto fastmath = arith::FastMathFlags::contract;
  int64_t lanes = cast<VectorType>(sum.getType()).getNumElements(),
          width = cast<VectorType>(lhs.getType()).getNumElements();
  for (int64_t first = 0; first < width; first += lanes) {
    auto chunk = [&](Value vector) -> Value {
      if (lanes == width)
        return vector;
      SmallVector<int64_t> positions(lanes);
      std::iota(positions.begin(), positions.end(), first);
      return vector::ShuffleOp::create(b, loc, vector, vector, positions);
    };
    sum = arith::AddFOp::create(b, loc, sum, arith::MulFOp::create(b, loc, chunk(lhs), chunk(rhs), fastmath), fastmath);
  }
  return sum;
}

bool mlir::ember::hasIdentityLayout(Value memref) {
  return cast<MemRefType>(memref.getType()).getLayout().isIdentity();
}
