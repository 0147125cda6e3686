//===- PtxasReport.cpp - per-kernel resources from `ptxas -v` -------------===//
//
// ptxas -v prints, per function:
//   ptxas info    : Compiling entry function 'k' for 'sm_90'
//   ptxas info    : Function properties for k
//       0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
//   ptxas info    : Used 30 registers, used 0 barriers, 16 bytes smem, ...
// The comma-separated items are matched by their unit, not their position,
// which differs between CUDA versions (barriers and cmem come and go).
//
//===----------------------------------------------------------------------===//
#include "lowering/nvptx/PtxasReport.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace mlir::ember;

namespace {

/// Applies `set(number, unit)` to every "<number> <unit>" item of a
/// comma-separated list ("Used 30 registers" counts as "30 registers").
template <typename Fn> void forEachItem(llvm::StringRef list, Fn set) {
  llvm::SmallVector<llvm::StringRef> items;
  list.split(items, ',');
  for (llvm::StringRef item : items) {
    item = item.trim();
    item.consume_front("Used ");
    auto [number, unit] = item.split(' ');
    int64_t value;
    if (!number.getAsInteger(10, value))
      set(value, unit.trim());
  }
}

KernelResources &findOrAdd(std::vector<KernelResources> &kernels, llvm::StringRef function,
                           llvm::StringRef module, llvm::StringRef command) {
  for (KernelResources &kernel : kernels)
    if (kernel.function == function)
      return kernel;
  KernelResources &kernel = kernels.emplace_back();
  kernel.module = module.str();
  kernel.function = function.str();
  kernel.command = command.str();
  return kernel;
}

/// The module (the name of its .ptx and .cubin), with the function when the
/// module is not named after it (a callee ptxas kept, or a bare log).
std::string rowName(const KernelResources &kernel) {
  if (kernel.module.empty())
    return kernel.function;
  if (llvm::StringRef(kernel.module).starts_with(kernel.function))
    return kernel.module;
  return kernel.module + ":" + kernel.function;
}

} // namespace

std::vector<KernelResources> mlir::ember::parsePtxasLog(llvm::StringRef log, llvm::StringRef module,
                                                        llvm::StringRef command) {
  std::vector<KernelResources> kernels;
  KernelResources *current = nullptr;
  auto setResource = [&](int64_t value, llvm::StringRef unit) {
    if (unit == "registers")
      current->registers = value;
    else if (unit == "bytes smem")
      current->sharedBytes = value;
    else if (unit == "bytes stack frame")
      current->stackBytes = value;
    else if (unit == "bytes spill stores")
      current->spillStoreBytes = value;
    else if (unit == "bytes spill loads")
      current->spillLoadBytes = value;
  };
  llvm::SmallVector<llvm::StringRef> lines;
  log.split(lines, '\n');
  for (llvm::StringRef line : lines) {
    line = line.trim();
    if (size_t at = line.find("Compiling entry function '"); at != llvm::StringRef::npos) {
      llvm::StringRef name = line.drop_front(at).split('\'').second.split('\'').first;
      current = &findOrAdd(kernels, name, module, command);
    } else if (size_t at = line.find("Function properties for "); at != llvm::StringRef::npos) {
      llvm::StringRef name = line.drop_front(at + strlen("Function properties for ")).trim();
      current = &findOrAdd(kernels, name, module, command);
    } else if (current && line.contains("bytes stack frame")) {
      forEachItem(line, setResource);
    } else if (current && line.contains(": Used ")) {
      forEachItem(line.split(": ").second, setResource);
    }
  }
  return kernels;
}

std::string mlir::ember::formatPtxasReport(llvm::ArrayRef<KernelResources> kernels,
                                           llvm::StringRef chip) {
  static constexpr const char *kColumns = " {0,9} {1,10} {2,11} {3,12} {4,11}\n";
  size_t width = strlen("kernel module");
  for (const KernelResources &kernel : kernels)
    width = std::max(width, rowName(kernel).size());
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::left_justify("kernel module", width)
     << llvm::formatv(kColumns, "registers", "smem bytes", "stack bytes", "spill stores",
                      "spill loads");
  int64_t maxRegisters = 0, maxShared = 0, spilling = 0;
  for (const KernelResources &kernel : kernels) {
    os << llvm::left_justify(rowName(kernel), width)
       << llvm::formatv(kColumns, kernel.registers, kernel.sharedBytes, kernel.stackBytes,
                        kernel.spillStoreBytes, kernel.spillLoadBytes);
    maxRegisters = std::max(maxRegisters, kernel.registers);
    maxShared = std::max(maxShared, kernel.sharedBytes);
    spilling += kernel.spills();
  }
  os << llvm::formatv("{0} kernels for {1}: at most {2} registers, at most {3} bytes of shared "
                      "memory, {4} spilling\n",
                      kernels.size(), chip, maxRegisters, maxShared, spilling);
  return text;
}

std::string mlir::ember::describeSpills(llvm::ArrayRef<KernelResources> kernels) {
  std::string text;
  for (const KernelResources &kernel : kernels)
    if (kernel.spills())
      text += llvm::formatv("kernel '{0}' (module {1}) spills {2} bytes (stores) and {3} bytes "
                            "(loads); reproduce with: {4}\n",
                            kernel.function, kernel.module, kernel.spillStoreBytes,
                            kernel.spillLoadBytes, kernel.command)
                  .str();
  return text;
}
