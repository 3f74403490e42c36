// SPDX-License-Identifier: MIT
// sweep_svg(): one SVG document, one line per strategy, one marker per crossover.
#include <catch2/catch.hpp>

#include "cli/sweep_svg.h"

namespace tlbsim::cli {
namespace {

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + what.size())) ++n;
  return n;
}

std::vector<SweepSeries> three() {
  return {SweepSeries{"cpu:per-page", {{1, 100}, {16, 1600}, {64, 6400}}}, SweepSeries{"cpu:full", {{1, 900}, {16, 900}, {64, 900}}},
          SweepSeries{"iommu:cmdq", {{1, 50}, {16, 800}, {64, 3200}}}};
}

TEST_CASE("the sweep plot is one svg element with a line per strategy and a marker per crossover", "[cli][sweep]") {
  const std::vector<SweepSeries> s = three();
  const std::vector<Crossover> cross = crossovers(s[0], s[1]);
  REQUIRE(cross.size() == 1);
  const std::string svg = sweep_svg("munmap <dense> & more", s, cross);
  CHECK(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  CHECK(svg.size() >= 7);
  CHECK(svg.substr(svg.size() - 7) == "</svg>\n");
  CHECK(count(svg, "<svg") == 1);
  CHECK(count(svg, "</svg>") == 1);
  CHECK(count(svg, "<polyline") == s.size());
  CHECK(count(svg, "r=\"6\"") == cross.size());  // the hollow crossover markers
  CHECK(count(svg, "<text") == count(svg, "</text>"));
  // Text is escaped, so the document stays well-formed.
  CHECK(svg.find("munmap &lt;dense&gt; &amp; more") != std::string::npos);
  CHECK(svg.find("<dense>") == std::string::npos);
  for (const auto& x : s) CHECK(svg.find(">" + x.label + "</text>") != std::string::npos);
}

TEST_CASE("the sweep plot without crossovers or points is still a document, and the same input gives the same bytes", "[cli][sweep]") {
  const std::string none = sweep_svg("t", three(), {});
  CHECK(count(none, "r=\"6\"") == 0);
  CHECK(count(none, "<polyline") == 3);
  const std::string empty = sweep_svg("t", {}, {});
  CHECK(empty.rfind("<svg", 0) == 0);
  CHECK(count(empty, "<polyline") == 0);
  CHECK(count(empty, "</svg>") == 1);
  CHECK(sweep_svg("t", three(), {}) == none);
}

}  // namespace
}  // namespace tlbsim::cli
