// SPDX-License-Identifier: MIT
// Sharded exploration (explore_part / explore_merge, docs/scale-out.md): the parts of every
// shard count, written to JSON and read back, merge to exactly what explore() finds alone, for
// every split depth, bounded and unbounded, with and without a budget that cuts the search.
#include <catch2/catch.hpp>

#include <filesystem>

#include "kernel/policy.h"
#include "scenarios/explore.h"
#include "scenarios/explore_part_json.h"
#include "scenarios/loader.h"
#include "support/sample_size.h"
#include "support/scenario_gen.h"

using namespace tlbsim;
using namespace tlbsim::scenarios;

namespace {

/// Everything a report shows of `r`, field by field, so a difference names itself.
void check_same(const ExploreResult& a, const ExploreResult& b) {
  CHECK(a.executions == b.executions);
  CHECK(a.pruned == b.pruned);
  CHECK(a.distinct_outcomes == b.distinct_outcomes);
  CHECK(a.preemptions == b.preemptions);
  CHECK(a.naive_interleavings == b.naive_interleavings);
  CHECK(a.naive_bounded == b.naive_bounded);
  CHECK(a.complete == b.complete);
  CHECK(a.bound_cut == b.bound_cut);
  CHECK(a.spent == b.spent);
  CHECK(a.deadline_hit == b.deadline_hit);
  REQUIRE(a.properties.size() == b.properties.size());
  for (size_t i = 0; i < a.properties.size(); ++i) {
    INFO(a.properties[i].name);
    CHECK(a.properties[i].name == b.properties[i].name);
    CHECK(a.properties[i].verdict == b.properties[i].verdict);
    CHECK(a.properties[i].count == b.properties[i].count);
    CHECK(a.properties[i].witness == b.properties[i].witness);
  }
  REQUIRE(a.expectations.size() == b.expectations.size());
  for (size_t i = 0; i < a.expectations.size(); ++i) {
    CHECK(a.expectations[i].count == b.expectations[i].count);
    CHECK(a.expectations[i].witness == b.expectations[i].witness);
  }
  CHECK(a.budget.has_value() == b.budget.has_value());
  if (a.budget && b.budget) CHECK(a.budget->schedule == b.budget->schedule);
  CHECK(a.invariant == b.invariant);
}

/// The shards of `n`, each through JSON, merged.
ExploreResult sharded(const ScenarioSpec& s, const kernel::Policy& pol, ExploreOptions eo, uint64_t n) {
  std::vector<ExplorePart> parts;
  for (uint64_t k = 0; k < n; ++k) {
    eo.shard = Shard{.index = k, .count = n};
    const ExplorePart p = explore_part(s, pol, eo);
    parts.push_back(part_from_json(nlohmann::json::parse(part_to_json(p).dump()), s.threads.size()));
  }
  eo.shard = Shard{};
  return explore_merge(s, pol, eo, parts);
}

}  // namespace

TEST_CASE("explore: shards of generated scenarios merge to the unsharded result, for every shard count and split depth",
          "[scenarios][explore][shard]") {
  const uint64_t seeds = tlbsim::test::sample_size(24);
  uint64_t searches = 0;
  for (uint64_t seed = 0; seed < seeds; ++seed) {
    const std::string text = tlbsim::test::generate_scenario(seed);
    ScenarioFile f;
    try {
      f = parse_scenario_text(text, "gen.json");
    } catch (const ScenarioError&) {
      continue;
    }
    const ScenarioSpec& s = f.scenarios.at(0);
    for (const char* pol : {"old", "fixed"}) {
      ExploreOptions eo;
      eo.preemptions = static_cast<int>(seed % 4) - 1;  // -1 (unbounded) to 2
      eo.split_depth = 1 + static_cast<unsigned>(seed % 4);
      // Every third seed with a budget that cuts the search partway.
      if (seed % 3 == 0) eo.max_executions = 1 + seed;
      const ExploreResult whole = explore(s, *kernel::find_policy(pol), eo);
      for (const uint64_t n : {1, 2, 3, 5, 8}) {
        INFO("seed " << seed << " under " << pol << ", bound " << eo.preemptions << ", split depth " << eo.split_depth << ", budget "
                     << eo.max_executions << ", " << n << " shards\n"
                     << text);
        check_same(sharded(s, *kernel::find_policy(pol), eo, n), whole);
        ++searches;
      }
    }
  }
  // Two policies and five shard counts a seed; most generated scenarios load.
  CHECK(searches * 6 >= seeds * 2 * 5 * 5);
}

