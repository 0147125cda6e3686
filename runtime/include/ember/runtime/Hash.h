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

} // namespace ember::rt
