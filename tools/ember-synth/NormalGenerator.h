#pragma once

#include <cmath>
#include <cstdint>

namespace ember::synth {

// Deterministic N(0, 1) samples: splitmix64 bits turned into normals by
// Box-Muller. Hand-rolled (not <random> distributions) so values are identical
// across standard libraries.
class NormalGenerator {
public:
  explicit NormalGenerator(uint64_t seed) : state_(seed) {}

  double next() {
    if (hasSpare_) {
      hasSpare_ = false;
      return spare_;
    }
    constexpr double kTwoPi = 6.283185307179586476925286766559;
    double u1 = double((nextBits() >> 11) + 1) * 0x1.0p-53; // (0, 1]: log is finite
    double u2 = double(nextBits() >> 11) * 0x1.0p-53;       // [0, 1)
    double radius = std::sqrt(-2.0 * std::log(u1));
    spare_ = radius * std::sin(kTwoPi * u2);
    hasSpare_ = true;
    return radius * std::cos(kTwoPi * u2);
  }

private:
  uint64_t nextBits() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

  uint64_t state_;
  bool hasSpare_ = false;
  double spare_ = 0.0;
};

} // namespace ember::synth
