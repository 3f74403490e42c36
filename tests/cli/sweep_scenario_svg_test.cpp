// SPDX-License-Identifier: MIT
#include "cli/sweep_scenario_svg.h"

#include <catch2/catch.hpp>

#include <string>

using namespace tlbsim::cli;

namespace {

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("the scenario sweep plot draws a labelled pair of stacked bars per strategy and policy", "[cli][svg]") {
  const std::vector<ScenarioSweepBar> bars{
      {.strategy = "iommu:range", .policy = "old", .invalidation_ns = 3000, .refill_ns = 1000},
      {.strategy = "iommu:range", .policy = "fixed", .invalidation_ns = 1000, .refill_ns = 1000},
      {.strategy = "iommu:per-page", .policy = "old", .run = false},
  };
  const std::string svg = scenario_sweep_svg("sweep of a<b>.json", bars);
  CHECK(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  CHECK(svg.ends_with("</svg>\n"));
  CHECK_THAT(svg, Catch::Contains("sweep of a&lt;b&gt;.json"));
  CHECK_THAT(svg, Catch::Contains(">iommu:range old</text>") && Catch::Contains(">iommu:range fixed</text>"));
  CHECK_THAT(svg, Catch::Contains(">4000 ns</text>") && Catch::Contains(">2000 ns</text>"));
  CHECK_THAT(svg, Catch::Contains(">not run: over --max-memory</text>"));
  // The longest bar spans the plot's 610 units: its two parts 3/4 and 1/4 of them.
  CHECK_THAT(svg, Catch::Contains("width=\"457.5\" height=\"16.0\" fill=\"#1f77b4\"") &&
                      Catch::Contains("width=\"152.5\" height=\"16.0\" fill=\"#ff7f0e\""));
  // Two run bars, two rects each, plus the white background and the two legend swatches.
  CHECK(count(svg, "<rect ") == 2 * 2 + 1 + 2);
  CHECK(scenario_sweep_svg("sweep of a<b>.json", bars) == svg);
}
