//===- EmberMoeOps.td - ember moe operations ------*- tablegen -*-===//
// Included by EmberOps.td (one generated op list for the dialect).
