//===- EmberDialect.h - the ember dialect ------------------------*- C++ -*-===//
#ifndef EMBER_DIALECTS_EMBER_EMBERDIALECT_H
#define EMBER_DIALECTS_EMBER_EMBERDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/Ember/EmberTraffic.h"

#include "dialects/Ember/EmberDialect.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/Ember/EmberAttrs.h.inc"

#include "dialects/Ember/EmberInterfaces.h.inc"

#define GET_OP_CLASSES
#include "dialects/Ember/EmberOps.h.inc"

#endif // EMBER_DIALECTS_EMBER_EMBERDIALECT_H
