// SPDX-License-Identifier: MIT
// complete_batch() (src/kernel/sva_batch.cpp): how the commands queued before one wait complete.
// In queue order and in one step by default; with the device key cmds_complete_in_order false,
// the device-TLB invalidations first and a device may translate before the IOTLB's complete.
// Both are checked here against a brute force on generated scenarios: one command per step, a
// device free to act after each, in every order the key allows.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <set>
#include <string>

#include "kernel/policy.h"
#include "scenarios/explore.h"
#include "scenarios/loader.h"
#include "support/enumerate.h"
#include "support/sample_size.h"
#include "support/scenario_gen.h"

using namespace tlbsim;
using namespace tlbsim::scenarios;
using namespace tlbsim::test;

namespace {

/// A device reads a page three times while T1 unmaps it (mainline primer section 7's ordering
/// parameters): `decoding` and `in_order` set the device.
ScenarioSpec munmap_under_dma(const std::string& decoding, bool in_order) {
  const std::string text = R"({"scenarios": [{"name": "batch", "source": "test", "description": "test",
    "devices": [{"name": "dev0", "decoding": ")" +
                           decoding + R"(", "cmds_complete_in_order": )" + (in_order ? "true" : "false") + R"(}],
    "mms": [{"name": "proc", "bind": ["dev0"], "vmas": [{"start": "0x30000000", "pages": 1, "populate": "write"}]}],
    "threads": [
      {"name": "dev", "device": "dev0", "mm": "proc", "ops": [{"op": "dma_read", "addr": "0x30000000"},
        {"op": "dma_read", "addr": "0x30000000"}, {"op": "dma_read", "addr": "0x30000000"}]},
      {"name": "T1", "cpu": 0, "mm": "proc", "ops": [{"op": "munmap", "addr": "0x30000000", "pages": 1}]}]}]})";
  return parse_scenario_text(text, "batch.json").scenarios.at(0);
}

/// The properties a schedule's granularity does not decide. A batch completed in one step closes,
/// in that step, the windows its commands close; one command per step lets a device use the
/// translation between two completions, which the classes windows, stale, permission and observed
/// then count (and transient no longer does). That is the same granularity as a PTE store and the
/// flush in one step (docs/detector.md, transient). Harm does not depend on it: a page or table
/// freed, reused or written under a window, a window past the op's return, a livelock, a finding.
std::set<std::string> harm(std::set<std::string> p) {
  for (const char* g : {"windows", "stale", "permission", "observed", "transient"}) p.erase(g);
  return p;
}

bool use_after_free(const ScenarioSpec& s, const char* policy) {
  const ExploreResult r = explore(s, *kernel::find_policy(policy), ExploreOptions{});
  return explored_properties(r).count("use-after-free") > 0;
}

}  // namespace

TEST_CASE("a batch completed out of order lets a device refill its ATC from the IOTLB between the device-TLB and IOTLB invalidations",
          "[kernel][sva][batch]") {
  // AMD's SVA domain (v6.10) puts INVALIDATE_IOMMU_PAGES and INVALIDATE_IOTLB_PAGES before one
  // COMPLETION_WAIT; VT-d's qi_batch (705c1cdf1e73, v6.12) the PIOTLB and device-TLB descriptors
  // before one wait descriptor.
  CHECK(use_after_free(munmap_under_dma("amd-6.10", false), "v6.10"));
  CHECK(use_after_free(munmap_under_dma("intel-6.12", false), "v6.12"));
  CHECK(use_after_free(munmap_under_dma("intel-7.1", false), "v7.1"));
  SECTION("in queue order, the ATC is invalidated after the IOTLB and nothing refills it") {
    CHECK_FALSE(use_after_free(munmap_under_dma("amd-6.10", true), "v6.10"));
    CHECK_FALSE(use_after_free(munmap_under_dma("intel-6.12", true), "v6.12"));
  }
  SECTION("drivers that wait after each kind of invalidation are not exposed: the key changes nothing") {
    for (const auto& [decoding, policy] : {std::pair{"amd-v2", "fixed"},     // a wait after each
                                           std::pair{"intel-svm", "fixed"},  // qi_submit_sync per descriptor
                                           std::pair{"intel-6.11", "v6.11"}}) {
      INFO(decoding);
      const ExploreResult in_order = explore(munmap_under_dma(decoding, true), *kernel::find_policy(policy), ExploreOptions{});
      const ExploreResult any = explore(munmap_under_dma(decoding, false), *kernel::find_policy(policy), ExploreOptions{});
      CHECK(explored_properties(any) == explored_properties(in_order));
      CHECK(any.executions == in_order.executions);
    }
  }
}

