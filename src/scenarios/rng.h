// SPDX-License-Identifier: MIT
#pragma once
/// Our own PRNG and bounded draw, so a seed means the same schedule on every platform and
/// standard library (std::uniform_int_distribution is implementation-defined).
#include <cstdint>

namespace tlbsim::scenarios {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : m_s(seed) {}
  uint64_t next() {
    uint64_t z = (m_s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, n) by rejection (no modulo bias).
  uint64_t below(uint64_t n) {
    const uint64_t limit = ~uint64_t{0} - (~uint64_t{0} % n);
    uint64_t x;
    do x = next();
    while (x >= limit);
    return x % n;
  }

 private:
  uint64_t m_s;
};

}  // namespace tlbsim::scenarios
