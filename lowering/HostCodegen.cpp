//===- HostCodegen.cpp - LLVM-dialect modules to host shared libraries ----===//
#include "lowering/HostCodegen.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"

using namespace mlir;

namespace {

std::unique_ptr<llvm::TargetMachine> createHostTargetMachine(std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  llvm::SubtargetFeatures features;
  for (const auto &feature : llvm::sys::getHostCPUFeatures())
    features.AddFeature(feature.first(), feature.second);
  llvm::TargetOptions options;
  // The loader runs only .init_array: nvptx artifacts load their kernels
  // from global constructors, and a library linked without crt files would
  // never run .ctors.
  options.UseInitArray = true;
  return std::unique_ptr<llvm::TargetMachine>(target->createTargetMachine(
      triple, llvm::sys::getHostCPUName(), features.getString(), options, llvm::Reloc::PIC_,
      std::nullopt, llvm::CodeGenOptLevel::Aggressive));
}

void optimize(llvm::Module &module, llvm::TargetMachine &machine) {
  llvm::LoopAnalysisManager loops;
  llvm::FunctionAnalysisManager functions;
  llvm::CGSCCAnalysisManager cgscc;
  llvm::ModuleAnalysisManager modules;
  llvm::PassBuilder builder(&machine);
  builder.registerModuleAnalyses(modules);
  builder.registerCGSCCAnalyses(cgscc);
  builder.registerFunctionAnalyses(functions);
  builder.registerLoopAnalyses(loops);
  builder.crossRegisterProxies(loops, functions, cgscc, modules);
  builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3).run(module, modules);
}

/// For every C-interface function `_mlir_ciface_<name>` adds
/// `void <name>_packed(void **args)` that calls it with args[i] (a descriptor
/// pointer) or *args[i] (a scalar): a caller can then pass any number of
/// arguments without knowing the signature at compile time.
void addPackedEntryPoints(llvm::Module &module) {
  constexpr llvm::StringLiteral prefix = "_mlir_ciface_";
  llvm::LLVMContext &context = module.getContext();
  auto *pointer = llvm::PointerType::getUnqual(context);
  SmallVector<llvm::Function *> interfaces;
  for (llvm::Function &function : module)
    if (!function.isDeclaration() && function.getName().starts_with(prefix))
      interfaces.push_back(&function);
  for (llvm::Function *callee : interfaces) {
    auto *type = llvm::FunctionType::get(llvm::Type::getVoidTy(context), {pointer}, false);
    std::string name = (callee->getName().drop_front(prefix.size()) + "_packed").str();
    auto *wrapper = llvm::Function::Create(type, llvm::Function::ExternalLinkage, name, module);
    llvm::IRBuilder<> builder(llvm::BasicBlock::Create(context, "entry", wrapper));
    SmallVector<llvm::Value *> arguments;
    for (auto [index, parameter] : llvm::enumerate(callee->getFunctionType()->params())) {
      llvm::Value *slot = builder.CreateLoad(
          pointer, builder.CreateConstGEP1_64(pointer, wrapper->getArg(0), index));
      arguments.push_back(parameter->isPointerTy() ? slot : builder.CreateLoad(parameter, slot));
    }
    builder.CreateCall(callee, arguments);
    builder.CreateRetVoid();
  }
}

/// Defines `__truncsfbf2` (f32 to bf16, rounding to nearest even, NaN kept
/// quiet) in the library itself. x86 without AVX512-BF16 has no
/// instruction for it, so the code generator calls this libcall wherever a
/// bf16 value passes through a register (a phi, a select), and Debian 12's
/// libgcc (GCC 12) does not provide it: the library would not load. Hidden,
/// so each library resolves it to its own copy.
void addBf16Truncation(llvm::Module &module) {
  constexpr llvm::StringLiteral name = "__truncsfbf2";
  if (llvm::Function *existing = module.getFunction(name); existing && !existing->isDeclaration())
    return;
  llvm::LLVMContext &context = module.getContext();
  auto *i16 = llvm::Type::getInt16Ty(context), *i32 = llvm::Type::getInt32Ty(context);
  auto *type = llvm::FunctionType::get(llvm::Type::getBFloatTy(context), {llvm::Type::getFloatTy(context)}, false);
  auto *function = llvm::cast<llvm::Function>(module.getOrInsertFunction(name, type).getCallee());
  function->setLinkage(llvm::Function::ExternalLinkage);
  function->setVisibility(llvm::GlobalValue::HiddenVisibility);
  llvm::IRBuilder<> builder(llvm::BasicBlock::Create(context, "entry", function));
  llvm::Value *value = function->getArg(0);
  llvm::Value *bits = builder.CreateBitCast(value, i32);
  llvm::Value *odd = builder.CreateAnd(builder.CreateLShr(bits, 16), 1);
  llvm::Value *rounded = builder.CreateAdd(bits, builder.CreateAdd(odd, builder.getInt32(0x7fff)));
  llvm::Value *high = builder.CreateTrunc(builder.CreateLShr(rounded, 16), i16);
  llvm::Value *nan = builder.CreateFCmpUNO(value, value);
  llvm::Value *result = builder.CreateSelect(nan, builder.getInt16(0x7fc0), high);
  builder.CreateRet(builder.CreateBitCast(result, type->getReturnType()));
}