TEST_CASE("the brute force completes a batch one command per step, in every order the device allows", "[kernel][sva][batch]") {
  for (const bool in_order : {false, true}) {
    INFO("cmds_complete_in_order " << in_order);
    const ScenarioSpec s = munmap_under_dma("intel-6.12", in_order);
    const Enumerated model = enumerate_all(s, *kernel::find_policy("v6.12"));
    const Enumerated every = enumerate_all(s, *kernel::find_policy("v6.12"), -1, 0, true);
    CHECK(model.properties.count("use-after-free") == (in_order ? 0u : 1u));
    CHECK(harm(every.properties) == harm(model.properties));
    // More schedules: a device may act after each command (and out of order, each batch of two
    // has two orders).
    CHECK(every.schedules > model.schedules);
  }
}

namespace {

struct OrderTotals {
  GenStats gen;
  uint64_t checked = 0, too_large = 0, schedules = 0;
};

/// Generated scenarios with a device: the harm with the model's batch completion (in one step, or
/// out of order with the device-TLB invalidations first) equals the harm of the brute force,
/// where each command of a batch completes in a step of its own and each order of each batch is a
/// choice. Policies fixed and v6.12 cover every driver's batches of both eras.
void check_orders(uint64_t first, uint64_t count, uint64_t max_schedules, OrderTotals& t) {
  const std::vector<std::string> policies{"fixed", "v6.12"};
  for (uint64_t seed = first; seed < first + count; ++seed) {
    const std::optional<GeneratedScenario> g = pick_scenario(seed, policies, max_schedules, t.gen);
    if (!g) continue;
    const ScenarioSpec& s = g->file.scenarios.at(0);
    if (s.devices.empty()) continue;
    for (const std::string& pol : policies) {
      const Enumerated every = enumerate_all(s, *kernel::find_policy(pol), -1, max_schedules * 20, true);
      t.schedules += every.schedules;
      if (every.capped) {
        ++t.too_large;
        continue;
      }
      ++t.checked;
      INFO("seed " << seed << " attempt " << g->attempt << " under " << pol << ":\n" << g->text);
      CHECK(harm(g->enumerated.at(pol).properties) == harm(every.properties));
    }
  }
}

/// Seeds 0 .. count - 1, skipping scenarios with more than `max_schedules` schedules; prints the
/// totals, and checks that at least `min_checked` comparisons ran.
void run_orders(const char* what, uint64_t count, uint64_t max_schedules, uint64_t min_checked) {
  const auto start = std::chrono::steady_clock::now();
  OrderTotals t;
  check_orders(0, count, max_schedules, t);
  std::fprintf(stderr, "%s: %llu seeds, %llu checks, %llu over the cap; %llu schedules with every order; %.1f s\n", what,
               static_cast<unsigned long long>(t.gen.seeds), static_cast<unsigned long long>(t.checked),
               static_cast<unsigned long long>(t.too_large), static_cast<unsigned long long>(t.schedules),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  CHECK(t.checked >= min_checked);
}

}  // namespace

TEST_CASE(
    "a batch completed in one step, or device-TLB invalidations first, reaches what every completion order reaches, on a sample of "
    "generated scenarios",
    "[kernel][sva][batch][generated]") {
  run_orders("batch orders (sample)", sample_size(40), 2000, test::sample_size(10));
}

TEST_CASE(
    "a batch completed in one step, or device-TLB invalidations first, reaches what every completion order reaches, on 400 generated "
    "scenarios",
    "[kernel][sva][batch][generated][slow]") {
  run_orders("batch orders", 400, 20000, 80);
}
