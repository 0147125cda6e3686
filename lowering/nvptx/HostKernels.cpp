//===- HostKernels.cpp - host copies of the kernels ------------------------===//
//
// An nvptx artifact carries, next to each kernel's PTX or cubin, a host
// function running one thread of it, so that a CUDA device stand-in can
// execute the artifact's own kernels without a GPU (ember's tests do, in
// CI). Two steps: ember-copy-kernels-to-host clones each gpu.func into a
// host function taking the ids as arguments, before the kernels are lowered
// to NVVM; ember-host-kernel-entry-points exports it, once everything is in
// the LLVM dialect, with the calling convention of cuLaunchKernel's
// parameter array.
//
// Cooperative kernels work too: the device stand-in runs a block's threads
// as fibers. A barrier, shuffle, warp-wide MMA (nvvm.mma.sync m16n8k16
// on bf16) or ldmatrix (nvgpu.ldmatrix, four 8 x 8 b16 matrices) becomes a
// call of a hook the stand-in installs (`__ember_host_barrier_hook`,
// `__ember_host_shuffle_hook`, `__ember_host_mma_m16n8k16_bf16_hook`,
// `__ember_host_ldmatrix_x4_b16_hook`), and workgroup memory a global of
// the artifact, shared by the threads of the one block that runs at a time.
//
// Every load and store of a host copy checks its indices against the
// memref's sizes, as compute-sanitizer's memcheck does on a GPU: one out of
// bounds is skipped (a load gives 0) and calls `__ember_host_fault_hook`,
// after which the stand-in fails the launch as the driver fails a kernel
// that faults (CUDA_ERROR_ILLEGAL_ADDRESS). A wrong index thus fails the
// tests instead of reading a neighbour's data.
//
//===----------------------------------------------------------------------===//
#include "lowering/nvptx/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/DataLayoutInterfaces.h"
#include "llvm/Support/MathExtras.h"

namespace mlir::ember {
#define GEN_PASS_DEF_EMBERCOPYKERNELSTOHOST
#define GEN_PASS_DEF_EMBERHOSTKERNELENTRYPOINTS
#include "lowering/nvptx/Passes.h.inc"
} // namespace mlir::ember

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kBodyPrefix = "__ember_host_body_", kEntryPrefix = "__ember_host_",
                              kCooperativeAttr = "ember.cooperative";
// blockIdx, threadIdx, gridDim, blockDim; x, y, z each.
constexpr unsigned kNumIds = 12;
enum IdBase : unsigned { kBlockId = 0, kThreadId = 3, kGridDim = 6, kBlockDim = 9 };

constexpr llvm::StringLiteral kBarrier = "__ember_host_barrier", kShuffle = "__ember_host_shuffle",
                              kMma = "__ember_host_mma_m16n8k16_bf16", kLdMatrix = "__ember_host_ldmatrix_x4_b16",
                              kFault = "__ember_host_fault", kHookSuffix = "_hook", kCooperativeSuffix = "_cooperative";

/// Whether `mma` is the one MMA the stand-in runs: m16n8k16, bf16
/// operands (A row-major, B column-major), f32 accumulators.
bool isHostMma(NVVM::MmaOp mma) {
  auto bf16 = NVVM::MMATypes::bf16;
  return mma.getShape().getM() == 16 && mma.getShape().getN() == 8 && mma.getShape().getK() == 16 &&
         mma.getMultiplicandAPtxType() == bf16 && mma.getMultiplicandBPtxType() == bf16 &&
         mma.getLayoutA() == NVVM::MMALayout::row && mma.getLayoutB() == NVVM::MMALayout::col &&
         mma.getOperandC().size() == 4 && llvm::all_of(mma.getOperandC().getTypes(), [](Type t) { return t.isF32(); });
}

/// Whether `load` is the one ldmatrix the stand-in runs: four 8 x 8
/// matrices of 16-bit elements, not transposed, a lane's word of each.
bool isHostLdMatrix(nvgpu::LdMatrixOp load) {
  auto type = cast<VectorType>(load.getRes().getType());
  return load.getNumTiles() == 4 && !load.getTranspose() && type.getElementType().isInteger(32) &&
         load.getIndices().size() == 1 && cast<MemRefType>(load.getSrcMemref().getType()).getLayout().isIdentity();
}

