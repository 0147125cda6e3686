//===- EmberAttentionOps.td - ember attention operations ------*- tablegen -*-===//
// Included by EmberOps.td (one generated op list for the dialect).
