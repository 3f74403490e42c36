// SPDX-License-Identifier: MIT
// What user space and devices are told (kernel/outcome.h) as the detector counts it (the
// errors, signals and fault-rejects rows of metrics()), the reports list it by op, an
// expectation bounds it, and exploration finds the schedules where it happens.
#include <catch2/catch.hpp>

#include <string>

#include "kernel/policy.h"
#include "scenarios/detector.h"
#include "scenarios/explore.h"
#include "scenarios/loader.h"
#include "scenarios/report.h"
#include "scenarios/runner.h"

using namespace tlbsim;
using namespace tlbsim::scenarios;

namespace {

/// A munmaps the mapping; B then mprotects it and reads it. In the order A, B both of B's ops
/// are refused; in the order B, A neither is.
const char* kUnmapThenUse = R"({"scenarios": [{
  "name": "s", "source": "test",
  "mms": [{"name": "mm", "vmas": [{"start": "0x1000", "pages": 2, "populate": "write"}]}],
  "threads": [
    {"name": "A", "cpu": 0, "mm": "mm", "ops": [{"op": "munmap", "addr": "0x1000", "pages": 2}]},
    {"name": "B", "cpu": 1, "mm": "mm", "ops": [{"op": "mprotect", "addr": "0x1000", "pages": 2, "prot": "r"},
                                               {"op": "read", "addr": "0x2000"}]}
  ],
  "schedule": SCHEDULE,
  "expect": {"fixed": {"errors": 1, "signals": 1, "fault-rejects": 0}}
}]})";

ScenarioFile with_schedule(const std::string& sched) {
  std::string t = kUnmapThenUse;
  t.replace(t.find("SCHEDULE"), 8, sched);
  return parse_scenario_text(t, "test.json");
}

PolicyOutcome run_fixed(const ScenarioSpec& s) {
  return judge(s, run_scenario(s, *kernel::find_policy("fixed"), {.check_invariants = true}));
}

}  // namespace

TEST_CASE("an error return and a signal are counted, each attributed to its thread and op", "[scenarios]") {
  const ScenarioFile f = with_schedule(R"(["A*", "B*"])");
  const PolicyOutcome p = run_fixed(f.scenarios[0]);
  REQUIRE(p.run.status == RunResult::Status::Completed);
  CHECK(p.det.metric("errors") == 1);
  CHECK(p.det.metric("signals") == 1);
  CHECK(p.det.metric("fault-rejects") == 0);
  CHECK(p.pass());
  std::vector<std::tuple<std::string, int, int>> seen;
  for (const Finding& fd : p.det.findings) seen.emplace_back(fd.kind, fd.thread, fd.op);
  CHECK(seen == std::vector<std::tuple<std::string, int, int>>{{"syscall-error", 1, 0}, {"signal", 1, 1}});
}

TEST_CASE("the text report names the op and the errno or signal, and the JSON report the thread and op", "[scenarios]") {
  const ScenarioFile f = with_schedule(R"(["A*", "B*"])");
  std::vector<ScenarioOutcome> outs{ScenarioOutcome{&f.scenarios[0], {run_fixed(f.scenarios[0])}}};
  const std::string text = text_report("test.json", outs);
  CHECK_THAT(text, Catch::Contains("fixed: B op 0 (mprotect): mprotect returned -ENOMEM"));
  CHECK_THAT(text, Catch::Contains("fixed: B op 1 (read): SIGSEGV at 0x2000"));
  const auto j = json_report("test.json", outs);
  const auto& finds = j["scenarios"][0]["policies"][0]["findings"];
  REQUIRE(finds.size() == 2);
  CHECK(finds[0]["kind"] == "syscall-error");
  CHECK(finds[0]["thread"] == "B");
  CHECK(finds[0]["op"] == 0);
  CHECK(finds[1]["kind"] == "signal");
}

TEST_CASE("in the other order nothing is refused, and the expectation of one error fails", "[scenarios]") {
  const ScenarioFile f = with_schedule(R"(["B*", "A*"])");
  const PolicyOutcome p = run_fixed(f.scenarios[0]);
  CHECK(p.det.metric("errors") == 0);
  CHECK(p.det.metric("signals") == 0);
  CHECK_FALSE(p.pass());
}

TEST_CASE("exploration finds that the errors and signals happen in some schedules only", "[scenarios][explore]") {
  const ScenarioFile f = with_schedule(R"(["A*", "B*"])");
  const ExploreResult r = explore(f.scenarios[0], *kernel::find_policy("fixed"), ExploreOptions{});
  for (const char* name : {"errors", "signals"}) {
    bool found = false;
    for (const PropertyResult& prop : r.properties)
      if (prop.name == name) {
        found = true;
        CHECK(prop.verdict == Verdict::Sometimes);
      }
    CHECK(found);
  }
}
