// SPDX-License-Identifier: MIT
#include "cli/sweep_crossovers.h"

#include <cmath>
#include <map>

namespace tlbsim::cli {

namespace {

struct Diff {
  uint64_t pages = 0;
  double diff = 0;  ///< cost(a) - cost(b); 0: none seen yet
  double cost = 0;  ///< cost(a)
};

}  // namespace

std::vector<Crossover> crossovers(const SweepSeries& a, const SweepSeries& b) {
  std::vector<Crossover> out;
  const std::map<uint64_t, uint64_t> bm(b.points.begin(), b.points.end());
  Diff last;  // the last size where the costs differ
  Diff tie;   // the first tied size since then
  bool tied = false;
  for (auto [x, y] : a.points) {
    const auto it = bm.find(x);
    if (it == bm.end()) continue;
    const Diff d{x, double(y) - double(it->second), double(y)};
    if (d.diff == 0) {
      if (!tied) tie = d;
      tied = true;
      continue;
    }
    if (last.diff != 0 && (last.diff < 0) != (d.diff < 0)) {
      if (tied) {
        out.push_back(Crossover{a.label, b.label, last.pages, d.pages, double(tie.pages), tie.cost});
      } else {
        const double t = last.diff / (last.diff - d.diff);
        const double lx = std::log(double(last.pages)) + t * (std::log(double(d.pages)) - std::log(double(last.pages)));
        out.push_back(Crossover{a.label, b.label, last.pages, d.pages, std::exp(lx), last.cost + t * (d.cost - last.cost)});
      }
    }
    last = d;
    tied = false;
  }
  return out;
}

}  // namespace tlbsim::cli
