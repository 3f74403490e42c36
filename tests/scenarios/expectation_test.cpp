// SPDX-License-Identifier: MIT
// Expectations on one op's outcome (scenarios/expectation.h): "T1:op 2:errno" names the errno
// the op returned, "T1:op 2:signals" counts that op's signals, so a scenario can say which op
// the kernel refuses and with what, not only how many calls failed.
#include <catch2/catch.hpp>

#include <string>

#include "kernel/policy.h"
#include "scenarios/errors.h"
#include "scenarios/expectation.h"
#include "scenarios/explore.h"
#include "scenarios/loader.h"
#include "scenarios/report.h"
#include "scenarios/runner.h"

using namespace tlbsim;
using namespace tlbsim::scenarios;

namespace {

/// B's mprotect runs over a hole after A's munmap of the mapping's second page: -ENOMEM. B's
/// read of the unmapped page is a SIGSEGV; A's munmap returns 0.
std::string scenario(const std::string& expect) {
  return R"({"scenarios": [{
  "name": "s", "source": "test",
  "mms": [{"name": "mm", "vmas": [{"start": "0x1000", "pages": 2, "populate": "write"}]}],
  "threads": [
    {"name": "A", "cpu": 0, "mm": "mm", "ops": [{"op": "munmap", "addr": "0x2000"}]},
    {"name": "B", "cpu": 1, "mm": "mm", "ops": [{"op": "mprotect", "addr": "0x1000", "pages": 2, "prot": "r"},
                                               {"op": "read", "addr": "0x2000"}]}
  ],
  "schedule": ["A*", "B*"],
  "expect": {"fixed": )" +
         expect + "}}]}";
}

PolicyOutcome run_fixed(const ScenarioSpec& s) {
  return judge(s, run_scenario(s, *kernel::find_policy("fixed"), {.check_invariants = true}));
}

}  // namespace

TEST_CASE("an op-outcome key names a thread, an op index and errno or an outcome metric", "[scenarios]") {
  const std::optional<OpOutcomeKey> e = parse_op_outcome_key("T1:op 2:errno");
  REQUIRE(e);
  CHECK(e->thread == "T1");
  CHECK(e->op == 2);
  CHECK(e->metric == nullptr);
  const std::optional<OpOutcomeKey> s = parse_op_outcome_key("dev:0:op 10:fault-rejects");
  REQUIRE(s);
  CHECK(s->thread == "dev:0");
  CHECK(s->op == 10);
  REQUIRE(s->metric);
  CHECK(s->metric->name == "fault-rejects");
  for (const char* bad : {"T1:op 2:windows", "T1:op 2:", "T1:op :errno", "T1:op x:errno", "T1:op 2x:errno", ":op 2:errno", "T1:2:errno",
                          "errors", "device:errors"}) {
    INFO(bad);
    CHECK_FALSE(parse_op_outcome_key(bad));
  }
  CHECK(op_outcome_names() == std::vector<std::string>{"errno", "errors", "signals", "fault-rejects"});
}

TEST_CASE("an op's errno and outcome counts are judged on that op only, after the metrics", "[scenarios]") {
  const ScenarioFile f = parse_scenario_text(
      scenario(R"({"B:op 0:errno": "ENOMEM", "A:op 0:errno": "none", "B:op 1:signals": 1, "B:op 0:signals": 0, "errors": 1})"),
      "test.json");
  const PolicyOutcome p = run_fixed(f.scenarios[0]);
  REQUIRE(p.run.status == RunResult::Status::Completed);
  std::vector<std::string> order;
  for (const ExpectationCheck& c : p.checks) {
    INFO(c.metric << " = " << c.actual_text() << ", expected " << c.bound.text());
    CHECK(c.holds);
    order.push_back(c.metric);
  }
  CHECK(order == std::vector<std::string>{"errors", "A:op 0:errno", "B:op 0:errno", "B:op 0:signals", "B:op 1:signals"});
  CHECK(p.pass());
}

TEST_CASE("a wrong errno fails the run's expectations and reports both names", "[scenarios]") {
  const ScenarioFile f = parse_scenario_text(scenario(R"({"B:op 0:errno": "EACCES"})"), "test.json");
  const PolicyOutcome p = run_fixed(f.scenarios[0]);
  REQUIRE(p.checks.size() == 1);
  CHECK_FALSE(p.checks[0].holds);
  CHECK(p.checks[0].actual_text() == "ENOMEM");
  CHECK(p.checks[0].bound.text() == "EACCES");
  const std::string text = text_report("test.json", {ScenarioOutcome{&f.scenarios[0], {p}}});
  CHECK(text.find("B:op 0:errno=ENOMEM (expected EACCES)") != std::string::npos);
  const auto j = json_report("test.json", {ScenarioOutcome{&f.scenarios[0], {p}}});
  CHECK(j.dump().find(R"("metric":"B:op 0:errno","expected":"EACCES","actual":"ENOMEM","holds":false)") != std::string::npos);
}

TEST_CASE("explore reports an op's errno as an expectation over every schedule", "[scenarios][explore]") {
  // Without the schedule: B's mprotect fails only when A's munmap ran first.
  std::string text = scenario(R"({"B:op 0:errno": "ENOMEM"})");
  text.replace(text.find(R"("schedule": ["A*", "B*"],)"), std::string(R"("schedule": ["A*", "B*"],)").size(), "");
  const ScenarioFile f = parse_scenario_text(text, "test.json");
  ExploreOptions eo;
  eo.preemptions = -1;
  const ExploreResult r = explore(f.scenarios[0], *kernel::find_policy("fixed"), eo);
  REQUIRE(r.expectations.size() == 1);
  CHECK(r.expectations[0].name == "B:op 0:errno ENOMEM");
  CHECK(r.expectations[0].verdict == Verdict::Sometimes);
}

TEST_CASE("the loader refuses an op-outcome key of an unknown thread or op, and an errno it does not know", "[scenarios]") {
  auto message = [](const std::string& expect) {
    try {
      parse_scenario_text(scenario(expect), "test.json");
    } catch (const ScenarioError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(message(R"({"C:op 0:errno": "none"})").find("no thread \"C\" in this scenario") != std::string::npos);
  CHECK(message(R"({"B:op 2:errno": "none"})").find("thread \"B\" has 2 ops, numbered from 0: no op 2") != std::string::npos);
  CHECK(message(R"({"B:op 0:errno": "ENOENT"})").find("expected the errno the op returns, one of") != std::string::npos);
  CHECK(message(R"({"B:op 0:errno": 12})").find("expected the errno the op returns") != std::string::npos);
  CHECK(message(R"({"B:op 0:windows": 0})").find("unknown metric \"B:op 0:windows\"") != std::string::npos);
  CHECK(message(R"({"B:op 0:signals": 1})").empty());
}
