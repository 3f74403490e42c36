// SPDX-License-Identifier: MIT
#include "cli/sweep_scenario_svg.h"

#include <algorithm>

#include "cli/svg_text.h"

namespace tlbsim::cli {

namespace {

constexpr double kW = 960, kLeft = 190, kRight = 40, kTop = 60, kBar = 16, kGap = 10;
const char* const kInvalidation = "#1f77b4";
const char* const kRefill = "#ff7f0e";

std::string rect(double x, double y, double w, double h, const char* fill) {
  return "<rect x=\"" + svg_number("%.1f", x) + "\" y=\"" + svg_number("%.1f", y) + "\" width=\"" + svg_number("%.1f", w) + "\" height=\"" +
         svg_number("%.1f", h) + "\" fill=\"" + fill + "\"/>\n";
}

std::string text(double x, double y, const std::string& anchor, const std::string& s) {
  return "<text x=\"" + svg_number("%.1f", x) + "\" y=\"" + svg_number("%.1f", y) + "\" text-anchor=\"" + anchor + "\">" + svg_escape(s) +
         "</text>\n";
}

}  // namespace

std::string scenario_sweep_svg(const std::string& title, const std::vector<ScenarioSweepBar>& bars) {
  double most = 1;
  for (const ScenarioSweepBar& b : bars)
    if (b.run) most = std::max(most, double(b.invalidation_ns) + double(b.refill_ns));
  const double width = kW - kLeft - kRight - 120;  // room for the value after the longest bar
  const double h = kTop + double(bars.size()) * (kBar + kGap) + 60;
  std::string o = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + svg_number("%.0f", kW) + "\" height=\"" + svg_number("%.0f", h) +
                  "\" viewBox=\"0 0 " + svg_number("%.0f", kW) + " " + svg_number("%.0f", h) +
                  "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  o += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o += "<text x=\"" + svg_number("%.0f", kW / 2) + "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">" + svg_escape(title) + "</text>\n";
  o += rect(kLeft, 36, 12, 12, kInvalidation) + text(kLeft + 18, 46, "start", "invalidation ns (CPU flushes, IOMMU commands, syncs, ATS)");
  o += rect(kLeft + 400, 36, 12, 12, kRefill) + text(kLeft + 418, 46, "start", "refill ns (IOTLB and ATC misses)");
  for (size_t i = 0; i < bars.size(); ++i) {
    const ScenarioSweepBar& b = bars[i];
    const double y = kTop + double(i) * (kBar + kGap);
    o += text(kLeft - 8, y + kBar - 4, "end", b.strategy + " " + b.policy);
    if (!b.run) {
      o += text(kLeft + 4, y + kBar - 4, "start", "not run: over --max-memory");
      continue;
    }
    const double wi = width * double(b.invalidation_ns) / most, wr = width * double(b.refill_ns) / most;
    o += rect(kLeft, y, wi, kBar, kInvalidation) + rect(kLeft + wi, y, wr, kBar, kRefill);
    o += text(kLeft + wi + wr + 6, y + kBar - 4, "start", svg_number("%.0f", double(b.invalidation_ns) + double(b.refill_ns)) + " ns");
  }
  o += "<line x1=\"" + svg_number("%.1f", kLeft) + "\" y1=\"" + svg_number("%.1f", kTop - 4) + "\" x2=\"" + svg_number("%.1f", kLeft) +
       "\" y2=\"" + svg_number("%.1f", h - 50) + "\" stroke=\"black\"/>\n";
  o += text(kLeft + width / 2, h - 20, "middle", "simulated ns over the whole run (linear scale)");
  o += "</svg>\n";
  return o;
}

}  // namespace tlbsim::cli
