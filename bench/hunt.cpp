// SPDX-License-Identifier: MIT
// The hunt for bugs nobody has reported (docs/findings.md): generate small scenarios at random
// (tests/support/scenario_gen.h: every op, decoding and hardware parameter, 2 to 4 threads),
// explore each under one policy (by default the newest release) as `tlbsim explore` does, and
// print every scenario in which a property that means "a device or CPU used memory it no longer
// owned" is not Never, with its witness. Nothing here judges a candidate: each is explained by
// hand in docs/findings.md.
//
//   tlbsim_hunt [--first N] [--count N] [--policy NAME] [--budget EXECUTIONS] [--pinned] [--in-order] [--verbose]
//
// By default each device's decoding is replaced by its driver family (amd, intel,
// arm-smmu-v3), so the devices run the drivers the policy's release ships; --pinned keeps the
// generator's pinned decodings (older drivers, whose documented bugs then show up). --in-order
// drops the generator's `cmds_complete_in_order: false`, so every IOMMU completes its batches in
// queue order (the drivers' assumption). --verbose prints why the loader rejected a draw.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernel/policy.h"
#include "kernel/sva.h"
#include "scenarios/errors.h"
#include "scenarios/explore.h"
#include "scenarios/loader.h"
#include "support/scenario_gen.h"

using namespace tlbsim;

namespace {

/// The properties whose Sometimes means memory used after its owner let go of it.
const char* const kHunted[] = {"freed", "reused", "table-freed", "use-after-free", "lost-writes", "used-after-return"};

std::string family_of(const std::string& decoding) {
  for (const auto& d : kernel::decodings())
    if (d.name == decoding)
      for (const auto& f : kernel::drivers())
        if (f.driver == d.driver) return std::string(f.name);
  return decoding;  // already a family
}

uint64_t number(const char* s, const char* what) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (!*s || *end) {
    std::fprintf(stderr, "tlbsim_hunt: %s: expected a number, got %s\n", what, s);
    std::exit(2);
  }
  return v;
}

int hunt(int argc, char** argv) {
  uint64_t first = 0, count = 500, budget = scenarios::kDefaultExecutionBudget;
  std::string policy_name;
  bool pinned = false, in_order = false, verbose = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "tlbsim_hunt: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--first")
      first = number(next(), "--first");
    else if (a == "--count")
      count = number(next(), "--count");
    else if (a == "--budget")
      budget = number(next(), "--budget");
    else if (a == "--policy")
      policy_name = next();
    else if (a == "--pinned")
      pinned = true;
    else if (a == "--in-order")
      in_order = true;
    else if (a == "--verbose")
      verbose = true;
    else {
      std::fprintf(
          stderr, "usage: tlbsim_hunt [--first N] [--count N] [--policy NAME] [--budget EXECUTIONS] [--pinned] [--in-order] [--verbose]\n");
      return 2;
    }
  }
  if (policy_name.empty()) policy_name = kernel::release_policies().back()->name;
  const kernel::Policy* policy = kernel::find_policy(policy_name);
  if (!policy) {
    std::fprintf(stderr, "tlbsim_hunt: unknown policy %s\n", policy_name.c_str());
    return 2;
  }

  const auto t0 = std::chrono::steady_clock::now();
  uint64_t rejected = 0, explored = 0, exhaustive = 0, executions = 0, candidates = 0, invariants = 0;
  std::map<std::string, uint64_t> by_property;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    // The first of up to 8 draws of the seed that the loader accepts (as the differential test
    // picks its scenarios).
    std::string text;
    scenarios::ScenarioFile file;
    for (unsigned attempt = 0; attempt < 8 && file.scenarios.empty(); ++attempt) {
      nlohmann::ordered_json doc = nlohmann::ordered_json::parse(test::generate_scenario(seed, attempt));
      nlohmann::ordered_json& sc = doc["scenarios"][0];
      if (!pinned && sc.contains("devices"))
        for (auto& d : sc["devices"]) d["decoding"] = family_of(d["decoding"].get<std::string>());
      if (in_order && sc.contains("devices"))
        for (auto& d : sc["devices"]) d.erase("cmds_complete_in_order");
      text = doc.dump(1);
      try {
        file = scenarios::parse_scenario_text(text, "hunt-" + std::to_string(seed) + ".json");
      } catch (const scenarios::ScenarioError& e) {
        if (verbose) std::fprintf(stderr, "seed %llu attempt %u rejected: %s\n", static_cast<unsigned long long>(seed), attempt, e.what());
      }
    }
    if (file.scenarios.empty()) {
      ++rejected;
      continue;
    }
    const scenarios::ScenarioSpec& s = file.scenarios.at(0);
    scenarios::ExploreOptions opt;
    opt.max_executions = budget;
    const scenarios::ExploreResult r = scenarios::explore_rounds(s, *policy, opt, std::nullopt);
    ++explored;
    executions += r.spent;
    if (scenarios::exhaustive_unbounded(r)) ++exhaustive;
    std::vector<std::string> found;
    for (const auto& p : r.properties)
      for (const char* h : kHunted)
        if (p.name == h && p.verdict != scenarios::Verdict::Never) {
          found.push_back(p.name + " " + std::string(to_string(p.verdict)) + " " + std::to_string(p.count) + "/" +
                          std::to_string(r.executions) + " witness " + (p.witness ? scenarios::schedule_text(s, *p.witness) : "-"));
          ++by_property[p.name];
        }
    if (r.invariant) {
      ++invariants;
      found.push_back("model invariant violated: " + r.invariant->second + " witness " + scenarios::schedule_text(s, r.invariant->first));
    }
    if (found.empty()) continue;
    ++candidates;
    std::printf("== seed %llu (%s, %s, %llu executions)\n", static_cast<unsigned long long>(seed),
                exhaustive_unbounded(r) ? "exhaustive" : ("bound " + std::to_string(r.preemptions)).c_str(),
                r.complete ? "complete" : "stopped by the budget", static_cast<unsigned long long>(r.spent));
    for (const std::string& f : found) std::printf("   %s\n", f.c_str());
    std::printf("%s\n", text.c_str());
    std::fflush(stdout);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "hunt under %s%s: seeds %llu..%llu, %llu scenarios explored (%llu seeds with no draw the loader accepts), %llu exhaustive "
      "without bound, %llu executions, %.0f s; %llu scenarios with a candidate, %llu with a model invariant violation\n",
      policy->name.c_str(), pinned ? " (pinned decodings)" : " (driver families)", static_cast<unsigned long long>(first),
      static_cast<unsigned long long>(first + count - 1), static_cast<unsigned long long>(explored),
      static_cast<unsigned long long>(rejected), static_cast<unsigned long long>(exhaustive), static_cast<unsigned long long>(executions),
      secs, static_cast<unsigned long long>(candidates), static_cast<unsigned long long>(invariants));
  for (const auto& [p, n] : by_property) std::printf("   %s: %llu scenarios\n", p.c_str(), static_cast<unsigned long long>(n));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return hunt(argc, argv);
  } catch (const std::exception& e) {
    // An internal error, as tlbsim's own exit status 3 (docs/design.md, "Exit statuses").
    std::fprintf(stderr, "tlbsim_hunt: internal error: %s\n", e.what());
    return 3;
  }
}
