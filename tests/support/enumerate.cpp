// SPDX-License-Identifier: MIT
#include "support/enumerate.h"

#include <vector>

#include "model/check.h"
#include "scenarios/detector.h"
#include "scenarios/runner.h"

namespace tlbsim::test {

using namespace tlbsim::scenarios;

Enumerated enumerate_all(const ScenarioSpec& s, const kernel::Policy& policy, int preemptions, uint64_t max_schedules,
                         bool every_batch_order) {
  // A choice is a thread to step (options 0: `ready` says which may run) or, with
  // every_batch_order, the rank of a batch's completion order (options: how many orders).
  struct Choice {
    uint64_t ready;
    int taken, prev, before;  // thread taken, thread of the step before, preemptions before
    uint64_t options = 0;
    uint64_t rank = 0;
    int cost(int t) const { return before + (prev >= 0 && t != prev && (ready >> prev & 1) ? 1 : 0); }
    bool allowed(int t, int bound) const { return bound < 0 || cost(t) <= bound; }
  };
  Enumerated out;
  std::vector<Choice> choices;
  for (;;) {
    size_t depth = 0;
    bool cut = false;
    // The last thread choice before `depth`, for the preemption count (order choices are free).
    auto last_thread = [&]() -> const Choice* {
      for (size_t i = depth; i > 0; --i)
        if (choices[i - 1].options == 0) return &choices[i - 1];
      return nullptr;
    };
    RunOptions ro;
    ro.chooser = [&](uint64_t ready, const std::vector<StepRecord>&, const std::vector<Event>&) {
      if (depth < choices.size()) return choices[depth++].taken;
      const Choice* last = last_thread();
      Choice c{ready, -1, last ? last->taken : -1, last ? last->cost(last->taken) : 0};
      for (int t = 0; t < 64 && c.taken < 0; ++t)
        if ((ready >> t & 1) && c.allowed(t, preemptions)) c.taken = t;
      if (c.taken < 0) {  // every runnable thread is over the bound (cannot happen: continuing is free)
        cut = true;
        return -1;
      }
      choices.push_back(c);
      ++depth;
      return c.taken;
    };
    if (every_batch_order)
      ro.batch_order = [&](uint64_t orders) -> uint64_t {
        if (depth < choices.size()) return choices[depth++].rank;
        Choice c{0, -1, -1, 0, orders, 0};
        choices.push_back(c);
        ++depth;
        return 0;
      };
    try {
      const RunResult r = run_scenario(s, policy, ro);
      const DetectorResult d = detect(r);
      std::string key;
      for (const std::string& m : metric_names()) {
        key += m + "=" + std::to_string(d.metric(m)) + " ";
        if (d.metric(m)) out.properties.insert(m);
      }
      std::set<std::string> kinds;
      for (const Finding& f : d.findings) {
        kinds.insert(f.kind);
        out.properties.insert("finding " + f.kind);
      }
      for (const std::string& k : kinds) key += "finding:" + k + " ";
      out.outcomes.insert(key + std::string(to_string(r.status)));
    } catch (const InvariantViolation& e) {
      // The step chosen last broke the model; the run ends there (explore counts it the same
      // way, with the message stripped of where the sources live).
      std::string what = e.what();
      if (const size_t src = what.find("src/"); src != std::string::npos && what.find(':') > src) what.erase(0, src);
      out.outcomes.insert("invariant violated: " + what);
      out.properties.insert("model invariant violated");
    }
    out.cut += cut;
    ++out.schedules;
    // Next schedule: the deepest choice with a higher runnable thread, within the bound, not yet taken.
    choices.resize(depth);
    while (!choices.empty()) {
      Choice& c = choices.back();
      if (c.options) {
        if (++c.rank < c.options) break;
        choices.pop_back();
        continue;
      }
      int next = -1;
      for (int t = c.taken + 1; t < 64 && next < 0; ++t)
        if ((c.ready >> t & 1) && c.allowed(t, preemptions)) next = t;
      if (next >= 0) {
        c.taken = next;
        break;
      }
      choices.pop_back();
    }
    if (choices.empty()) {
      // Continuing a thread is always free, so no run is ever left with nothing it may take.
      TLBSIM_CHECK(out.cut == 0, "plain enumeration cut " << out.cut << " runs");
      return out;
    }
    if (max_schedules && out.schedules >= max_schedules) {
      out.capped = true;
      return out;
    }
  }
}

std::set<std::string> explored_properties(const ExploreResult& r) {
  std::set<std::string> out;
  for (const PropertyResult& p : r.properties)
    if (p.verdict != Verdict::Never && p.name != "deadlock" && p.name != "step budget exceeded") out.insert(p.name);
  return out;
}

}  // namespace tlbsim::test
