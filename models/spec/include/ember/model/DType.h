#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace ember {

// Element types of weights (safetensors spelling: F32, BF16, F16, F8_E4M3).
// F8E4M3 (OCP E4M3FN: no infinities, NaN = S.1111.111) holds only the
// block-scaled linear weights of an FP8 checkpoint; artifacts compute in f32
// from f32, bf16 or f16 weights.
enum class DType { F32, BF16, F16, F8E4M3 };

size_t dtypeSize(DType dtype);
// Safetensors names: "F32", "BF16", "F16", "F8_E4M3".
const char *dtypeName(DType dtype);
DType parseDType(const std::string &name);
// Command-line names: "f32", "bf16", "f16", "f8e4m3". parseDTypeLower
// takes only the weight dtypes an artifact is compiled for (not f8e4m3).
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

// E4M3FN: exact. Encoding rounds to nearest even and saturates to +-448
// (the largest finite value); NaN stays NaN.
float f8E4M3ToFloat(uint8_t bits);
uint8_t floatToF8E4M3(float value);

// Bulk conversions between float and a stored dtype (little-endian bytes).
void convertFromFloat(const float *src, size_t count, DType dtype, std::byte *dst);
void convertToFloat(const std::byte *src, DType dtype, size_t count, float *dst);

} // namespace ember
