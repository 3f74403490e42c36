// SPDX-License-Identifier: MIT
// Issue 16, "the model never dies on a scenario that validates": generated valid scenarios
// (tests/support/valid_scenario_gen.h) run with every invariant checked under their own and
// random schedules and a short random explore (tests/support/valid_soak.h); an internal error on
// any of them is a bug, and so is a run that deadlocks. Reproduce a finding with the seed the
// summary names: generate_valid_scenario(SEED) is the scenario file, `tlbsim run --check` runs it.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "kernel/sva.h"
#include "scenarios/errors.h"
#include "scenarios/loader.h"
#include "scenarios/ops.h"
#include "support/sample_size.h"
#include "support/valid_scenario_gen.h"
#include "support/valid_soak.h"

using namespace tlbsim;
using namespace tlbsim::test;

namespace {

void require_no_internal_error(const char* what, const SoakStats& st) {
  std::fprintf(stderr, "%s\n", soak_summary(what, st).c_str());
  for (const auto& [key, f] : st.first_finding)
    std::fprintf(stderr, "  %s: seed %llu under %s, %s:\n    %s\n", key.c_str(), static_cast<unsigned long long>(f.seed), f.policy.c_str(),
                 f.how.c_str(), f.message.c_str());
  for (const auto& [msg, n] : st.rejections)
    std::fprintf(stderr, "  rejected %llux: %s\n", static_cast<unsigned long long>(n), msg.c_str());
  INFO(soak_summary(what, st));
  // The generator writes valid scenarios by construction; a rejection is a generator bug, but a
  // rare one costs only that seed.
  CHECK(st.loader_rejected * 100 <= st.scenarios + st.loader_rejected);
  CHECK(st.internal_errors == 0);
  // Nor may a checked run deadlock or exceed its step budget: the kernel paths these ops stand
  // for do not deadlock among themselves but in one race of their own (kKsmWindowStatus, counted
  // apart and reported in the summary), and the generator keeps ranges within the budget.
  uint64_t not_completed = 0;
  for (const auto& [status, n] : st.statuses)
    if (status != "completed" && status != kKsmWindowStatus) not_completed += n;
  CHECK(not_completed == 0);
}

uint64_t env_or(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

}  // namespace

TEST_CASE("valid scenario generator: deterministic, every scenario loads, and covers every op, decoding and size",
          "[scenarios][generator][soak]") {
  CHECK(generate_valid_scenario(777) == generate_valid_scenario(777));
  CHECK(generate_valid_scenario(777) != generate_valid_scenario(778));
  std::map<std::string, int> ops, decodings, features;
  uint64_t rejected = 0;
  constexpr uint64_t kSeeds = 1000;
  for (uint64_t seed = 0; seed < kSeeds; ++seed) {
    const std::string text = generate_valid_scenario(seed);
    try {
      scenarios::parse_scenario_text(text, "valid.json");
    } catch (const scenarios::ScenarioError& e) {
      UNSCOPED_INFO("seed " << seed << ": " << e.what());
      ++rejected;
    }
    const nlohmann::json s = nlohmann::json::parse(text)["scenarios"][0];
    const unsigned cpus = s["cpus"].get<unsigned>();
    ++features[cpus == 1 ? "1 cpu" : cpus == 64 ? "64 cpus" : "2-63 cpus"];
    if (s.value("tlb_entries", 1536u) >= 1536) ++features["big TLB"];
    if (s.value("tlb_entries", 1536u) <= 4) ++features["tiny TLB"];
    if (s["mms"].size() > 1) ++features["several mms"];
    for (const auto& d : s.value("devices", nlohmann::json::array())) {
      ++decodings[d["decoding"].get<std::string>()];
      ++features[d["walk_cache_entries"].get<int>() ? "walk cache on" : "walk cache off"];
      ++features[d.value("ats", true) ? "ats on" : "ats off"];
      if (d.value("btm", false)) ++features["btm"];
    }
    for (const auto& m : s["mms"])
      for (const auto& v : m["vmas"]) {
        ++features[v.contains("file") ? "file" : v.value("pfnmap", false) ? "pfnmap" : "anon"];
        if (v.value("shared", false)) ++features["shared"];
        if (v.value("prot", std::string("rw")) == "r") ++features["read-only"];
        if (v["pages"].get<uint64_t>() >= 100) ++features["100+ pages"];
        if (v["pages"].get<uint64_t>() == 512) ++features["huge file mapping"];
      }
    std::set<std::string> kinds;
    for (const auto& t : s["threads"]) {
      kinds.insert(t.contains("device") ? "device" : t.contains("kernel") ? "kernel" : "cpu");
      for (const auto& o : t["ops"]) {
        ++ops[o["op"].get<std::string>()];
        if (o.value("dontunmap", false)) ++features["mremap dontunmap"];
      }
    }
    ++features[std::to_string(s["threads"].size()) + " threads"];
    if (kinds.count("kernel") && kinds.size() > 1) ++features["kernel thread racing others"];
  }
  CHECK(rejected * 100 <= kSeeds);
  for (const scenarios::OpInfo& o : scenarios::ops()) {
    INFO(o.name());
    CHECK(ops[std::string(o.name())] >= 100);
  }
  for (const auto& d : kernel::decodings()) {
    INFO(d.name);
    CHECK(decodings[std::string(d.name)] >= 50);
  }
  for (const char* f : {"1 cpu",
                        "64 cpus",
                        "2-63 cpus",
                        "big TLB",
                        "tiny TLB",
                        "several mms",
                        "walk cache on",
                        "walk cache off",
                        "ats on",
                        "ats off",
                        "btm",
                        "file",
                        "anon",
                        "pfnmap",
                        "shared",
                        "read-only",
                        "100+ pages",
                        "mremap dontunmap",
                        "huge file mapping",
                        "1 threads",
                        "6 threads",
                        "kernel thread racing others"}) {
    INFO(f);
    CHECK(features[f] >= 30);
  }
}

TEST_CASE("the model meets no internal error on a sample of generated valid scenarios, checked and explored at random",
          "[scenarios][soak]") {
  SoakOptions opt;
  opt.scenarios = sample_size(200);
  require_no_internal_error("valid-scenario soak (sample)", run_soak(opt));
}

TEST_CASE("the model meets no internal error on 20000 generated valid scenarios, checked and explored at random",
          "[scenarios][soak][slow]") {
  // TLBSIM_SOAK_FIRST and TLBSIM_SOAK_SCENARIOS pick another range of seeds; TLBSIM_SOAK_VERBOSE=1
  // prints a line per scenario.
  SoakOptions opt;
  opt.first_seed = env_or("TLBSIM_SOAK_FIRST", 0);
  opt.scenarios = env_or("TLBSIM_SOAK_SCENARIOS", 20000);
  opt.random_schedules = 4;
  opt.verbose = env_or("TLBSIM_SOAK_VERBOSE", 0) != 0;
  require_no_internal_error("valid-scenario soak", run_soak(opt));
}
