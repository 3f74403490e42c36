// SPDX-License-Identifier: MIT
// trace_json(): the Chrome/Perfetto trace-event file of a run. The rules checked here are the
// importers' own: Perfetto's SliceTracker drops an "X" span that overlaps its predecessor on the
// same track partly; Catapult throws on a cname outside its reserved colour names.
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "kernel/policy.h"
#include "scenarios/detector.h"
#include "scenarios/loader.h"
#include "scenarios/runner.h"
#include "scenarios/witness_export.h"

using namespace tlbsim;
using namespace tlbsim::scenarios;
using json = nlohmann::json;

namespace {

const ScenarioFile& bundled() {
  static const ScenarioFile f = load_scenario_file(std::string(TLBSIM_SOURCE_DIR) + "/scenarios.json");
  return f;
}

const ScenarioSpec& scenario(const std::string& name) {
  for (const ScenarioSpec& s : bundled().scenarios)
    if (s.name == name) return s;
  FAIL("no bundled scenario " << name);
  throw;
}

/// Spans on one track that neither nest nor follow each other.
int partial_overlaps(std::vector<std::pair<uint64_t, uint64_t>> spans) {
  std::sort(spans.begin(), spans.end(), [](auto a, auto b) { return a.first != b.first ? a.first < b.first : a.second > b.second; });
  std::vector<uint64_t> open;
  int bad = 0;
  for (auto [b, e] : spans) {
    while (!open.empty() && open.back() <= b) open.pop_back();
    if (!open.empty() && e > open.back())
      ++bad;
    else
      open.push_back(e);
  }
  return bad;
}

}  // namespace

TEST_CASE("trace_json: every track's spans nest, and every window is drawn once", "[scenarios][trace]") {
  // Under old, intel-svm-full-range-decode opens a window per page on the ATC and IOTLB and
  // closes them in the same order: 64 windows that overlap without nesting on each cache.
  for (const char* name : {"intel-svm-full-range-decode", "khugepaged-retract-file-table", "nested-finish-mmu-table-free"})
    for (const char* pol : {"old", "fixed"}) {
      CAPTURE(name, pol);
      const ScenarioSpec& s = scenario(name);
      const RunResult r = run_scenario(s, *kernel::find_policy(pol));
      const json doc = json::parse(trace_json(s, r));
      REQUIRE(doc.contains("traceEvents"));
      CHECK_FALSE(doc.contains("displayTimeUnit"));  // older Perfetto reads "ns" as the unit of ts
      std::map<int, std::vector<std::pair<uint64_t, uint64_t>>> by_tid;
      std::set<int> tids;
      std::set<int> pids;
      size_t windows = 0;
      for (const json& e : doc["traceEvents"]) {
        REQUIRE(e["pid"].is_number_integer());
        pids.insert(e["pid"].get<int>());
        if (e.contains("tid")) tids.insert(e["tid"].get<int>());
        if (e["ph"] != "X") continue;
        REQUIRE(e["dur"].get<uint64_t>() >= 1);
        const uint64_t b = e["ts"].get<uint64_t>();
        by_tid[e["tid"].get<int>()].emplace_back(b, b + e["dur"].get<uint64_t>());
        if (e["cat"] == "window") {
          ++windows;
          static const std::set<std::string> kKnown = {"cq_build_running", "thread_state_iowait", "bad",
                                                       "terrible",         "cq_build_failed",     "generic_work"};
          CHECK(kKnown.count(e["cname"].get<std::string>()) == 1);
        }
      }
      CHECK(windows == detect(r).windows.size());
      for (const auto& [tid, spans] : by_tid) {
        CAPTURE(tid);
        CHECK(partial_overlaps(spans) == 0);
      }
      REQUIRE(pids.size() == 1);
      CHECK(tids.count(*pids.begin()) == 0);  // Perfetto takes tid == pid for the main thread
    }
}
