//===- NgramGraph.cpp - the n-gram embedding graph ------------------------===//
#include "models/NgramGraph.h"
#include "dialects/Ember/EmberDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"

using namespace mlir;
using namespace mlir::ember;

namespace {

struct Types {
  MemRefType rowIndex, tokenTable, ids, embed, tables, projections, embeddings;
};

Types entryTypes(OpBuilder &b, const NgramGraphSpec &spec, NgramConfigAttr config) {
  int64_t dyn = ShapedType::kDynamic;
  int64_t numTables = config.getNumTables();
  int64_t width = spec.hidden / numTables;
  int64_t totalRows = config.getTotalRows();
  Type weight = weightElementType(b, spec.weightType);
  return Types{MemRefType::get({dyn}, b.getI32Type()), MemRefType::get({dyn, dyn}, b.getI32Type()),
               MemRefType::get({dyn, numTables}, b.getI32Type()),
               MemRefType::get({spec.vocab, spec.hidden}, weight),
               MemRefType::get({totalRows, width}, weight),
               MemRefType::get({numTables, spec.hidden, width}, weight),
               MemRefType::get({dyn, spec.hidden}, b.getF32Type())};
}

void buildIdsFunction(OpBuilder &b, Location loc, const Types &types, NgramConfigAttr config) {
  OpBuilder::InsertionGuard guard(b);
  func::FuncOp func = createEntryFunction(b, loc, kNgramIdsFunction,
                                          {types.tokenTable, types.rowIndex, types.rowIndex, types.ids});
  ValueRange args = func.getArguments();
  NgramIdsOp::create(b, loc, args[0], args[1], args[2], args[3], config);
  func::ReturnOp::create(b, loc);
}

void buildEmbedFunction(OpBuilder &b, Location loc, const Types &types, NgramConfigAttr config) {
  OpBuilder::InsertionGuard guard(b);
  func::FuncOp func = createEntryFunction(
      b, loc, kNgramEmbedFunction,
      {types.rowIndex, types.tokenTable, types.rowIndex, types.rowIndex, types.embed, types.tables,
       types.projections, types.ids, types.embeddings});
  ValueRange args = func.getArguments();
  buildNgramEmbedding(b, loc, config, args[0], args[1], args[2], args[3], args[4], args[5], args[6],
                      args[7], args[8]);
  func::ReturnOp::create(b, loc);
}

} // namespace

NgramConfigAttr mlir::ember::ngramConfigOf(MLIRContext &context, const NgramGraphSpec &spec) {
  return NgramConfigAttr::get(&context, spec.vocab, spec.ngramVocab, spec.neighborNum,
                              spec.splitNum, spec.eos);
}

func::FuncOp mlir::ember::createEntryFunction(OpBuilder &b, Location loc, StringRef name,
                                              TypeRange inputs) {
  auto func = func::FuncOp::create(b, loc, name, b.getFunctionType(inputs, {}));
  func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(), b.getUnitAttr());
  b.setInsertionPointToStart(func.addEntryBlock());
  return func;
}

Type mlir::ember::weightElementType(OpBuilder &b, WeightType type) {
  switch (type) {
  case WeightType::F32: return b.getF32Type();
  case WeightType::BF16:
  case WeightType::FP8:
    return b.getBF16Type();
  case WeightType::F16: return b.getF16Type();
  }
  llvm_unreachable("unknown weight type");
}

void mlir::ember::buildNgramEmbedding(OpBuilder &b, Location loc, NgramConfigAttr config,
                                      Value tokens, Value tokenTable, Value slots, Value positions,
                                      Value embed, Value tables, Value projections, Value ids,
                                      Value embeddings) {
  int64_t numTables = config.getNumTables();
  int64_t hidden = cast<MemRefType>(embed.getType()).getDimSize(1);
  int64_t width = cast<MemRefType>(tables.getType()).getDimSize(1);
  int64_t dyn = ShapedType::kDynamic;

  // 1. Hashed ids of every n-gram ending at the new tokens.
  NgramIdsOp::create(b, loc, tokenTable, slots, positions, ids, config);
  Value count = memref::DimOp::create(b, loc, ids, 0);

  // 2. One gather over the concatenated n-gram tables.
  auto rowsType = MemRefType::get({dyn, numTables, width}, b.getF32Type());
  Value rows = memref::AllocOp::create(b, loc, rowsType, ValueRange{count});
  MultiTableGatherOp::create(b, loc, tables, ids, rows,
                             b.getDenseI64ArrayAttr(config.getRowOffsets()), config);

  // 3. The word embedding is a one-table gather whose ids are the tokens
  //    themselves, as a [T, 1] column.
  SmallVector<ReassociationIndices> unitColumn{{0, 1}};
  Value tokenColumn = memref::ExpandShapeOp::create(
      b, loc, MemRefType::get({dyn, 1}, b.getI32Type()), tokens, unitColumn,
      ArrayRef<OpFoldResult>{count, b.getIndexAttr(1)});
  auto wordType = MemRefType::get({dyn, 1, hidden}, b.getF32Type());
  Value word = memref::AllocOp::create(b, loc, wordType, ValueRange{count});
  MultiTableGatherOp::create(b, loc, embed, tokenColumn, word, b.getDenseI64ArrayAttr({0}),
                             NgramConfigAttr());
  SmallVector<ReassociationIndices> dropUnit{{0, 1}, {2}};
  Value word2d = memref::CollapseShapeOp::create(b, loc, word, dropUnit);

  // 4. Project each n-gram row, add the word row, take the mean.
  NgramCombineOp::create(b, loc, word2d, rows, projections, embeddings);
  memref::DeallocOp::create(b, loc, word);
  memref::DeallocOp::create(b, loc, rows);
}

OwningOpRef<ModuleOp> mlir::ember::buildNgramEmbeddingModule(MLIRContext &context,
                                                             const NgramGraphSpec &spec) {
  OwningOpRef<ModuleOp> module =
      ModuleOp::create(FileLineColLoc::get(&context, "ngram_embedding", 0, 0));
  if (failed(addNgramEmbeddingFunctions(*module, spec)))
    return nullptr;
  return module;
}

LogicalResult mlir::ember::addNgramEmbeddingFunctions(ModuleOp module, const NgramGraphSpec &spec) {
  MLIRContext &context = *module.getContext();
  context.loadDialect<EmberDialect, arith::ArithDialect, func::FuncDialect,
                      memref::MemRefDialect, LLVM::LLVMDialect>();
  Location loc = FileLineColLoc::get(&context, "ngram_embedding", 0, 0);
  auto diagnose = [&] { return emitError(loc); };
  if (failed(NgramConfigAttr::verifyInvariants(diagnose, spec.vocab, spec.ngramVocab,
                                               spec.neighborNum, spec.splitNum, spec.eos)))
    return failure();
  NgramConfigAttr config = ngramConfigOf(context, spec);
  if (spec.hidden < 1 || spec.hidden % config.getNumTables() != 0) {
    emitError(loc) << "hidden size " << spec.hidden << " must be a positive multiple of E = "
                   << config.getNumTables();
    return failure();
  }

  OpBuilder b(&context);
  b.setInsertionPointToEnd(module.getBody());
  Types types = entryTypes(b, spec, config);
  buildIdsFunction(b, loc, types, config);
  buildEmbedFunction(b, loc, types, config);
  return verify(module);
}
