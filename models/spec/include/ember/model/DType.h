#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace ember {

// Element types of weights (safetensors spelling: F32, BF16, F16).
enum class DType { F32, BF16, F16 };

size_t dtypeSize(DType dtype);
// Safetensors names: "F32", "BF16", "F16".
const char *dtypeName(DType dtype);
DType parseDType(const std::string &name);
// Command-line names: "f32", "bf16", "f16".
const char *dtypeLowerName(DType dtype);
DType parseDTypeLower(const std::string &name);

inline uint32_t floatBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

inline float floatFromBits(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

inline float bf16ToFloat(uint16_t bits) { return floatFromBits(uint32_t(bits) << 16); }

// Round to nearest, ties to even; NaN stays a (quiet) NaN.
inline uint16_t floatToBf16(float value) {
  uint32_t bits = floatBits(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u)
    return uint16_t((bits >> 16) | 0x40u);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return uint16_t(bits >> 16);
}

// IEEE binary16, including subnormals, infinities and NaN.
float f16ToFloat(uint16_t bits);
// Round to nearest, ties to even; overflow gives infinity.
uint16_t floatToF16(float value);

// Bulk conversions between float and a stored dtype (little-endian bytes).
void convertFromFloat(const float *src, size_t count, DType dtype, std::byte *dst);
void convertToFloat(const std::byte *src, DType dtype, size_t count, float *dst);

} // namespace ember
