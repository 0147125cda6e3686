//===- KernelBinaries.cpp - PTX to cubin/fatbin inside gpu.binary ---------===//
#include "lowering/nvptx/KernelBinaries.h"
#include "lowering/HostCodegen.h"
#include "lowering/nvptx/CudaToolkit.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

std::vector<mlir::ember::KernelPtx> mlir::ember::collectPtx(ModuleOp module) {
  std::vector<KernelPtx> result;
  module.walk([&](gpu::BinaryOp binary) {
    for (Attribute attr : binary.getObjects())
      if (auto object = dyn_cast<gpu::ObjectAttr>(attr))
        if (object.getFormat() == gpu::CompilationTarget::Assembly)
          result.push_back({binary.getSymName().str(), object.getObject().str()});
  });
  return result;
}

llvm::StringRef mlir::ember::kernelFormatName(KernelFormat format) {
  switch (format) {
  case KernelFormat::Ptx: return "ptx";
  case KernelFormat::Cubin: return "cubin";
  case KernelFormat::Fatbin: return "fatbin";
  }
  llvm_unreachable("unknown kernel format");
}

namespace {

llvm::Error writeBytes(llvm::StringRef path, llvm::StringRef bytes) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return llvm::createStringError("cannot write " + path + ": " + ec.message());
  os << bytes;
  return llvm::Error::success();
}

/// fatbinary with the cubin and, for the driver to JIT on newer GPUs, the PTX.
llvm::Error runFatbinary(llvm::StringRef fatbinary, llvm::StringRef chip, llvm::StringRef cubin,
                         llvm::StringRef ptx, llvm::StringRef output) {
  llvm::StringRef sm = chip.drop_front(3); // sm_90 -> 90
  std::string elf = ("--image3=kind=elf,sm=" + sm + ",file=" + cubin).str();
  std::string text = ("--image3=kind=ptx,sm=" + sm + ",file=" + ptx).str();
  llvm::SmallVector<llvm::StringRef> args{fatbinary, "-64", elf, text, "--create", output};
  std::string message;
  if (llvm::sys::ExecuteAndWait(fatbinary, args, std::nullopt, {}, 0, 0, &message) != 0)
    return llvm::createStringError("fatbinary failed (" + llvm::join(args, " ") + ") " + message);
  return llvm::Error::success();
}

} // namespace

llvm::Error mlir::ember::assembleKernels(ModuleOp module, KernelFormat format,
                                         llvm::StringRef chip, llvm::StringRef workDir,
                                         PtxasReport &report) {
  std::string ptxas, fatbinary;
  if (format != KernelFormat::Ptx && (ptxas = findCudaTool("ptxas")).empty())
    return llvm::createStringError("ptxas not found (no CUDA toolkit in $CUDA_HOME, "
                                   "/usr/local/cuda or on PATH): use --kernel-format=ptx");
  if (format == KernelFormat::Fatbin && (fatbinary = findCudaTool("fatbinary")).empty())
    return llvm::createStringError("fatbinary not found next to ptxas: use --kernel-format=cubin");
  SmallVector<gpu::BinaryOp> binaries(module.getOps<gpu::BinaryOp>());
  for (gpu::BinaryOp binary : binaries) {
    ArrayAttr objects = binary.getObjects();
    auto object = objects.size() == 1 ? dyn_cast<gpu::ObjectAttr>(objects[0]) : nullptr;
    if (!object || object.getFormat() != gpu::CompilationTarget::Assembly)
      return llvm::createStringError("gpu.binary @" + binary.getSymName() +
                                     " does not hold exactly one PTX object");
    std::string base = (workDir + "/" + binary.getSymName()).str();
    if (llvm::Error error = writeBytes(base + ".ptx", object.getObject()))
      return error;
    if (format == KernelFormat::Ptx)
      continue;
    PtxasResult result = runPtxas(ptxas, base + ".ptx", chip, base + ".cubin");
    report.log += "$ " + result.command + "\n" + result.log;
    for (KernelResources &kernel : parsePtxasLog(result.log, binary.getSymName(), result.command))
      report.kernels.push_back(std::move(kernel));
    if (!result.succeeded)
      return llvm::createStringError("ptxas failed on kernel module '" + binary.getSymName() +
                                     "':\n" + result.log + "reproduce with: " + result.command);
    std::string output = base + ".cubin";
    if (format == KernelFormat::Fatbin) {
      output = base + ".fatbin";
      if (llvm::Error error = runFatbinary(fatbinary, chip, base + ".cubin", base + ".ptx", output))
        return error;
    }
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> bytes = llvm::MemoryBuffer::getFile(output);
    if (!bytes)
      return llvm::createStringError("cannot read " + output + ": " + bytes.getError().message());
    auto assembled = gpu::ObjectAttr::get(
        module.getContext(), object.getTarget(),
        format == KernelFormat::Fatbin ? gpu::CompilationTarget::Fatbin
                                       : gpu::CompilationTarget::Binary,
        StringAttr::get(module.getContext(), (*bytes)->getBuffer()), object.getProperties(),
        object.getKernels());
    binary.setObjectsAttr(ArrayAttr::get(module.getContext(), {assembled}));
  }
  return llvm::Error::success();
}

void mlir::ember::addNvptxArtifactMarker(ModuleOp module, llvm::StringRef chip, KernelFormat format) {
  addExportedString(module, "ember_nvptx_kernels", (chip + " " + kernelFormatName(format)).str());
}

mlir::ember::PtxasResult mlir::ember::runPtxas(llvm::StringRef ptxas, llvm::StringRef ptxPath,
                                               llvm::StringRef chip,
                                               llvm::StringRef cubinPath) {
  std::string arch = ("-arch=" + chip).str();
  llvm::SmallVector<llvm::StringRef> args{ptxas, "-v", arch, ptxPath, "-o", cubinPath};
  PtxasResult result;
  result.command = llvm::join(args, " ");
  llvm::SmallString<128> logPath;
  llvm::sys::fs::createTemporaryFile("ember-ptxas", "log", logPath);
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, logPath.str(), logPath.str()};
  std::string message;
  int status = llvm::sys::ExecuteAndWait(ptxas, args, std::nullopt, redirects, 0, 0, &message);
  if (auto buffer = llvm::MemoryBuffer::getFile(logPath))
    result.log = (*buffer)->getBuffer().str();
  llvm::sys::fs::remove(logPath);
  result.log += message;
  result.succeeded = status == 0;
  return result;
}