/// The first gpu, nvgpu or nvvm op a host copy cannot run, or null: the
/// ids, barriers, shuffles of 32-bit values (without their `valid` flag),
/// isHostMma MMAs and isHostLdMatrix loads are replaced.
Operation *findUnsupported(gpu::GPUFuncOp kernel) {
  Operation *unsupported = nullptr;
  kernel.walk([&](Operation *op) {
    if (auto mma = dyn_cast<NVVM::MmaOp>(op); mma && isHostMma(mma))
      return WalkResult::advance();
    if (auto load = dyn_cast<nvgpu::LdMatrixOp>(op); load && isHostLdMatrix(load))
      return WalkResult::advance();
    if (isa<NVVM::NVVMDialect, nvgpu::NVGPUDialect>(op->getDialect())) {
      unsupported = op;
      return WalkResult::interrupt();
    }
    if (op == kernel || !isa<gpu::GPUDialect>(op->getDialect()) ||
        isa<gpu::ThreadIdOp, gpu::BlockIdOp, gpu::GridDimOp, gpu::BlockDimOp, gpu::ReturnOp, gpu::BarrierOp>(op))
      return WalkResult::advance();
    auto shuffle = dyn_cast<gpu::ShuffleOp>(op);
    if (shuffle && shuffle.getValid().use_empty() && shuffle.getShuffleResult().getType().getIntOrFloatBitWidth() == 32)
      return WalkResult::advance();
    unsupported = op;
    return WalkResult::interrupt();
  });
  return unsupported;
}

/// Declares the hook calls once per module: `void barrier()`,
/// `i32 shuffle(i32 value, i32 offset, i32 width, i32 mode)`,
/// `void mma(i64 a, i64 b, i64 cd)` (addresses of i32[4], i32[2] and
/// f32[4]: the lane's fragments, D replacing C), `void ldmatrix(i64 row,
/// i64 words)` (the lane's row address; i32[4] for its words) and
/// `void fault()`.
void declareHooks(ModuleOp module, OpBuilder &builder) {
  if (module.lookupSymbol(kBarrier))
    return;
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(module.getBody());
  Type i32 = builder.getI32Type();
  func::FuncOp::create(builder, module.getLoc(), kBarrier, builder.getFunctionType({}, {})).setPrivate();
  func::FuncOp::create(builder, module.getLoc(), kShuffle, builder.getFunctionType({i32, i32, i32, i32}, {i32}))
      .setPrivate();
  Type i64 = builder.getI64Type();
  func::FuncOp::create(builder, module.getLoc(), kMma, builder.getFunctionType({i64, i64, i64}, {})).setPrivate();
  func::FuncOp::create(builder, module.getLoc(), kLdMatrix, builder.getFunctionType({i64, i64}, {})).setPrivate();
  func::FuncOp::create(builder, module.getLoc(), kFault, builder.getFunctionType({}, {})).setPrivate();
}

/// Whether `indices` and the `count` - 1 elements after the last one lie
/// inside `memref` (unsigned: a negative index is out too).
Value inBounds(OpBuilder &b, Location loc, Value memref, ValueRange indices, int64_t count) {
  Value all = arith::ConstantIntOp::create(b, loc, b.getI1Type(), 1);
  for (auto [dim, index] : llvm::enumerate(indices)) {
    Value last = index;
    if (dim + 1 == indices.size() && count > 1)
      last = arith::AddIOp::create(b, loc, index, arith::ConstantIndexOp::create(b, loc, count - 1));
    Value size = memref::DimOp::create(b, loc, memref, int64_t(dim));
    all = arith::AndIOp::create(b, loc, all,
                                arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, last, size));
  }
  return all;
}

/// Runs `access` only inside its memref; outside, calls the fault hook and
/// gives 0.
void guardAccess(Operation *access, Value memref, ValueRange indices, int64_t count) {
  OpBuilder b(access);
  Location loc = access->getLoc();
  Value ok = inBounds(b, loc, memref, indices, count);
  auto guard = scf::IfOp::create(b, loc, access->getResultTypes(), ok, /*addThenBlock=*/true,
                                 /*addElseBlock=*/true);
  access->replaceAllUsesWith(guard.getResults());
  // Without results the builder has added the yields already.
  auto beforeYield = [&](Block *block) {
    if (block->empty() || !block->back().hasTrait<OpTrait::IsTerminator>()) {
      b.setInsertionPointToEnd(block);
      scf::YieldOp::create(b, loc); // given its value below where it yields one
    }
    b.setInsertionPoint(block->getTerminator());
  };
  beforeYield(guard.thenBlock());
  access->moveBefore(guard.thenBlock()->getTerminator());
  if (access->getNumResults())
    guard.thenBlock()->getTerminator()->setOperands(access->getResults());
  beforeYield(guard.elseBlock());
  func::CallOp::create(b, loc, kFault, TypeRange{});
  if (access->getNumResults()) {
    Type type = access->getResult(0).getType();
    Value zero = arith::ConstantOp::create(b, loc, cast<TypedAttr>(b.getZeroAttr(type)));
    guard.elseBlock()->getTerminator()->setOperands(zero);
  }
}

