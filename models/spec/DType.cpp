#include "ember/model/DType.h"

#include "ember/model/Error.h"

#include <cmath>

namespace ember {

size_t dtypeSize(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return 4;
  case DType::BF16:
  case DType::F16:
    return 2;
  case DType::F8E4M3:
    return 1;
  }
  throw Error("invalid DType value");
}

const char *dtypeName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "F32";
  case DType::BF16:
    return "BF16";
  case DType::F16:
    return "F16";
  case DType::F8E4M3:
    return "F8_E4M3";
  }
  throw Error("invalid DType value");
}

const char *dtypeLowerName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "f32";
  case DType::BF16:
    return "bf16";
  case DType::F16:
    return "f16";
  case DType::F8E4M3:
    return "f8e4m3";
  }
  throw Error("invalid DType value");
}

DType parseDType(const std::string &name) {
  for (DType dtype : {DType::F32, DType::BF16, DType::F16, DType::F8E4M3})
    if (name == dtypeName(dtype))
      return dtype;
  throw Error("unsupported dtype '" + name + "' (expected F32, BF16, F16 or F8_E4M3)");
}

DType parseDTypeLower(const std::string &name) {
  for (DType dtype : {DType::F32, DType::BF16, DType::F16})
    if (name == dtypeLowerName(dtype))
      return dtype;
  throw Error("unknown dtype '" + name + "' (expected f32, bf16 or f16)");
}

float f16ToFloat(uint16_t bits) {
  uint32_t sign = uint32_t(bits & 0x8000u) << 16;
  uint32_t exponent = (bits >> 10) & 0x1fu;
  uint32_t mantissa = bits & 0x3ffu;
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exactly representable in float.
    float magnitude = std::ldexp(float(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31)
    return floatFromBits(sign | 0x7f800000u | (mantissa << 13));
  return floatFromBits(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

uint16_t floatToF16(float value) {
  uint32_t bits = floatBits(value);
  auto sign = uint16_t((bits >> 16) & 0x8000u);
  uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude >= 0x7f800000u) { // infinity or NaN (keep NaN quiet)
    bool isNan = magnitude > 0x7f800000u;
    return uint16_t(sign | 0x7c00u | (isNan ? 0x200u | ((magnitude >> 13) & 0x3ffu) : 0u));
  }
  if (magnitude >= 0x477ff000u) // >= 65520 rounds past the largest half (65504)
    return uint16_t(sign | 0x7c00u);
  if (magnitude < 0x38800000u) { // below 2^-14: half subnormal or zero
    if (magnitude < 0x33000000u) // below 2^-25: rounds to zero
      return sign;
    uint32_t mantissa = (magnitude & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126u - (magnitude >> 23); // value in units of 2^-24
    uint32_t result = mantissa >> shift;
    uint32_t remainder = mantissa & ((1u << shift) - 1u);
    uint32_t halfway = 1u << (shift - 1u);
    if (remainder > halfway || (remainder == halfway && (result & 1u)))
      ++result; // may carry into the smallest normal, which is correct
    return uint16_t(sign | result);
  }
  uint32_t result = (magnitude - 0x38000000u) >> 13; // rebias exponent 127 -> 15
  uint32_t remainder = magnitude & 0x1fffu;
  if (remainder > 0x1000u || (remainder == 0x1000u && (result & 1u)))
    ++result;
  return uint16_t(sign | result);
}

float f8E4M3ToFloat(uint8_t bits) {
  uint32_t sign = uint32_t(bits & 0x80u) << 24;
  uint32_t exponent = (bits >> 3) & 0xfu, mantissa = bits & 0x7u;
  if (exponent == 0xfu && mantissa == 0x7u)
    return floatFromBits(sign | 0x7fc00000u);
  if (exponent == 0) { // zero or subnormal: mantissa * 2^-9
    float magnitude = std::ldexp(float(mantissa), -9);
    return sign ? -magnitude : magnitude;
  }
  return floatFromBits(sign | ((exponent + 120) << 23) | (mantissa << 20)); // rebias 7 -> 127
}

uint8_t floatToF8E4M3(float value) {
  uint32_t bits = floatBits(value);
  auto sign = uint8_t((bits >> 24) & 0x80u);
  uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u)
    return uint8_t(sign | 0x7fu);
  if (magnitude >= 0x43e00000u) // >= 448, infinity included: saturate
    return uint8_t(sign | 0x7eu);
  if (magnitude < 0x3c800000u) // below 2^-6: subnormal, in units of 2^-9 (8 is the smallest normal)
    return uint8_t(sign | uint32_t(std::nearbyint(std::ldexp(floatFromBits(magnitude), 9))));
  uint32_t result = (magnitude - 0x3c000000u) >> 20; // rebias 127 -> 7, keep 3 mantissa bits
  uint32_t remainder = magnitude & 0xfffffu;
  if (remainder > 0x80000u || (remainder == 0x80000u && (result & 1u)))
    ++result; // below 448 this never reaches 0x7f (NaN)
  return uint8_t(sign | result);
}

void convertFromFloat(const float *src, size_t count, DType dtype, std::byte *dst) {
  switch (dtype) {
  case DType::F32:
    std::memcpy(dst, src, count * sizeof(float));
    return;
  case DType::BF16:
    for (size_t i = 0; i < count; ++i) {
      uint16_t half = floatToBf16(src[i]);
      std::memcpy(dst + 2 * i, &half, 2);
    }
    return;
  case DType::F16:
    for (size_t i = 0; i < count; ++i) {
      uint16_t half = floatToF16(src[i]);
      std::memcpy(dst + 2 * i, &half, 2);
    }
    return;
  case DType::F8E4M3:
    for (size_t i = 0; i < count; ++i)
      dst[i] = std::byte(floatToF8E4M3(src[i]));
    return;
  }
}

void convertToFloat(const std::byte *src, DType dtype, size_t count, float *dst) {
  switch (dtype) {
  case DType::F32:
    std::memcpy(dst, src, count * sizeof(float));
    return;
  case DType::BF16:
  case DType::F16:
    for (size_t i = 0; i < count; ++i) {
      uint16_t half;
      std::memcpy(&half, src + 2 * i, 2);
      dst[i] = dtype == DType::BF16 ? bf16ToFloat(half) : f16ToFloat(half);
    }
    return;
  case DType::F8E4M3:
    for (size_t i = 0; i < count; ++i)
      dst[i] = f8E4M3ToFloat(uint8_t(src[i]));
    return;
  }
}

} // namespace ember
