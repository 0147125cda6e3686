//===- Registration.h - everything ember's tools register -------*- C++ -*-===//
#ifndef EMBER_LOWERING_REGISTRATION_H
#define EMBER_LOWERING_REGISTRATION_H

namespace mlir {
class DialectRegistry;
namespace ember {

/// The ember dialect plus every upstream dialect, extension and GPU -> LLVM
/// IR translation the pipelines use (gpu-module-to-binary needs the latter).
void registerAllEmberDialects(DialectRegistry &registry);

/// Upstream passes (the pipelines are spelled as textual pass pipelines),
/// ember's passes and the ember-cpu/nvptx pipelines. Call once per process.
void registerAllEmberPasses();

} // namespace ember
} // namespace mlir

#endif // EMBER_LOWERING_REGISTRATION_H