/// Bounds checks on every load and store of a host copy.
void guardAccesses(func::FuncOp host) {
  SmallVector<Operation *> accesses;
  host.walk([&](Operation *op) {
    if (isa<memref::LoadOp, memref::StoreOp, vector::LoadOp, vector::StoreOp>(op))
      accesses.push_back(op);
  });
  for (Operation *op : accesses) {
    if (auto load = dyn_cast<memref::LoadOp>(op))
      guardAccess(op, load.getMemRef(), load.getIndices(), 1);
    else if (auto store = dyn_cast<memref::StoreOp>(op))
      guardAccess(op, store.getMemRef(), store.getIndices(), 1);
    else if (auto load = dyn_cast<vector::LoadOp>(op))
      guardAccess(op, load.getBase(), load.getIndices(), load.getVectorType().getNumElements());
    else if (auto store = dyn_cast<vector::StoreOp>(op))
      guardAccess(op, store.getBase(), store.getIndices(), store.getVectorType().getNumElements());
  }
}

/// A shuffle on the host: the value as i32 through the shuffle hook.
void replaceShuffle(gpu::ShuffleOp shuffle) {
  OpBuilder b(shuffle);
  Location loc = shuffle.getLoc();
  Type i32 = b.getI32Type(), type = shuffle.getValue().getType();
  auto asI32 = [&](Value value) { return type == i32 ? value : arith::BitcastOp::create(b, loc, i32, value); };
  Value mode = arith::ConstantIntOp::create(b, loc, i32, int64_t(shuffle.getMode()));
  Value bits = func::CallOp::create(b, loc, kShuffle, TypeRange{i32},
                                    ValueRange{asI32(shuffle.getValue()), shuffle.getOffset(),
                                               shuffle.getWidth(), mode})
                   .getResult(0);
  shuffle.getShuffleResult().replaceAllUsesWith(type == i32 ? bits
                                                             : arith::BitcastOp::create(b, loc, type, bits));
  shuffle.erase();
}

/// The address of `memref`'s first element as i64, for a hook.
Value addressOf(OpBuilder &b, Location loc, Value memref) {
  return arith::IndexCastOp::create(b, loc, b.getI64Type(),
                                    memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref));
}

/// MMAs on the host: the lane's fragments through buffers on its stack
/// (allocated once, at the start of `host`) to the MMA hook, which gives
/// every lane its part of D once the whole warp has called it.
void replaceMmas(func::FuncOp host) {
  SmallVector<NVVM::MmaOp> mmas;
  host.walk([&](NVVM::MmaOp mma) { mmas.push_back(mma); });
  if (mmas.empty())
    return;
  OpBuilder b = OpBuilder::atBlockBegin(&host.getBody().front());
  Location loc = host.getLoc();
  Type i32 = b.getI32Type(), f32 = b.getF32Type();
  Value a = memref::AllocaOp::create(b, loc, MemRefType::get({4}, i32));
  Value bFragment = memref::AllocaOp::create(b, loc, MemRefType::get({2}, i32));
  Value cd = memref::AllocaOp::create(b, loc, MemRefType::get({4}, f32));
  SmallVector<Value> addresses;
  for (Value buffer : {a, bFragment, cd})
    addresses.push_back(addressOf(b, loc, buffer));
  for (NVVM::MmaOp mma : mmas) {
    b.setInsertionPoint(mma);
    auto store = [&](ValueRange values, Value buffer) {
      for (auto [i, value] : llvm::enumerate(values))
        memref::StoreOp::create(b, loc, value, buffer, ValueRange{arith::ConstantIndexOp::create(b, loc, i)});
    };
    store(mma.getOperandA(), a);
    store(mma.getOperandB(), bFragment);
    store(mma.getOperandC(), cd);
    func::CallOp::create(b, loc, kMma, TypeRange{}, addresses);
    Value d = LLVM::PoisonOp::create(b, loc, mma.getRes().getType());
    for (int64_t i = 0; i < 4; ++i) {
      Value element = memref::LoadOp::create(b, loc, cd, ValueRange{arith::ConstantIndexOp::create(b, loc, i)});
      d = LLVM::InsertValueOp::create(b, loc, d, element, ArrayRef<int64_t>{i});
    }
    mma.getRes().replaceAllUsesWith(d);
    mma.erase();
  }
}

