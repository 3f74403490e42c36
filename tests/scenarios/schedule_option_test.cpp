// SPDX-License-Identifier: MIT
// `run --schedule`: steps given on the command line are checked as a file's are, and every
// error, found when reading or when following them, points into the option's own text.
#include <catch2/catch.hpp>

#include "kernel/policy.h"
#include "scenarios/errors.h"
#include "scenarios/loader.h"
#include "scenarios/runner.h"
#include "scenarios/schedule_option.h"

namespace tlbsim::scenarios {
namespace {

const ScenarioFile& two_threads() {
  static const ScenarioFile f = parse_scenario_text(R"({"scenarios": [{"name": "s", "source": "test",
    "mms": [{"name": "proc", "vmas": [{"start": "0x40000000", "pages": 1}]}],
    "threads": [{"name": "A", "cpu": 0, "mm": "proc", "ops": [{"op": "read", "addr": "0x40000000"}]},
                {"name": "B", "cpu": 1, "mm": "proc", "ops": ["exit"]}]}]})",
                                                    "s.json");
  return f;
}

/// Every diagnostic of reading `text` as --schedule, formatted.
std::vector<std::string> errors(const std::string& text) {
  try {
    schedule_from_option(text, two_threads().scenarios.at(0));
  } catch (const ScenarioError& e) {
    std::vector<std::string> out;
    for (const auto& d : e.diagnostics()) out.push_back(d.format());
    return out;
  }
  return {};
}

TEST_CASE("run --schedule as a JSON array or comma-separated steps gives the same schedule", "[scenarios][loader]") {
  const ScenarioSpec& s = two_threads().scenarios.at(0);
  for (const std::string text : {R"(["A@load", "B*", "A:2"])", "A@load,B*,,A:2"}) {
    INFO(text);
    const ScheduleSpec sch = schedule_from_option(text, s);
    CHECK(sch.kind == ScheduleSpec::Kind::Explicit);
    CHECK(sch.written_in == "--schedule");
    REQUIRE(sch.entries.size() == 3);
    CHECK((sch.entries[0].thread == "A" && sch.entries[0].mode == ScheduleEntry::Mode::Until && sch.entries[0].label == "load"));
    CHECK((sch.entries[1].thread == "B" && sch.entries[1].mode == ScheduleEntry::Mode::ToEnd));
    CHECK((sch.entries[2].thread == "A" && sch.entries[2].steps == 2));
    CHECK(sch.entries[2].pointer == "/2");
    CHECK(sch.entries[2].line == 1);
  }
  CHECK(schedule_from_option(R"(["A@load", "B*", "A:2"])", s).entries[2].column == 18);
  CHECK(schedule_from_option("A@load,B*,,A:2", s).entries[2].column == 12);
}

TEST_CASE("run --schedule: errors are placed in the option's text", "[scenarios][loader]") {
  CHECK(errors(R"(["A", "nobody", 7])") ==
        std::vector<std::string>{"--schedule:1:7: /1: schedule names thread \"nobody\", which does not exist",
                                 "--schedule:1:17: /2: expected a step \"THREAD\", \"THREAD:N\", \"THREAD:op\", \"THREAD@FUNCTION\" or "
                                 "\"THREAD*\", got an integer"});
  CHECK(errors("A:0,B@,C") ==
        std::vector<std::string>{"--schedule:1:1: /0: expected a step count 1..999999999 or \"op\" after ':' in \"A:0\"",
                                 "--schedule:1:5: /1: expected a function name after '@' in \"B@\"",
                                 "--schedule:1:8: /2: schedule names thread \"C\", which does not exist"});
  CHECK(errors("[\"A\",") ==
        std::vector<std::string>{
            "--schedule:1:6: JSON syntax error while parsing value - unexpected end of input; expected '[', '{', or a literal"});
  CHECK(errors("[\"A\"] x") ==
        std::vector<std::string>{"--schedule:1:7: JSON syntax error: expected end of input after the JSON document, got 'x'"});
  CHECK(errors("A,B\x1b") == std::vector<std::string>{"--schedule:1:3: /1: schedule names thread \"B\\u001b\", which does not exist"});
}

TEST_CASE("run --schedule: a step that cannot be followed is reported at the step in the option", "[scenarios][loader]") {
  ScenarioSpec s = two_threads().scenarios.at(0);
  s.schedule = schedule_from_option("B*,A:1,B", s);
  try {
    run_scenario(s, *kernel::find_policy("old"), {.file = "s.json"});
    FAIL("a step of a finished thread was followed");
  } catch (const ScenarioError& e) {
    REQUIRE(e.diagnostics().size() == 1);
    CHECK(e.diagnostics()[0].format() ==
          "--schedule:1:8: /2: thread \"B\" has already finished, so it cannot take a step here (under policy \"old\")");
  }
}

}  // namespace
}  // namespace tlbsim::scenarios
