// SPDX-License-Identifier: MIT
#pragma once
/// The strategy sweep's plot: cost against range size per strategy, both axes log scale, with
/// crossover points marked; plain SVG text, deterministic for the same input.
#include <string>
#include <vector>

#include "cli/sweep_crossovers.h"

namespace tlbsim::cli {

std::string sweep_svg(const std::string& title, const std::vector<SweepSeries>& series, const std::vector<Crossover>& crossovers);

}  // namespace tlbsim::cli
