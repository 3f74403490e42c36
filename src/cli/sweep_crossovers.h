// SPDX-License-Identifier: MIT
#pragma once
/// The strategy sweep's series (cost against range size per strategy) and where two of them
/// cross: the size at which one strategy stops being the cheaper of the two.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tlbsim::cli {

struct SweepSeries {
  std::string label;
  std::vector<std::pair<uint64_t, uint64_t>> points;  ///< (pages, ns), pages ascending
};

struct Crossover {
  std::string a, b;    ///< strategy labels
  uint64_t below = 0;  ///< last size where the order is the one at the smallest sizes
  uint64_t above = 0;  ///< first size where it has flipped
  double pages = 0;    ///< log-linear interpolation of the crossing (or the size of an exact tie)
  double ns = 0;       ///< cost there
};

/// Sizes (common to both series) where the sign of cost(a) - cost(b) changes. Between two
/// adjacent sizes of opposite sign the crossing is interpolated on log(pages); a change of sign
/// through sizes where the costs tie exactly is reported at the first tied size. Ties that the
/// order survives (+, 0, +) are no crossover.
std::vector<Crossover> crossovers(const SweepSeries& a, const SweepSeries& b);

}  // namespace tlbsim::cli
