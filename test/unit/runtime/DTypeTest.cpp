#include "ember/model/DType.h"
#include "ember/model/Error.h"

#include "TestSupport.h"

#include <cmath>
#include <limits>

namespace ember::rt {
namespace {

TEST(DType, NamesRoundTrip) {
  for (DType dtype : {DType::F32, DType::BF16, DType::F16}) {
    EXPECT_EQ(parseDType(dtypeName(dtype)), dtype);
    EXPECT_EQ(parseDTypeLower(dtypeLowerName(dtype)), dtype);
  }
  EXPECT_STREQ(dtypeName(DType::BF16), "BF16");
  EXPECT_STREQ(dtypeLowerName(DType::F16), "f16");
  EXPECT_EQ(dtypeSize(DType::F32), 4u);
  EXPECT_EQ(dtypeSize(DType::BF16), 2u);
  EXPECT_ERROR_CONTAINS(parseDType("I64"), "'I64'", "F32, BF16, F16 or F8_E4M3");
  EXPECT_ERROR_CONTAINS(parseDTypeLower("fp8"), "'fp8'", "f32, bf16 or f16");
}

TEST(DType, F8E4M3) {
  EXPECT_EQ(parseDType("F8_E4M3"), DType::F8E4M3);
  EXPECT_EQ(dtypeSize(DType::F8E4M3), 1u);
  EXPECT_ERROR_CONTAINS(parseDTypeLower("f8e4m3"), "expected f32, bf16 or f16"); // not an artifact dtype
  EXPECT_EQ(f8E4M3ToFloat(0x38), 1.0f);
  EXPECT_EQ(f8E4M3ToFloat(0xb8), -1.0f);
  EXPECT_EQ(f8E4M3ToFloat(0x7e), 448.0f);               // the largest finite value
  EXPECT_EQ(f8E4M3ToFloat(0x08), std::ldexp(1.0f, -6)); // the smallest normal
  EXPECT_EQ(f8E4M3ToFloat(0x01), std::ldexp(1.0f, -9)); // the smallest subnormal
  EXPECT_EQ(f8E4M3ToFloat(0x07), std::ldexp(7.0f, -9));
  EXPECT_TRUE(std::isnan(f8E4M3ToFloat(0x7f)));
  EXPECT_TRUE(std::isnan(f8E4M3ToFloat(0xff)));
  // Every code survives a round trip through float (NaN as NaN, signs kept).
  for (uint32_t bits = 0; bits < 256; ++bits)
    ASSERT_EQ(floatToF8E4M3(f8E4M3ToFloat(uint8_t(bits))), bits) << bits;
  // Ties go to even; beyond 448 (infinity too) saturates.
  EXPECT_EQ(floatToF8E4M3(1.0625f), 0x38); // halfway between 1 and 1.125
  EXPECT_EQ(floatToF8E4M3(1.1875f), 0x3a); // halfway between 1.125 and 1.25
  EXPECT_EQ(floatToF8E4M3(std::nextafter(1.0625f, 2.0f)), 0x39);
  EXPECT_EQ(floatToF8E4M3(std::ldexp(1.0f, -10)), 0x00);  // half the smallest subnormal
  EXPECT_EQ(floatToF8E4M3(std::ldexp(3.0f, -10)), 0x02);  // 1.5 units: tie to even (2)
  EXPECT_EQ(floatToF8E4M3(std::ldexp(15.0f, -10)), 0x08); // 7.5 units: rounds up into the smallest normal
  EXPECT_EQ(floatToF8E4M3(460.0f), 0x7e);
  EXPECT_EQ(floatToF8E4M3(-1e9f), 0xfe);
  EXPECT_EQ(floatToF8E4M3(std::numeric_limits<float>::infinity()), 0x7e);
  EXPECT_EQ(floatToF8E4M3(std::numeric_limits<float>::quiet_NaN()), 0x7f);
  EXPECT_EQ(floatToF8E4M3(-0.0f), 0x80);
}

TEST(DType, F16Normals) {
  EXPECT_EQ(floatToF16(1.0f), 0x3c00);
  EXPECT_EQ(floatToF16(-2.0f), 0xc000);
  EXPECT_EQ(floatToF16(65504.0f), 0x7bff);
  EXPECT_EQ(floatToF16(0.0f), 0x0000);
  EXPECT_EQ(floatToF16(-0.0f), 0x8000);
  EXPECT_EQ(f16ToFloat(0x3555), 0.333251953125f);
  EXPECT_EQ(f16ToFloat(0x7bff), 65504.0f);
}

TEST(DType, F16Subnormals) {
  const float smallest = std::ldexp(1.0f, -24); // 0x0001
  EXPECT_EQ(f16ToFloat(0x0001), smallest);
  EXPECT_EQ(f16ToFloat(0x03ff), std::ldexp(1023.0f, -24)); // largest subnormal
  EXPECT_EQ(f16ToFloat(0x8001), -smallest);
  EXPECT_EQ(floatToF16(smallest), 0x0001);
  EXPECT_EQ(floatToF16(std::ldexp(1023.0f, -24)), 0x03ff);
  EXPECT_EQ(floatToF16(std::ldexp(1.0f, -14)), 0x0400); // smallest normal
  // Exactly half the smallest subnormal ties to even (zero); just above rounds up.
  EXPECT_EQ(floatToF16(std::ldexp(1.0f, -25)), 0x0000);
  EXPECT_EQ(floatToF16(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
  EXPECT_EQ(floatToF16(std::ldexp(3.0f, -25)), 0x0002); // 1.5 ulp: tie to even (2)
  EXPECT_EQ(floatToF16(std::ldexp(5.0f, -25)), 0x0002); // 2.5 ulp: tie to even (2)
  // Every subnormal and normal half survives a round trip through float.
  for (uint32_t bits = 0; bits < 0x7c00; ++bits)
    ASSERT_EQ(floatToF16(f16ToFloat(uint16_t(bits))), bits) << bits;
}

TEST(DType, F16SpecialValues) {
  EXPECT_EQ(floatToF16(65520.0f), 0x7c00); // rounds past the largest half
  EXPECT_EQ(floatToF16(65519.0f), 0x7bff);
  EXPECT_EQ(floatToF16(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(floatToF16(-std::numeric_limits<float>::infinity()), 0xfc00);
  EXPECT_TRUE(std::isnan(f16ToFloat(floatToF16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_TRUE(std::isinf(f16ToFloat(0x7c00)));
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1).
  EXPECT_EQ(floatToF16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  EXPECT_EQ(floatToF16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
}

TEST(DType, Bf16RoundToNearestEven) {
  EXPECT_EQ(floatToBf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16ToFloat(0x3f80), 1.0f);
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1).
  EXPECT_EQ(floatToBf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
  // 1 + 3*2^-8 is halfway between 1+2^-7 (odd) and 1+2^-6 (even): rounds up.
  EXPECT_EQ(floatToBf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
  // Just above halfway rounds up.
  EXPECT_EQ(floatToBf16(std::nextafter(1.0f + std::ldexp(1.0f, -8), 2.0f)), 0x3f81);
  EXPECT_EQ(floatToBf16(-1.0f), 0xbf80);
  EXPECT_EQ(floatToBf16(std::numeric_limits<float>::max()), 0x7f80); // overflows to inf
  EXPECT_TRUE(std::isnan(bf16ToFloat(floatToBf16(std::numeric_limits<float>::quiet_NaN()))));
  EXPECT_TRUE(std::isnan(bf16ToFloat(floatToBf16(floatFromBits(0x7f800001u))))); // NaN never becomes inf
}

TEST(DType, BulkConversionsRoundTrip) {
  std::vector<float> values = {0.0f, 1.5f, -2.25f, 1024.0f, 0.0078125f};
  for (DType dtype : {DType::F32, DType::BF16, DType::F16}) {
    std::vector<std::byte> bytes(values.size() * dtypeSize(dtype));
    convertFromFloat(values.data(), values.size(), dtype, bytes.data());
    std::vector<float> back(values.size());
    convertToFloat(bytes.data(), dtype, values.size(), back.data());
    EXPECT_EQ(back, values) << dtypeName(dtype);
  }
}

} // namespace
} // namespace ember::rt