/// ldmatrix on the host: the lane's row address (its 16 bytes checked
/// against the memref's bounds like any load; one outside calls the fault
/// hook and reads the first row instead) to the ldmatrix hook, which fills
/// a buffer on the lane's stack with its words once the whole warp has
/// called it.
void replaceLdMatrices(func::FuncOp host) {
  SmallVector<nvgpu::LdMatrixOp> loads;
  host.walk([&](nvgpu::LdMatrixOp load) { loads.push_back(load); });
  if (loads.empty())
    return;
  OpBuilder b = OpBuilder::atBlockBegin(&host.getBody().front());
  Location loc = host.getLoc();
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  Value words = memref::AllocaOp::create(b, loc, MemRefType::get({4}, i32));
  Value wordsAddress = addressOf(b, loc, words);
  for (nvgpu::LdMatrixOp load : loads) {
    b.setInsertionPoint(load);
    Value memref = load.getSrcMemref(), index = load.getIndices().front();
    Value inside = inBounds(b, loc, memref, index, 4);
    Value outside = arith::XOrIOp::create(b, loc, inside, arith::ConstantIntOp::create(b, loc, b.getI1Type(), 1));
    scf::IfOp::create(b, loc, outside, [&](OpBuilder &b, Location loc) {
      func::CallOp::create(b, loc, kFault, TypeRange{}, ValueRange{});
      scf::YieldOp::create(b, loc);
    });
    Value safe = arith::SelectOp::create(b, loc, inside, index, arith::ConstantIndexOp::create(b, loc, 0));
    Value offset = arith::IndexCastOp::create(
        b, loc, i64, arith::MulIOp::create(b, loc, safe, arith::ConstantIndexOp::create(b, loc, 4)));
    Value row = arith::AddIOp::create(b, loc, addressOf(b, loc, memref), offset);
    func::CallOp::create(b, loc, kLdMatrix, TypeRange{}, ValueRange{row, wordsAddress});
    Value result = arith::ConstantOp::create(b, loc, b.getZeroAttr(load.getRes().getType()));
    for (int64_t i = 0; i < 4; ++i) {
      Value word = memref::LoadOp::create(b, loc, words, ValueRange{arith::ConstantIndexOp::create(b, loc, i)});
      result = vector::InsertOp::create(b, loc, word, result, ArrayRef<int64_t>{i, 0});
    }
    load.getRes().replaceAllUsesWith(result);
    load.erase();
  }
}

/// Workgroup memory on the host: one private global per attribution, in
/// the default memory space (loads and stores do not look at it).
void replaceWorkgroupMemory(gpu::GPUFuncOp kernel, func::FuncOp host, Block &entry, OpBuilder &builder) {
  OpBuilder::InsertionGuard guard(builder);
  for (auto [index, attribution] : llvm::enumerate(kernel.getWorkgroupAttributions())) {
    auto spaced = cast<MemRefType>(attribution.getType());
    auto type = MemRefType::get(spaced.getShape(), spaced.getElementType());
    std::string name = (kBodyPrefix + kernel.getName() + "_workgroup_" + std::to_string(index)).str();
    builder.setInsertionPoint(host);
    memref::GlobalOp::create(builder, kernel.getLoc(), name, builder.getStringAttr("private"), type,
                             Attribute(), /*constant=*/false, builder.getI64IntegerAttr(16));
    builder.setInsertionPointToStart(&entry);
    Value global = memref::GetGlobalOp::create(builder, kernel.getLoc(), type, name);
    entry.getArgument(kernel.getNumArguments() + index).replaceAllUsesWith(global);
  }
  entry.eraseArguments(kernel.getNumArguments(), kernel.getNumWorkgroupAttributions());
}

