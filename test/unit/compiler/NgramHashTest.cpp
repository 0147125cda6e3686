//===- NgramHashTest.cpp - the compiled hash at full size vs big integers -===//
//
// Compiles ember_ngram_ids for LongCat-Flash-Lite's real sizes (V = 131072,
// m = 78 V, N = K = 4: all 12 tables) through the CPU pipeline, runs it, and
// checks every id against an exact evaluation with arbitrary-precision
// (128-bit, far above the ~1.3e12 terms) arithmetic written independently
// of the compiler's NgramMath helpers.
//
//===----------------------------------------------------------------------===//
#include "dialects/Ember/NgramMath.h"
#include "ember/runtime/MemRef.h"
#include "lowering/HostCodegen.h"
#include "lowering/Passes.h"
#include "lowering/Registration.h"
#include "models/NgramGraph.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <random>

namespace {

constexpr int64_t kVocab = 131072, kRatio = 78, kN = 4, kK = 4, kEos = 2;
constexpr int64_t kTables = kK * (kN - 1);

using IdsDescriptor = ember::rt::MemRefDescriptor<int32_t, 2>;
using RowIndexDescriptor = ember::rt::MemRefDescriptor<int32_t, 1>;
using IdsFn = void (*)(IdsDescriptor *, RowIndexDescriptor *, RowIndexDescriptor *, IdsDescriptor *);

using u128 = unsigned __int128;

/// id_i(t) per docs/design.md §2, with every intermediate in 128 bits.
std::vector<int64_t> referenceIds(const std::vector<int32_t> &tokens, size_t t) {
  std::vector<int64_t> ids;
  for (int64_t table = 0; table < kTables; ++table) {
    u128 rows = kRatio * kVocab + 2 * table + 1;
    int64_t order = table / kK + 2;
    u128 sum = 0, power = 1; // power = V^j, exact (V^3 = 2^51)
    bool cut = false;
    for (int64_t j = 0; j < order; ++j) {
      u128 history = 0;
      if (j == 0) {
        history = tokens[t];
      } else {
        cut = cut || static_cast<int64_t>(t) - j < 0 || tokens[t - j] == kEos;
        history = cut ? 0 : tokens[t - j];
      }
      sum += history * (power % rows);
      power *= kVocab;
    }
    ids.push_back(static_cast<int64_t>(sum % rows));
  }
  return ids;
}

class NgramHashTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    mlir::ember::registerAllEmberPasses();
    mlir::DialectRegistry registry;
    mlir::ember::registerAllEmberDialects(registry);
    mlir::MLIRContext context(registry);
    mlir::ember::NgramGraphSpec spec{kVocab, 3072, kN, kK, kRatio * kVocab, kEos,
                                     mlir::ember::WeightType::BF16};
    auto module = mlir::ember::buildNgramEmbeddingModule(context, spec);
    ASSERT_TRUE(module);
    mlir::PassManager pm(&context);
    mlir::ember::buildCpuPipeline(pm);
    ASSERT_TRUE(mlir::succeeded(pm.run(*module)));
    llvm::SmallString<128> path;
    llvm::sys::fs::createTemporaryFile("ember-hash-test", "so", path);
    library = path.str().str();
    llvm::Error error = mlir::ember::emitHostSharedLibrary(*module, library);
    ASSERT_FALSE(error) << llvm::toString(std::move(error));
    handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle, nullptr) << dlerror();
    ids = reinterpret_cast<IdsFn>(dlsym(handle, "_mlir_ciface_ember_ngram_ids"));
    ASSERT_NE(ids, nullptr);
  }
  static void TearDownTestSuite() {
    if (handle)
      dlclose(handle);
    llvm::sys::fs::remove(library);
  }

  /// Runs the compiled ids over the whole row and compares every position.
  static void expectIdsMatch(std::vector<int32_t> tokens) {
    ASSERT_NE(ids, nullptr);
    int64_t count = tokens.size();
    std::vector<int32_t> out(count * kTables, -1);
    std::vector<int32_t> slots(count, 0), positions(count);
    for (int64_t t = 0; t < count; ++t)
      positions[t] = int32_t(t);
    auto table = ember::rt::rowMajorMemRef<int32_t, 2>(tokens.data(), {1, count});
    auto slotsRef = ember::rt::rowMajorMemRef<int32_t, 1>(slots.data(), {count});
    auto positionsRef = ember::rt::rowMajorMemRef<int32_t, 1>(positions.data(), {count});
    auto result = ember::rt::rowMajorMemRef<int32_t, 2>(out.data(), {count, kTables});
    ids(&table, &slotsRef, &positionsRef, &result);
    for (int64_t t = 0; t < count; ++t) {
      std::vector<int64_t> expected = referenceIds(tokens, t);
      for (int64_t i = 0; i < kTables; ++i)
        ASSERT_EQ(out[t * kTables + i], expected[i]) << "token " << t << ", table " << i;
    }
  }

  static inline std::string library;
  static inline void *handle = nullptr;
  static inline IdsFn ids = nullptr;
};

TEST(NgramMath, MultipliersEqualExactPowers) {
  for (int64_t table = 0; table < kTables; ++table) {
    uint64_t rows = kRatio * kVocab + 2 * table + 1;
    u128 power = 1;
    for (unsigned j = 0; j < kN; ++j, power *= kVocab)
      EXPECT_EQ(ember::ngramMultiplier(kVocab, rows, j), static_cast<uint64_t>(power % rows));
  }
}

TEST(NgramMath, OverflowBoundIsExact) {
  EXPECT_TRUE(ember::ngramHashFitsIn64Bits(kVocab, kRatio * kVocab + 2 * kTables, kN));
  // 2 (2^31 - 2)(2147483000 - 1) < 2^63 but 3x that is not.
  EXPECT_TRUE(ember::ngramHashFitsIn64Bits(2147483647, 2147483000, 2));
  EXPECT_FALSE(ember::ngramHashFitsIn64Bits(2147483647, 2147483000, 3));
}

TEST_F(NgramHashTest, LargestTokensEverywhere) {
  expectIdsMatch(std::vector<int32_t>(64, kVocab - 1));
}

TEST_F(NgramHashTest, EosSegmentsAndZeros) {
  expectIdsMatch({kEos, kVocab - 1, 0, kEos, kEos, kVocab - 1, kVocab - 2, kVocab - 1, kEos, 0,
                  kVocab - 1, 5, kVocab - 1, kVocab - 1, kVocab - 1, kEos});
}

TEST_F(NgramHashTest, RandomTokens) {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int32_t> token(0, kVocab - 1);
  std::vector<int32_t> tokens(4096);
  for (int32_t &t : tokens)
    t = rng() % 17 == 0 ? kEos : token(rng);
  expectIdsMatch(tokens);
}

} // namespace
