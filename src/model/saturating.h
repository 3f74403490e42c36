// SPDX-License-Identifier: MIT
#pragma once
/// Saturating arithmetic for the simulated clock, the cost counters and estimates. A costs file
/// may set a single cost to 2^40 ns, and a flush of 2^24 pages at that cost is already past
/// 2^64: such a sum stays at 2^64-1 (reported as it is) instead of wrapping to a small number.
#include <cstdint>
#include <limits>

namespace tlbsim {

inline constexpr uint64_t kSaturated = std::numeric_limits<uint64_t>::max();

constexpr uint64_t sat_add(uint64_t a, uint64_t b) {
  uint64_t r = 0;
  return __builtin_add_overflow(a, b, &r) ? kSaturated : r;
}

constexpr uint64_t sat_mul(uint64_t a, uint64_t b) {
  uint64_t r = 0;
  return __builtin_mul_overflow(a, b, &r) ? kSaturated : r;
}

}  // namespace tlbsim