TEST_CASE("explore: random mode shards by run index and merges to the unsharded sample", "[scenarios][explore][shard]") {
  const ScenarioFile f = load_scenario_file(std::string(TLBSIM_SOURCE_DIR) + "/scenarios.json");
  for (const ScenarioSpec& s : f.scenarios) {
    ExploreOptions eo;
    eo.mode = ExploreOptions::Mode::Random;
    eo.runs = 13;
    eo.seed = 7;
    const ExploreResult whole = explore(s, *kernel::find_policy("old"), eo);
    for (const uint64_t n : {1, 2, 4, 13, 20}) {
      INFO(s.name << ", " << n << " shards");
      check_same(sharded(s, *kernel::find_policy("old"), eo, n), whole);
    }
  }
}

TEST_CASE("explore: the split depth changes the tasks, not the outcomes", "[scenarios][explore][shard]") {
  const ScenarioFile f = load_scenario_file(std::string(TLBSIM_SOURCE_DIR) + "/scenarios.json");
  for (const ScenarioSpec& s : f.scenarios)
    for (const char* pol : {"old", "fixed"}) {
      ExploreOptions eo;
      eo.preemptions = 1;
      const ExploreResult one = explore(s, *kernel::find_policy(pol), eo);
      for (const unsigned d : {2u, 5u}) {
        eo.split_depth = d;
        const ExploreResult deep = explore(s, *kernel::find_policy(pol), eo);
        INFO(s.name << " under " << pol << ", split depth " << d);
        CHECK(deep.distinct_outcomes == one.distinct_outcomes);
        REQUIRE(deep.properties.size() == one.properties.size());
        for (size_t i = 0; i < one.properties.size(); ++i) {
          INFO(one.properties[i].name);
          CHECK((deep.properties[i].verdict == Verdict::Never) == (one.properties[i].verdict == Verdict::Never));
        }
      }
    }
}

TEST_CASE("explore: a part that is not what part_to_json writes is refused with where and why", "[scenarios][explore][shard]") {
  Aggregate a;
  a.executions = 1;
  a.props.emplace("freed", std::make_pair(uint64_t{1}, Schedule{0, 1, 1}));
  const ExplorePart p{.tasks = 1, .done = {TaskResult{.index = 0, .result = a}}};
  const nlohmann::json good = nlohmann::json::parse(part_to_json(p).dump());
  CHECK(part_from_json(good, 2).done.at(0).result.props.at("freed").second == Schedule{0, 1, 1});
  auto refused = [&](const nlohmann::json& j, size_t threads) -> std::pair<std::string, std::string> {
    try {
      part_from_json(j, threads, "/jobs/0/part");
    } catch (const PartFormatError& e) {
      return {e.pointer, e.what()};
    }
    return {"", "accepted"};
  };
  // A witness naming a thread the scenario does not have.
  CHECK(refused(good, 1) == std::make_pair(std::string("/jobs/0/part/done/0/properties/0/witness/1"),
                                           std::string("expected a thread index below 1, the scenario's threads")));
  nlohmann::json j = good;
  j["done"][0]["executions"] = -1;
  CHECK(refused(j, 2) == std::make_pair(std::string("/jobs/0/part/done/0/executions"), std::string("expected a non-negative integer")));
  j = good;
  j["done"][0].erase("outcomes");
  CHECK(refused(j, 2) == std::make_pair(std::string("/jobs/0/part/done/0"), std::string("missing \"outcomes\"")));
  j = good;
  j["done"][0]["properties"].push_back(j["done"][0]["properties"][0]);
  CHECK(refused(j, 2).second == "property \"freed\" listed twice");
}

TEST_CASE("explore: merging parts that do not hold each task once is refused", "[scenarios][explore][shard]") {
  const ScenarioFile f = load_scenario_file(std::string(TLBSIM_SOURCE_DIR) + "/scenarios.json");
  const ScenarioSpec& s = f.scenarios.at(0);
  const kernel::Policy& pol = *kernel::find_policy("fixed");
  ExploreOptions eo;
  eo.preemptions = 0;
  eo.split_depth = 2;
  eo.shard = Shard{.index = 0, .count = 2};
  const ExplorePart a = explore_part(s, pol, eo);
  eo.shard = Shard{.index = 1, .count = 2};
  const ExplorePart b = explore_part(s, pol, eo);
  eo.shard = Shard{};
  REQUIRE(a.tasks >= 2);
  CHECK_NOTHROW(explore_merge(s, pol, eo, {a, b}));
  CHECK_THROWS_AS(explore_merge(s, pol, eo, {a}), std::invalid_argument);
  CHECK_THROWS_AS(explore_merge(s, pol, eo, {a, a}), std::invalid_argument);
  CHECK_THROWS_AS(explore_merge(s, pol, eo, {}), std::invalid_argument);
  ExplorePart c = b;
  c.done.push_back(a.done.at(0));
  CHECK_THROWS_AS(explore_merge(s, pol, eo, {a, c}), std::invalid_argument);
}
