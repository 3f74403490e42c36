// SPDX-License-Identifier: MIT
#include "support/valid_soak.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>
#include <sstream>

#include "kernel/policy.h"
#include "model/check.h"
#include "scenarios/errors.h"
#include "scenarios/explore.h"
#include "scenarios/loader.h"
#include "scenarios/rng.h"
#include "scenarios/runner.h"
#include "support/valid_scenario_gen.h"

namespace tlbsim::test {

using namespace tlbsim::scenarios;

std::string error_key(const std::string& what) {
  const size_t at = what.find(": invariant violated");
  if (at != std::string::npos) {
    // Paths differ between build trees; the source file's name and line identify the check.
    const size_t slash = what.rfind('/', at);
    return what.substr(slash == std::string::npos ? 0 : slash + 1, at - (slash == std::string::npos ? 0 : slash + 1));
  }
  return what.substr(0, std::min(what.find('\n'), size_t{160}));
}

bool ksm_window_deadlock(const ScenarioSpec& s, const RunResult& r) {
  if (r.status != RunResult::Status::Deadlock) return false;
  const bool waits = std::any_of(r.threads.begin(), r.threads.end(),
                                 [](const ThreadOutcome& t) { return !t.done && t.next.rfind("migration_entry_wait", 0) == 0; });
  std::set<std::string> merged, migrated;
  for (const ThreadSpec& t : s.threads)
    for (const OpSpec& o : t.ops) {
      if (o.op == "ksm_merge") merged.insert(o.mm);
      if (o.op == "migrate_vma") migrated.insert(t.mm);
    }
  return waits && std::any_of(merged.begin(), merged.end(), [&](const std::string& mm) { return migrated.count(mm) > 0; });
}

namespace {

void note_error(SoakStats& st, uint64_t seed, const std::string& policy, const std::string& how, const std::string& kind,
                const std::string& what) {
  ++st.internal_errors;
  const std::string key = kind + " " + error_key(what);
  if (st.errors[key]++ == 0) st.first_finding[key] = SoakFinding{seed, policy, how, what};
}

void soak_one(uint64_t seed, const SoakOptions& opt, SoakStats& st) {
  const std::string text = generate_valid_scenario(seed);
  ScenarioFile f;
  try {
    f = parse_scenario_text(text, "valid-" + std::to_string(seed) + ".json");
  } catch (const ScenarioError& e) {
    ++st.loader_rejected;
    st.rejected_seeds.push_back(seed);
    ++st.rejections[e.diagnostics().empty() ? std::string("?") : e.diagnostics().front().message];
    return;
  }
  ++st.scenarios;
  const ScenarioSpec& s = f.scenarios.at(0);
  for (const std::string& pol : opt.policies) {
    const kernel::Policy& policy = *kernel::find_policy(pol);
    for (uint64_t r = 0; r <= opt.random_schedules; ++r) {
      // Distinct random schedules per scenario, never 0 (which means the scenario's own).
      const uint64_t sched = r == 0 ? 0 : seed * 64 + r;
      const std::string how = r == 0 ? "own schedule" : "random schedule " + std::to_string(sched);
      ++st.runs;
      try {
        const RunResult rr = run_checked(s, policy, sched);
        const std::string status = ksm_window_deadlock(s, rr) ? kKsmWindowStatus : std::string(to_string(rr.status));
        ++st.statuses[status];
        if (status != "completed") st.first_status_seed.emplace(status, seed);
      } catch (const InvariantViolation& e) {
        note_error(st, seed, pol, how, "InvariantViolation", e.what());
      } catch (const ScenarioError& e) {
        note_error(st, seed, pol, how, "ScenarioError", e.what());
      } catch (const std::exception& e) {
        note_error(st, seed, pol, how, "exception", e.what());
      }
    }
    if (opt.explore_runs == 0) continue;
    ExploreOptions eo;
    eo.mode = ExploreOptions::Mode::Random;
    eo.runs = opt.explore_runs;
    eo.seed = seed * 1000 + 1;
    try {
      const ExploreResult r = explore(s, policy, eo);
      st.explore_runs += r.executions;
      if (r.invariant)
        note_error(st, seed, pol, "explore random (schedule " + schedule_text(s, r.invariant->first) + ")", "InvariantViolation",
                   r.invariant->second);
    } catch (const std::exception& e) {
      note_error(st, seed, pol, "explore random", "exception", e.what());
    }
  }
}

}  // namespace

SoakStats run_soak(const SoakOptions& opt) {
  const auto start = std::chrono::steady_clock::now();
  SoakStats st;
  for (uint64_t seed = opt.first_seed; seed < opt.first_seed + opt.scenarios; ++seed) {
    const auto t0 = std::chrono::steady_clock::now();
    const size_t kinds = st.errors.size();
    soak_one(seed, opt, st);
    if (!opt.verbose) continue;
    std::fprintf(stderr, "seed %llu: %.3f s, %llu internal errors so far\n", static_cast<unsigned long long>(seed),
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                 static_cast<unsigned long long>(st.internal_errors));
    if (st.errors.size() != kinds)
      for (const auto& [key, f] : st.first_finding)
        if (f.seed == seed)
          std::fprintf(stderr, "  new: %s under %s, %s: %s\n", key.c_str(), f.policy.c_str(), f.how.c_str(), f.message.c_str());
  }
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return st;
}

std::string soak_summary(const char* what, const SoakStats& s) {
  std::ostringstream os;
  os << what << ": " << s.scenarios << " scenarios, " << s.loader_rejected << " rejected by the loader, " << s.runs << " checked runs (";
  bool first = true;
  for (const auto& [status, n] : s.statuses) {
    os << (first ? "" : ", ") << n << " " << status;
    if (auto at = s.first_status_seed.find(status); at != s.first_status_seed.end()) os << " (first seed " << at->second << ")";
    first = false;
  }
  os << "), " << s.explore_runs << " explore executions; " << s.internal_errors << " internal errors";
  for (const auto& [key, n] : s.errors) os << " [" << n << "x " << key << ", first seed " << s.first_finding.at(key).seed << "]";
  char t[32];
  std::snprintf(t, sizeof t, "; %.1f s", s.seconds);
  os << t;
  return os.str();
}

RunResult run_checked(const ScenarioSpec& s, const kernel::Policy& policy, uint64_t seed) {
  RunOptions ro;
  ro.check_invariants = true;
  SplitMix64 rng(seed);
  if (seed != 0)
    ro.chooser = [&](uint64_t ready, const std::vector<StepRecord>&, const std::vector<Event>&) {
      std::vector<int> r;
      for (int t = 0; t < 64; ++t)
        if (ready >> t & 1) r.push_back(t);
      return r[rng.below(r.size())];
    };
  return run_scenario(s, policy, ro);
}

}  // namespace tlbsim::test
