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
//===----------------------------------------------------------------------===//
#include "lowering/nvptx/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
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

constexpr llvm::StringLiteral kBodyPrefix = "__ember_host_body_", kEntryPrefix = "__ember_host_";
// blockIdx, threadIdx, gridDim, blockDim; x, y, z each.
constexpr unsigned kNumIds = 12;
enum IdBase : unsigned { kBlockId = 0, kThreadId = 3, kGridDim = 6, kBlockDim = 9 };

/// The first op a host thread cannot run alone, or null.
Operation *findUnsupported(gpu::GPUFuncOp kernel) {
  Operation *unsupported = nullptr;
  kernel.walk([&](Operation *op) {
    if (op != kernel && isa<gpu::GPUDialect>(op->getDialect()) &&
        !isa<gpu::ThreadIdOp, gpu::BlockIdOp, gpu::GridDimOp, gpu::BlockDimOp, gpu::ReturnOp>(op)) {
      unsupported = op;
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return unsupported;
}

LogicalResult copyToHost(gpu::GPUFuncOp kernel, OpBuilder &builder) {
  if (kernel.getNumWorkgroupAttributions() || kernel.getNumPrivateAttributions())
    return kernel.emitError("ember-copy-kernels-to-host: kernel @")
           << kernel.getName() << " has workgroup or private memory attributions, which its host copy "
           << "(one thread at a time) cannot share";
  if (Operation *op = findUnsupported(kernel))
    return op->emitError("ember-copy-kernels-to-host: kernel @")
           << kernel.getName() << " uses " << op->getName()
           << ", which its host copy (one thread at a time) cannot run";
  SmallVector<Type> inputs(kernel.getArgumentTypes());
  inputs.append(kNumIds, builder.getIndexType());
  auto host = func::FuncOp::create(builder, kernel.getLoc(), (kBodyPrefix + kernel.getName()).str(),
                                   builder.getFunctionType(inputs, {}));
  IRMapping mapping;
  kernel.getBody().cloneInto(&host.getBody(), mapping);
  Block &entry = host.getBody().front();
  SmallVector<Value> ids;
  for (unsigned i = 0; i < kNumIds; ++i)
    ids.push_back(entry.addArgument(builder.getIndexType(), kernel.getLoc()));
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
    else if (auto ret = dyn_cast<gpu::ReturnOp>(op)) {
      OpBuilder at(ret);
      func::ReturnOp::create(at, ret.getLoc());
      ret.erase();
    }
  });
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
    for (gpu::GPUFuncOp kernel : kernels)
      if (failed(copyToHost(kernel, builder)))
        return signalPassFailure();
  }
};

/// void __ember_host_<kernel>(ptr params, ptr ids): loads each argument of
/// the body through params[i] (cuLaunchKernel's kernelParams) and the ids
/// from ids[0..11], and calls it; `<entry>_param_bytes` is the size of the
/// kernel's parameter buffer: every argument at the next multiple of its
/// alignment.
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
  for (auto [index, type] : llvm::enumerate(types)) {
    bool isId = index >= numParams;
    Value base = isId ? ids : params;
    int64_t position = isId ? int64_t(index - numParams) : int64_t(index);
    Value slot = LLVM::GEPOp::create(builder, loc, pointer, isId ? Type(i64) : Type(pointer), base,
                                     ArrayRef<LLVM::GEPArg>{position});
    Value address = isId ? slot : LLVM::LoadOp::create(builder, loc, pointer, slot).getResult();
    arguments.push_back(LLVM::LoadOp::create(builder, loc, type, address));
    if (!isId)
      bytes = llvm::alignTo(bytes, layout.getTypeABIAlignment(type)) + int64_t(layout.getTypeSize(type));
  }
  LLVM::CallOp::create(builder, loc, body, arguments);
  LLVM::ReturnOp::create(builder, loc, ValueRange());
  builder.setInsertionPointAfter(entry);
  LLVM::GlobalOp::create(builder, loc, i64, /*isConstant=*/true, LLVM::Linkage::External, name + "_param_bytes",
                         builder.getI64IntegerAttr(bytes));
}

struct EmberHostKernelEntryPointsPass
    : mlir::ember::impl::EmberHostKernelEntryPointsBase<EmberHostKernelEntryPointsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    DataLayout layout = DataLayout::closest(module);
    OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
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
