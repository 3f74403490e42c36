// SPDX-License-Identifier: MIT
#include "cli/sweep_svg.h"

#include <algorithm>
#include <cmath>

#include "cli/svg_text.h"

namespace tlbsim::cli {

namespace {

constexpr double kW = 960, kH = 600, kLeft = 90, kRight = 250, kTop = 50, kBottom = 70;
const char* const kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#17becf", "#bcbd22"};

std::string fmt(const char* f, double a) { return svg_number(f, a); }
std::string esc(const std::string& s) { return svg_escape(s); }

/// Log axis from 10^floor(log10 lo) to 10^ceil(log10 hi) (x: from lo's power of two).
struct LogAxis {
  double lo, hi, p0, p1;
  double at(double v) const { return p0 + (std::log(v) - std::log(lo)) / (std::log(hi) - std::log(lo)) * (p1 - p0); }
};

}  // namespace

std::string sweep_svg(const std::string& title, const std::vector<SweepSeries>& series, const std::vector<Crossover>& crossovers) {
  double xmin = 1e300, xmax = 0, ymin = 1e300, ymax = 0;
  for (const auto& s : series)
    for (auto [x, y] : s.points) {
      xmin = std::min(xmin, double(x));
      xmax = std::max(xmax, double(x));
      ymin = std::min(ymin, double(std::max<uint64_t>(y, 1)));
      ymax = std::max(ymax, double(std::max<uint64_t>(y, 1)));
    }
  if (xmax == 0) xmin = 1, xmax = 2, ymin = 1, ymax = 10;
  xmin = std::pow(2.0, std::floor(std::log2(xmin)));
  xmax = std::pow(2.0, std::ceil(std::log2(xmax)));
  if (xmax <= xmin) xmax = xmin * 2;
  ymin = std::pow(10.0, std::floor(std::log10(ymin)));
  ymax = std::pow(10.0, std::ceil(std::log10(ymax)));
  if (ymax <= ymin) ymax = ymin * 10;
  const LogAxis X{xmin, xmax, kLeft, kW - kRight};
  const LogAxis Y{ymin, ymax, kH - kBottom, kTop};

  std::string o;
  o += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fmt("%.0f", kW) + "\" height=\"" + fmt("%.0f", kH) + "\" viewBox=\"0 0 " +
       fmt("%.0f", kW) + " " + fmt("%.0f", kH) + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  o += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o += "<text x=\"" + fmt("%.0f", kW / 2) + "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">" + esc(title) + "</text>\n";
  // Grid and tick labels: powers of two on x, powers of ten on y.
  for (double x = xmin; x <= xmax * 1.0001; x *= 2) {
    const double px = X.at(x);
    o += "<line x1=\"" + fmt("%.1f", px) + "\" y1=\"" + fmt("%.1f", kTop) + "\" x2=\"" + fmt("%.1f", px) + "\" y2=\"" +
         fmt("%.1f", kH - kBottom) + "\" stroke=\"#e0e0e0\"/>\n";
    o += "<text x=\"" + fmt("%.1f", px) + "\" y=\"" + fmt("%.1f", kH - kBottom + 18) + "\" text-anchor=\"middle\">" + fmt("%.0f", x) +
         "</text>\n";
  }
  for (double y = ymin; y <= ymax * 1.0001; y *= 10) {
    const double py = Y.at(y);
    o += "<line x1=\"" + fmt("%.1f", kLeft) + "\" y1=\"" + fmt("%.1f", py) + "\" x2=\"" + fmt("%.1f", kW - kRight) + "\" y2=\"" +
         fmt("%.1f", py) + "\" stroke=\"#e0e0e0\"/>\n";
    o += "<text x=\"" + fmt("%.1f", kLeft - 6) + "\" y=\"" + fmt("%.1f", py + 4) + "\" text-anchor=\"end\">" + fmt("%.0e", y) + "</text>\n";
  }
  o += "<rect x=\"" + fmt("%.1f", kLeft) + "\" y=\"" + fmt("%.1f", kTop) + "\" width=\"" + fmt("%.1f", kW - kRight - kLeft) +
       "\" height=\"" + fmt("%.1f", kH - kBottom - kTop) + "\" fill=\"none\" stroke=\"black\"/>\n";
  o += "<text x=\"" + fmt("%.1f", (kLeft + kW - kRight) / 2) + "\" y=\"" + fmt("%.1f", kH - 20) +
       "\" text-anchor=\"middle\">pages in the range (log scale)</text>\n";
  o += "<text transform=\"translate(22," + fmt("%.1f", (kTop + kH - kBottom) / 2) +
       ") rotate(-90)\" text-anchor=\"middle\">simulated invalidation + refill ns (log scale)</text>\n";
  for (size_t i = 0; i < series.size(); ++i) {
    const char* c = kColours[i % (sizeof kColours / sizeof *kColours)];
    std::string pts;
    for (auto [x, y] : series[i].points)
      pts += fmt("%.1f", X.at(double(x))) + "," + fmt("%.1f", Y.at(double(std::max<uint64_t>(y, 1)))) + " ";
    o += "<polyline fill=\"none\" stroke=\"" + std::string(c) + "\" stroke-width=\"2\" points=\"" + pts + "\"/>\n";
    for (auto [x, y] : series[i].points)
      o += "<circle cx=\"" + fmt("%.1f", X.at(double(x))) + "\" cy=\"" + fmt("%.1f", Y.at(double(std::max<uint64_t>(y, 1)))) +
           "\" r=\"2.5\" fill=\"" + c + "\"/>\n";
    const double ly = kTop + 10 + 20.0 * double(i);
    o += "<line x1=\"" + fmt("%.1f", kW - kRight + 15) + "\" y1=\"" + fmt("%.1f", ly) + "\" x2=\"" + fmt("%.1f", kW - kRight + 40) +
         "\" y2=\"" + fmt("%.1f", ly) + "\" stroke=\"" + c + "\" stroke-width=\"2\"/>\n";
    o += "<text x=\"" + fmt("%.1f", kW - kRight + 46) + "\" y=\"" + fmt("%.1f", ly + 4) + "\">" + esc(series[i].label) + "</text>\n";
  }
  // Crossovers: a hollow marker where two strategies' costs cross, labelled with the size.
  const double legend_end = kTop + 10 + 20.0 * double(series.size()) + 10;
  o += "<text x=\"" + fmt("%.1f", kW - kRight + 15) + "\" y=\"" + fmt("%.1f", legend_end + 4) + "\">crossovers (pages):</text>\n";
  for (size_t i = 0; i < crossovers.size(); ++i) {
    const Crossover& c = crossovers[i];
    const double px = X.at(c.pages), py = Y.at(std::max(c.ns, ymin));
    o += "<circle cx=\"" + fmt("%.1f", px) + "\" cy=\"" + fmt("%.1f", py) +
         "\" r=\"6\" fill=\"none\" stroke=\"black\" stroke-width=\"1.5\"/>\n";
    o += "<text x=\"" + fmt("%.1f", px + 8) + "\" y=\"" + fmt("%.1f", py - 8) + "\" font-size=\"11\">" + fmt("%.0f", c.pages) + "</text>\n";
    o += "<text x=\"" + fmt("%.1f", kW - kRight + 15) + "\" y=\"" + fmt("%.1f", legend_end + 20 + 16.0 * double(i)) +
         "\" font-size=\"10\">" + esc(c.a + " = " + c.b) + " @ " + fmt("%.0f", c.pages) + "</text>\n";
  }
  o += "</svg>\n";
  return o;
}

}  // namespace tlbsim::cli
