//===- EmberInterfaces.td - ember op interfaces -------------*- tablegen -*-===//
#ifndef EMBER_INTERFACES_TD
#define EMBER_INTERFACES_TD

include "mlir/IR/OpBase.td"

def Ember_TrafficOpInterface : OpInterface<"TrafficOpInterface"> {
  let cppNamespace = "::mlir::ember";
  let description = [{
    The static traffic model (passes/TrafficModel.h, docs/performance.md):
    an op is `getKernelCount()` kernels (one unless it says otherwise), and
    `addTraffic` reports to the context the bytes one execution of them
    reads and writes from memory, per class (weights,
    gathered embedding rows, KV cache, activations), for a step of
    `ctx.tokens` new tokens after `ctx.position` cached ones. Each byte a
    kernel touches counts once: reuse inside a kernel is assumed to hit in
    caches or registers.

    The default reads every memref operand the op's MemRead effects name and
    writes every one its MemWrite effects name, whole, classed by the buffer
    they view (`TrafficContext::classOf`). Ops that touch only part of an
    operand (a gather, the activated experts, the attended cache rows) or
    whose operands have a known role (weights) implement it themselves. An
    ember op that does not declare the interface at all is counted with the
    same default.
  }];
  let methods = [
    InterfaceMethod<
      "Reports the bytes one launch of this op's kernel reads and writes.",
      "void", "addTraffic", (ins "::mlir::ember::TrafficContext &":$ctx), [{}],
      [{ ::mlir::ember::addTrafficFromEffects($_op, ctx); }]>,
    InterfaceMethod<
      "The kernels one execution of this op launches.",
      "int64_t", "getKernelCount", (ins), [{}], [{ return 1; }]>,
  ];
}

// The traits ops list: the default model, or their own addTraffic
// (dialects/Ember/EmberTraffic.cpp).
def Ember_DefaultTraffic : DeclareOpInterfaceMethods<Ember_TrafficOpInterface>;
def Ember_OwnTraffic : DeclareOpInterfaceMethods<Ember_TrafficOpInterface, ["addTraffic"]>;
def Ember_OwnTrafficKernels
    : DeclareOpInterfaceMethods<Ember_TrafficOpInterface, ["addTraffic", "getKernelCount"]>;

#endif // EMBER_INTERFACES_TD
