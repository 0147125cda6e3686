//===- InsertFiniteChecks.cpp - NaN/Inf checks after every op -------------===//
//
// The diagnostic build (ember-compile --check-finite): every f32 output of
// every kernel op goes to a runtime hook that records the first one holding
// NaN or Inf, and calls are bracketed by scope hooks so the record can say
// which layer it was. Labels are memref.globals of their bytes.
//
//===----------------------------------------------------------------------===//
#include "dialects/Ember/EmberDialect.h"
#include "lowering/KernelOrigin.h"
#include "lowering/Passes.h"
#include "passes/TrafficModel.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::ember {
#define GEN_PASS_DEF_EMBERINSERTFINITECHECKS
#include "lowering/Passes.h.inc"
} // namespace mlir::ember

using namespace mlir;
using namespace mlir::ember;

namespace {

constexpr llvm::StringLiteral kCheckHook = "ember_check_finite", kEnterHook = "ember_enter_scope",
                              kLeaveHook = "ember_leave_scope", kReadsDeviceMemory = "ember.reads_device_memory",
                              kScopeAttr = "ember.scope";

class FiniteChecks {
public:
  explicit FiniteChecks(ModuleOp module) : module_(module), builder_(module.getContext()) {}

  void insert() {
    nameKernelOrigins(module_); // labels name ops as kernels are named
    declareHooks();
    for (auto func : llvm::to_vector(module_.getOps<func::FuncOp>())) {
      if (func.isExternal())
        continue;
      for (Operation &op : llvm::make_early_inc_range(func.getBody().getOps())) {
        if (isKernelOp(op))
          checkOutputs(op, func.getName());
        else if (auto call = dyn_cast<func::CallOp>(op))
          bracketCall(call);
      }
    }
  }

private:
  MemRefType labelType() { return MemRefType::get({ShapedType::kDynamic}, builder_.getI8Type()); }

  void declareHooks() {
    OpBuilder::InsertionGuard guard(builder_);
    builder_.setInsertionPointToStart(module_.getBody());
    auto declare = [&](StringRef name, TypeRange inputs) {
      if (module_.lookupSymbol(name))
        return;
      auto func = func::FuncOp::create(builder_, module_.getLoc(), name, builder_.getFunctionType(inputs, {}));
      func.setPrivate();
      if (inputs.empty())
        return;
      func->setAttr(kReadsDeviceMemory, builder_.getUnitAttr());
      func->setAttr("llvm.emit_c_interface", builder_.getUnitAttr()); // memrefs reach C as descriptors
    };
    declare(kCheckHook, {UnrankedMemRefType::get(builder_.getF32Type(), 0), labelType()});
    declare(kEnterHook, {labelType()});
    declare(kLeaveHook, {});
  }

  // A memref<?xi8> of `text`'s bytes: one private constant global per text.
  Value label(Location loc, StringRef text) {
    auto type = MemRefType::get({int64_t(text.size())}, builder_.getI8Type());
    auto [entry, added] = labels_.try_emplace(text, "");
    if (added) {
      entry->second = ("__ember_finite_label_" + llvm::Twine(labels_.size() - 1)).str();
      OpBuilder::InsertionGuard guard(builder_);
      builder_.setInsertionPointToEnd(module_.getBody());
      SmallVector<int8_t> bytes(text.begin(), text.end());
      auto value =
          DenseElementsAttr::get(RankedTensorType::get(type.getShape(), builder_.getI8Type()), ArrayRef<int8_t>(bytes));
      memref::GlobalOp::create(builder_, loc, entry->second, builder_.getStringAttr("private"), type, value,
                               /*constant=*/true, /*alignment=*/nullptr);
    }
    Value global = memref::GetGlobalOp::create(builder_, loc, type, entry->second);
    return memref::CastOp::create(builder_, loc, labelType(), global);
  }

  // After `op`: one check per f32 memref it writes. The expert GEMMs write
  // only the rows of routed assignments and leave the rest as it was, which
  // no op reads; the combine that consumes their rows is checked.
  void checkOutputs(Operation &op, StringRef function) {
    auto effects = dyn_cast<MemoryEffectOpInterface>(op);
    if (!effects || isa<ExpertGateUpOp, ExpertDownOp>(op))
      return;
    SmallVector<MemoryEffects::EffectInstance> instances;
    effects.getEffects(instances);
    llvm::SetVector<Value> outputs;
    for (const MemoryEffects::EffectInstance &effect : instances) {
      auto type = effect.getValue() ? dyn_cast<MemRefType>(effect.getValue().getType()) : MemRefType();
      if (isa<MemoryEffects::Write>(effect.getEffect()) && type && type.getElementType().isF32())
        outputs.insert(effect.getValue());
    }
    std::optional<KernelOrigin> origin = findKernelOrigin(op.getLoc());
    std::string name = (op.getDialect() ? op.getDialect()->getNamespace() : StringRef("?")).str() + "." +
                       kernelOpName(&op) + " #" + std::to_string(origin ? origin->index : 0) + " of @" + function.str();
    builder_.setInsertionPointAfter(&op);
    for (auto [number, output] : llvm::enumerate(outputs)) {
      std::string text = outputs.size() == 1 ? name : name + " (output " + std::to_string(number) + ")";
      Value data =
          memref::CastOp::create(builder_, op.getLoc(), UnrankedMemRefType::get(builder_.getF32Type(), 0), output);
      func::CallOp::create(builder_, op.getLoc(), kCheckHook, TypeRange{}, ValueRange{data, label(op.getLoc(), text)});
    }
  }

  // Calls of functions with a body: the callee's checks learn where they are.
  void bracketCall(func::CallOp call) {
    auto callee = module_.lookupSymbol<func::FuncOp>(call.getCallee());
    if (!callee || callee.isExternal())
      return;
    auto scope = call->getAttrOfType<StringAttr>(kScopeAttr);
    std::string text = scope ? scope.getValue().str() : "@" + call.getCallee().str();
    builder_.setInsertionPoint(call);
    func::CallOp::create(builder_, call.getLoc(), kEnterHook, TypeRange{}, ValueRange{label(call.getLoc(), text)});
    builder_.setInsertionPointAfter(call);
    func::CallOp::create(builder_, call.getLoc(), kLeaveHook, TypeRange{}, ValueRange{});
  }

  ModuleOp module_;
  OpBuilder builder_;
  llvm::StringMap<std::string> labels_; // text -> global
};

struct EmberInsertFiniteChecksPass : mlir::ember::impl::EmberInsertFiniteChecksBase<EmberInsertFiniteChecksPass> {
  void runOnOperation() override { FiniteChecks(getOperation()).insert(); }
};

} // namespace
