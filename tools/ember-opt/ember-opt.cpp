//===- ember-opt.cpp - the ember optimizer driver -------------------------===//
//
// MlirOptMain with the ember dialect, ember's passes and pipelines, and all
// of upstream MLIR, so every MLIR debugging flag (--mlir-print-ir-after-all,
// --mlir-timing, reproducers) and any --pass-pipeline work here.
//
//===----------------------------------------------------------------------===//
#include "lowering/Registration.h"

#include "EmberVersion.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/CommandLine.h"

int main(int argc, char **argv) {
  // After LLVM's own version lines (ember-opt links no ember runtime).
  llvm::cl::AddExtraVersionPrinter([](llvm::raw_ostream &os) {
    os << "ember-opt (ember " EMBER_VERSION ", git " EMBER_GIT_COMMIT ", LLVM " EMBER_LLVM_VERSION ")\n";
  });
  mlir::ember::registerAllEmberPasses();
  mlir::DialectRegistry registry;
  mlir::ember::registerAllEmberDialects(registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "ember optimizer driver\n", registry));
}
