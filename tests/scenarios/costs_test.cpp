// SPDX-License-Identifier: MIT
// Cost-model overrides from JSON: named fields replace defaults; bad input names the file,
// line:column and pointer of every problem.
#include <catch2/catch.hpp>

#include "scenarios/costs.h"
#include "scenarios/errors.h"

namespace tlbsim::scenarios {
namespace {

std::vector<std::string> errors_of(const std::string& text) {
  try {
    parse_costs_text(text, "c.json");
  } catch (const ScenarioError& e) {
    std::vector<std::string> out;
    for (const auto& d : e.diagnostics()) out.push_back(d.format());
    return out;
  }
  return {};
}

TEST_CASE("a costs file overrides the fields it names and keeps the rest", "[scenarios][costs]") {
  const iommu::CostModel c = parse_costs_text(R"({"iommu_sync": 2500, "cpu_invlpg": 60})", "c.json");
  CHECK(c.iommu_sync == 2500);
  CHECK(c.cpu_invlpg == 60);
  CHECK(c.atc_miss == iommu::CostModel{}.atc_miss);
  CHECK(parse_costs_text("{}", "c.json").iommu_cmd == iommu::CostModel{}.iommu_cmd);
}

TEST_CASE("every CostModel field can be named", "[scenarios][costs]") {
  for (const auto& f : cost_fields()) {
    const iommu::CostModel c = parse_costs_text(std::string("{\"") + f.name + "\": 12345}", "c.json");
    CHECK(c.*(f.field) == 12345);
  }
}

TEST_CASE("bad costs files: each problem with its position", "[scenarios][costs]") {
  REQUIRE(errors_of("{\"iommu_sync\": 1,}").size() == 1);
  CHECK(errors_of("{\"iommu_sync\": 1,}").at(0).rfind("c.json:1:", 0) == 0);
  // A syntax error on a later line: line:column counted from the text, nlohmann's own prefix dropped.
  REQUIRE(errors_of("{\n  \"iommu_sync\": 1,\n}").size() == 1);
  CHECK(errors_of("{\n  \"iommu_sync\": 1,\n}").at(0).rfind("c.json:3:1: JSON syntax error while parsing object key", 0) == 0);
  CHECK(errors_of("[1]") == std::vector<std::string>{"c.json:1:1: expected an object of cost names to nanoseconds, found array"});
  const auto e = errors_of("{\n  \"iommu_sync\": -3,\n  \"atc_miss\": 1.5,\n  \"bogus\": 1,\n  \"cpu_walk\": \"15\"\n}");
  REQUIRE(e.size() == 4);
  CHECK(e[0] == "c.json:2:17: /iommu_sync: expected a non-negative integer (nanoseconds), found a negative number");
  CHECK(e[1] == "c.json:3:15: /atc_miss: expected a non-negative integer (nanoseconds), found a fraction");
  CHECK(e[2].rfind("c.json:4:12: /bogus: unknown cost \"bogus\" (expected one of: pte_write, ", 0) == 0);
  CHECK(e[3] == "c.json:5:15: /cpu_walk: expected a non-negative integer (nanoseconds), found string");
  // The same bound as a scenario's "costs" key: 2^40 ns is accepted, one more is not.
  CHECK(parse_costs_text("{\"iommu_sync\": 1099511627776}", "c.json").iommu_sync == kMaxCostNs);
  CHECK(errors_of("{\n  \"iommu_sync\": 1099511627777\n}") ==
        std::vector<std::string>{"c.json:2:17: /iommu_sync: expected at most 1099511627776 ns, found 1099511627777"});
  CHECK(errors_of("{\"atc_miss\": 18446744073709551615}").at(0).find("expected at most 1099511627776 ns") != std::string::npos);
  // Beyond 64 bits: too large, shown as written (not as 1.8e+19, nor called a fraction).
  CHECK(errors_of("{\"atc_miss\": 18446744073709551616, \"iommu_sync\": -9223372036854775809}") ==
        std::vector<std::string>{"c.json:1:14: /atc_miss: expected at most 1099511627776 ns, found 18446744073709551616 (too large)",
                                 "c.json:1:50: /iommu_sync: expected a non-negative integer (nanoseconds), found a negative number"});
  // Nothing but whitespace after the object: a NUL byte does not end the input.
  CHECK(errors_of(std::string("{\"iommu_sync\": 1}\n") + '\0' + "{\"iommu_sync\": 2}") ==
        std::vector<std::string>{"c.json:2:1: JSON syntax error: expected end of input after the JSON document, got a NUL byte"});
  const auto d = errors_of("{\"iommu_sync\": 1, \"iommu_sync\": 2}");
  REQUIRE(d.size() == 1);
  CHECK(d[0].find("duplicate key \"iommu_sync\"") != std::string::npos);
}

TEST_CASE("a missing costs file is an input error", "[scenarios][costs]") {
  CHECK_THROWS_AS(load_costs_file("/nonexistent/costs.json"), ScenarioError);
}

}  // namespace
}  // namespace tlbsim::scenarios
