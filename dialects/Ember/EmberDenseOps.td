//===- EmberDenseOps.td - ember dense operations ------*- tablegen -*-===//
// Included by EmberOps.td (one generated op list for the dialect).