LogicalResult copyToHost(gpu::GPUFuncOp kernel, OpBuilder &builder) {
  if (kernel.getNumPrivateAttributions())
    return kernel.emitError("ember-copy-kernels-to-host: kernel @")
           << kernel.getName() << " has private memory attributions, which its host copy does not support";
  if (Operation *op = findUnsupported(kernel))
    return op->emitError("ember-copy-kernels-to-host: kernel @")
           << kernel.getName() << " uses " << op->getName() << ", which its host copy cannot run";
  SmallVector<Type> inputs(kernel.getArgumentTypes());
  inputs.append(kNumIds, builder.getIndexType());
  auto host = func::FuncOp::create(builder, kernel.getLoc(), (kBodyPrefix + kernel.getName()).str(),
                                   builder.getFunctionType(inputs, {}));
  IRMapping mapping;
  kernel.getBody().cloneInto(&host.getBody(), mapping);
  Block &entry = host.getBody().front();
  replaceWorkgroupMemory(kernel, host, entry, builder);
  SmallVector<Value> ids;
  for (unsigned i = 0; i < kNumIds; ++i)
    ids.push_back(entry.addArgument(builder.getIndexType(), kernel.getLoc()));
  bool cooperative = false;
  host.walk([&](Operation *op) {
    auto replaceBy = [&](unsigned base, gpu::Dimension dim) {
      op->getResult(0).replaceAllUsesWith(ids[base + unsigned(dim)]);
      op->erase();
    };
    if (auto id = dyn_cast<gpu::BlockIdOp>(op))
      replaceBy(kBlockId, id.getDimension());
    else if (auto id = dyn_cast<gpu::ThreadIdOp>(op))
      replaceBy(kThreadId, id.getDimension());
    else if (auto size = dyn_cast<gpu::GridDimOp>(op))
      replaceBy(kGridDim, size.getDimension());
    else if (auto size = dyn_cast<gpu::BlockDimOp>(op))
      replaceBy(kBlockDim, size.getDimension());
    else if (auto shuffle = dyn_cast<gpu::ShuffleOp>(op)) {
      replaceShuffle(shuffle);
      cooperative = true;
    } else if (isa<NVVM::MmaOp, nvgpu::LdMatrixOp>(op)) {
      cooperative = true;
    } else if (auto barrier = dyn_cast<gpu::BarrierOp>(op)) {
      OpBuilder at(barrier);
      func::CallOp::create(at, barrier.getLoc(), kBarrier, TypeRange{});
      barrier.erase();
      cooperative = true;
    } else if (auto ret = dyn_cast<gpu::ReturnOp>(op)) {
      OpBuilder at(ret);
      func::ReturnOp::create(at, ret.getLoc());
      ret.erase();
    }
  });
  if (cooperative || kernel.getNumWorkgroupAttributions())
    host->setAttr(kCooperativeAttr, builder.getUnitAttr());
  guardAccesses(host);
  replaceMmas(host); // after the guards: its buffers are in bounds
  replaceLdMatrices(host);
  return success();
}

struct EmberCopyKernelsToHostPass
    : mlir::ember::impl::EmberCopyKernelsToHostBase<EmberCopyKernelsToHostPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
    SmallVector<gpu::GPUFuncOp> kernels;
    for (auto container : module.getOps<gpu::GPUModuleOp>())
      for (auto kernel : container.getOps<gpu::GPUFuncOp>())
        if (kernel.isKernel())
          kernels.push_back(kernel);
    if (!kernels.empty())
      declareHooks(module, builder);
    for (gpu::GPUFuncOp kernel : kernels)
      if (failed(copyToHost(kernel, builder)))
        return signalPassFailure();
  }
};

