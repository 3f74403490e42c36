// SPDX-License-Identifier: MIT
#pragma once
/// The strategy sweep's plot: cost against range size per strategy, both axes log scale, with
/// crossover points marked; plain SVG text, deterministic for the same input.
#include <cstdint>
#include <string>
#include <vector>

namespace tlbsim::cli {

struct SweepSeries {
  std::string label;
  std::vector<std::pair<uint64_t, uint64_t>> points;  ///< (pages, ns), pages ascending
};

struct Crossover {
  std::string a, b;     ///< strategy labels
  uint64_t below = 0;   ///< last size where the order is the one at the smallest sizes
  uint64_t above = 0;   ///< first size where it has flipped
  double pages = 0;     ///< log-linear interpolation of the crossing
  double ns = 0;        ///< cost there
};

std::string sweep_svg(const std::string& title, const std::vector<SweepSeries>& series, const std::vector<Crossover>& crossovers);

}  // namespace tlbsim::cli
