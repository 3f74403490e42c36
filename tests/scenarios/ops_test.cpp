// SPDX-License-Identifier: MIT
// scenarios/op_names.h and scenarios/ops.h: the op vocabulary is one list, and the op table has
// exactly one row for each of its names.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "scenarios/loader.h"
#include "scenarios/op_names.h"
#include "scenarios/ops.h"

using namespace tlbsim::scenarios;

TEST_CASE("the op table has one row per op name, in the list's order", "[scenarios][ops]") {
  REQUIRE(ops().size() == kOpNames.size());
  std::set<std::string_view> seen;
  for (size_t i = 0; i < ops().size(); ++i) {
    const OpInfo& row = ops()[i];
    INFO("row " << i << ": " << row.name());
    CHECK(static_cast<size_t>(row.id) == i);
    CHECK(row.name() == kOpNames[i]);
    CHECK(seen.insert(row.name()).second);
    CHECK(&op_info(row.id) == &row);
    CHECK(find_op(row.name()) == &row);
  }
}

TEST_CASE("an op name maps to its Op and back, any other name maps to none", "[scenarios][ops]") {
  for (const std::string_view name : kOpNames) {
    const auto op = op_from_name(name);
    REQUIRE(op);
    CHECK(op_name(*op) == name);
  }
  CHECK(op_from_name("munmap") == Op::munmap);
  CHECK_FALSE(op_from_name("Munmap"));
  CHECK_FALSE(op_from_name("madvise"));
  CHECK_FALSE(op_from_name(""));
  CHECK(find_op("madvise") == nullptr);
}

TEST_CASE("the loader gives each op of a scenario its Op, in both the long and the short form", "[scenarios][ops]") {
  const nlohmann::json doc = {
      {"scenarios",
       {{{"name", "ops"},
         {"source", "tests/scenarios/ops_test.cpp"},
         {"cpus", 1},
         {"mms", {{{"name", "p"}, {"vmas", {{{"start", "0x400000"}, {"pages", 4}}}}}}},
         {"threads",
          {{{"name", "t"},
            {"cpu", 0},
            {"mm", "p"},
            {"ops",
             {{{"op", "write"}, {"addr", "0x400000"}}, {{"op", "madvise_dontneed"}, {"addr", "0x400000"}, {"pages", 4}}, "exit"}}}}}}}}};
  const auto file = parse_scenario_text(doc.dump(), "ops.json");
  REQUIRE(file.scenarios.size() == 1);
  const auto& ops = file.scenarios[0].threads.at(0).ops;
  REQUIRE(ops.size() == 3);
  CHECK(ops[0].id == Op::write);
  CHECK(ops[1].id == Op::madvise_dontneed);
  CHECK(ops[2].id == Op::exit);
}
