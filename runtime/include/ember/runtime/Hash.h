#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ember::rt {

// FNV-1a 64-bit: a stable, dependency-free hash for cache keys, seeds and
// artifact checksums; `hash` continues an earlier call's result.
inline constexpr uint64_t kFnv1a64Start = 0xcbf29ce484222325ull;
inline uint64_t fnv1a64(const void *data, size_t size, uint64_t hash = kFnv1a64Start) {
  for (size_t i = 0; i < size; ++i) {
    hash ^= static_cast<const unsigned char *>(data)[i];
    hash *= 0x100000001b3ull;
  }
  return hash;
}
inline uint64_t fnv1a64(const std::string &bytes) { return fnv1a64(bytes.data(), bytes.size()); }

// 16 lowercase hex digits.
inline std::string hex64(uint64_t value) {
  static const char digits[] = "0123456789abcdef";
  std::string hex(16, '0');
  for (int i = 15; i >= 0; --i, value >>= 4)
    hex[size_t(i)] = digits[value & 0xf];
  return hex;
}

// fnv1a64 as 16 lowercase hex digits (cache keys, artifact stamps).
inline std::string fnv1a64Hex(const std::string &bytes) { return hex64(fnv1a64(bytes)); }

} // namespace ember::rt