/// void __ember_host_<kernel>(ptr params, ptr ids): loads each argument of
/// the body through params[i] (cuLaunchKernel's kernelParams) and the ids
/// from ids[0..11], and calls it; `<entry>_param_bytes` is the size of the
/// kernel's parameter buffer: every argument at the next multiple of its
/// alignment. `<entry>_param_count` and `<entry>_param_sizes` (bytes of each
/// argument) let the device stand-in copy the arguments when it captures a
/// launch into a CUDA graph, as the driver does.
void addEntryPoint(LLVM::LLVMFuncOp body, OpBuilder &builder, const DataLayout &layout) {
  MLIRContext *context = body.getContext();
  Location loc = body.getLoc();
  auto pointer = LLVM::LLVMPointerType::get(context);
  auto i64 = builder.getI64Type();
  std::string name = (kEntryPrefix + body.getName().drop_front(kBodyPrefix.size())).str();
  auto entry = LLVM::LLVMFuncOp::create(builder, loc, name,
                                        LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(context),
                                                                    {pointer, pointer}));
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(entry.addEntryBlock(builder));
  Value params = entry.getArgument(0), ids = entry.getArgument(1);
  ArrayRef<Type> types = body.getFunctionType().getParams();
  size_t numParams = types.size() - kNumIds;
  SmallVector<Value> arguments;
  int64_t bytes = 0;
  SmallVector<int64_t> sizes;
  for (auto [index, type] : llvm::enumerate(types)) {
    bool isId = index >= numParams;
    Value base = isId ? ids : params;
    int64_t position = isId ? int64_t(index - numParams) : int64_t(index);
    Value slot = LLVM::GEPOp::create(builder, loc, pointer, isId ? Type(i64) : Type(pointer), base,
                                     ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(position)});
    Value address = isId ? slot : LLVM::LoadOp::create(builder, loc, pointer, slot).getResult();
    arguments.push_back(LLVM::LoadOp::create(builder, loc, type, address));
    if (isId)
      continue;
    sizes.push_back(int64_t(layout.getTypeSize(type)));
    bytes = llvm::alignTo(bytes, layout.getTypeABIAlignment(type)) + sizes.back();
  }
  LLVM::CallOp::create(builder, loc, body, arguments);
  LLVM::ReturnOp::create(builder, loc, ValueRange());
  builder.setInsertionPointAfter(entry);
  LLVM::GlobalOp::create(builder, loc, i64, /*isConstant=*/true, LLVM::Linkage::External, name + "_param_bytes",
                         builder.getI64IntegerAttr(bytes));
  LLVM::GlobalOp::create(builder, loc, i64, /*isConstant=*/true, LLVM::Linkage::External, name + "_param_count",
                         builder.getI64IntegerAttr(int64_t(sizes.size())));
  auto sizesType = RankedTensorType::get({int64_t(sizes.size())}, i64);
  LLVM::GlobalOp::create(builder, loc, LLVM::LLVMArrayType::get(i64, sizes.size()), /*isConstant=*/true,
                         LLVM::Linkage::External, name + "_param_sizes", DenseIntElementsAttr::get(sizesType, sizes));
  if (body->hasAttr(kCooperativeAttr))
    LLVM::GlobalOp::create(builder, loc, i64, /*isConstant=*/true, LLVM::Linkage::External,
                           name + kCooperativeSuffix.str(), builder.getI64IntegerAttr(1));
}

/// Gives a hook declaration its body: a call through the exported pointer
/// `<hook>_hook`, which the device stand-in sets (null: never called on a
/// GPU, where the kernels themselves run).
void defineHook(LLVM::LLVMFuncOp hook, OpBuilder &builder) {
  Location loc = hook.getLoc();
  auto pointer = LLVM::LLVMPointerType::get(builder.getContext());
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPoint(hook);
  std::string slot = (hook.getName() + kHookSuffix).str();
  auto global = LLVM::GlobalOp::create(builder, loc, pointer, /*isConstant=*/false, LLVM::Linkage::External,
                                       slot, Attribute());
  builder.setInsertionPointToStart(&global.getInitializerRegion().emplaceBlock());
  LLVM::ReturnOp::create(builder, loc, LLVM::ZeroOp::create(builder, loc, pointer).getResult());
  hook.setLinkage(LLVM::Linkage::Internal);
  Block *block = hook.addEntryBlock(builder);
  builder.setInsertionPointToStart(block);
  Value address = LLVM::AddressOfOp::create(builder, loc, pointer, slot);
  Value target = LLVM::LoadOp::create(builder, loc, pointer, address);
  SmallVector<Value> operands{target};
  llvm::append_range(operands, block->getArguments());
  auto call = LLVM::CallOp::create(builder, loc, hook.getFunctionType(), operands);
  LLVM::ReturnOp::create(builder, loc, call.getResults());
}

struct EmberHostKernelEntryPointsPass
    : mlir::ember::impl::EmberHostKernelEntryPointsBase<EmberHostKernelEntryPointsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    DataLayout layout = DataLayout::closest(module);
    OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
    for (StringRef name : {kBarrier, kShuffle, kMma, kLdMatrix, kFault})
      if (auto hook = module.lookupSymbol<LLVM::LLVMFuncOp>(name); hook && hook.isExternal())
        defineHook(hook, builder);
    for (auto body : llvm::to_vector(module.getOps<LLVM::LLVMFuncOp>())) {
      if (!body.getName().starts_with(kBodyPrefix) || body.isExternal())
        continue;
      if (body.getFunctionType().getNumParams() < kNumIds) {
        body.emitError("ember-host-kernel-entry-points: @") << body.getName() << " lacks the thread ids";
        return signalPassFailure();
      }
      // Only the entry point is exported; the body inlines into it.
      body.setLinkage(LLVM::Linkage::Internal);
      addEntryPoint(body, builder, layout);
    }
  }
};

} // namespace
