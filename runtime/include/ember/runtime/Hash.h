#pragma once

#include <cstdint>
#include <string>

namespace ember::rt {

// FNV-1a 64-bit: a stable, dependency-free hash for cache keys and seeds.
inline uint64_t fnv1a64(const std::string &bytes) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char byte : bytes) {
    hash ^= byte;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

// fnv1a64 as 16 lowercase hex digits (cache keys, artifact stamps).
inline std::string fnv1a64Hex(const std::string &bytes) {
  static const char digits[] = "0123456789abcdef";
  uint64_t hash = fnv1a64(bytes);
  std::string hex(16, '0');
  for (int i = 15; i >= 0; --i, hash >>= 4)
    hex[size_t(i)] = digits[hash & 0xf];
  return hex;
}

} // namespace ember::rt