struct HostModule {
  std::unique_ptr<llvm::LLVMContext> context;
  std::unique_ptr<llvm::Module> module;
  std::unique_ptr<llvm::TargetMachine> machine;
};

llvm::Expected<HostModule> translateAndOptimize(ModuleOp module) {
  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  // nvptx hosts: gpu.binary becomes an embedded blob loaded by a global
  // constructor, gpu.launch_func a call of mgpuLaunchKernel.
  registerGPUDialectTranslation(registry);
  gpu::registerOffloadingLLVMTranslationInterfaceExternalModels(registry);
  module->getContext()->appendDialectRegistry(registry);

  HostModule host;
  std::string error;
  host.machine = createHostTargetMachine(error);
  if (!host.machine)
    return llvm::createStringError("cannot target the host CPU: " + error);
  host.context = std::make_unique<llvm::LLVMContext>();
  host.module = translateModuleToLLVMIR(module, *host.context, "ember");
  if (!host.module)
    return llvm::createStringError("translation to LLVM IR failed (is the module fully "
                                   "lowered to the LLVM dialect?)");
  host.module->setDataLayout(host.machine->createDataLayout());
  host.module->setTargetTriple(host.machine->getTargetTriple());
  addPackedEntryPoints(*host.module);
  optimize(*host.module, *host.machine);
  // After the optimizer, which would drop it: only the code generator
  // calls it.
  addBf16Truncation(*host.module);
  return host;
}

std::string linkerPath() {
#ifdef EMBER_LLD_PATH
  if (llvm::sys::fs::can_execute(EMBER_LLD_PATH))
    return EMBER_LLD_PATH;
#endif
  if (llvm::ErrorOr<std::string> found = llvm::sys::findProgramByName("ld.lld"))
    return *found;
  return "";
}

} // namespace

llvm::Expected<std::string> mlir::ember::emitOptimizedHostIr(ModuleOp module) {
  llvm::Expected<HostModule> host = translateAndOptimize(module);
  if (!host)
    return host.takeError();
  std::string text;
  llvm::raw_string_ostream os(text);
  host->module->print(os, nullptr);
  return text;
}

llvm::Error mlir::ember::emitHostSharedLibrary(ModuleOp module, llvm::StringRef path,
                                               std::string *optimizedIr) {
  llvm::Expected<HostModule> host = translateAndOptimize(module);
  if (!host)
    return host.takeError();
  if (optimizedIr) {
    llvm::raw_string_ostream os(*optimizedIr);
    host->module->print(os, nullptr);
  }

  std::string pid = std::to_string(llvm::sys::Process::getProcessId());
  std::string objectPath = (path + ".o.tmp." + pid).str();
  {
    std::error_code ec;
    llvm::raw_fd_ostream object(objectPath, ec, llvm::sys::fs::OF_None);
    if (ec)
      return llvm::createStringError("cannot write " + objectPath + ": " + ec.message());
    llvm::legacy::PassManager passes;
    if (host->machine->addPassesToEmitFile(passes, object, nullptr,
                                           llvm::CodeGenFileType::ObjectFile))
      return llvm::createStringError("the host target cannot emit object files");
    passes.run(*host->module);
  }

  std::string lld = linkerPath();
  if (lld.empty()) {
    llvm::sys::fs::remove(objectPath);
    return llvm::createStringError("ld.lld not found (apt-get install lld-22)");
  }
  // Undefined symbols (malloc, free) resolve against the loading process.
  llvm::SmallVector<llvm::StringRef> args{lld, "-shared", "-O2", "-o", path, objectPath};
  std::string message;
  int status = llvm::sys::ExecuteAndWait(lld, args, std::nullopt, {}, 0, 0, &message);
  llvm::sys::fs::remove(objectPath);
  if (status != 0) {
    llvm::sys::fs::remove(path);
    return llvm::createStringError("linking failed (" + llvm::join(args, " ") +
                                   "): exit status " + std::to_string(status) + " " + message);
  }
  return llvm::Error::success();
}

void mlir::ember::addExportedString(ModuleOp module, llvm::StringRef symbol, llvm::StringRef text) {
  std::string bytes = text.str();
  bytes.push_back('\0');
  OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
  auto type = LLVM::LLVMArrayType::get(IntegerType::get(module.getContext(), 8), bytes.size());
  LLVM::GlobalOp::create(builder, module.getLoc(), type, /*isConstant=*/true, LLVM::Linkage::External, symbol,
                         builder.getStringAttr(bytes));
}
