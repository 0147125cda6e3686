//===- NgramMath.h - n-gram hash constants (docs/design.md §2) ------*- C++ -*-===//
//
// Shared by the verifier (overflow proof), the lowering (hash constants) and
// the tests. Header-only and free of MLIR so the runtime tests can use it.
//
//===----------------------------------------------------------------------===//
#ifndef EMBER_DIALECTS_EMBER_NGRAMMATH_H
#define EMBER_DIALECTS_EMBER_NGRAMMATH_H

#include <cstdint>

namespace ember {

/// V^j mod M. Operands stay below M < 2^32, so each product fits in 64 bits.
inline uint64_t ngramMultiplier(uint64_t vocab, uint64_t rows, unsigned power) {
  uint64_t result = 1 % rows;
  uint64_t base = vocab % rows;
  for (unsigned j = 0; j < power; ++j)
    result = result * base % rows;
  return result;
}

/// True when every partial hash sum of an order-`order` n-gram over tokens
/// below `vocab` into a table of `rows` rows stays below 2^63, i.e. 64-bit
/// (signed or unsigned) accumulation without intermediate reductions is exact.
inline bool ngramHashFitsIn64Bits(uint64_t vocab, uint64_t rows, uint64_t order) {
  if (vocab == 0 || rows == 0)
    return true;
  unsigned __int128 bound = static_cast<unsigned __int128>(order) * (vocab - 1) * (rows - 1);
  return bound < (static_cast<unsigned __int128>(1) << 63);
}

} // namespace ember

#endif // EMBER_DIALECTS_EMBER_NGRAMMATH_H
