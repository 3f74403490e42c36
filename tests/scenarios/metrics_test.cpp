// SPDX-License-Identifier: MIT
// The detector's vocabulary is one table (src/scenarios/metrics.cpp): every window class has
// exactly one row, names and severities are distinct, the classes rank as docs/detector.md
// says, each row counts what it names, the docs list the same metrics in the same order, and
// a livelock is the typed Fault flag, not a note's wording.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <sstream>

#include "scenarios/detector.h"
#include "scenarios/metrics.h"

using namespace tlbsim;
using namespace tlbsim::scenarios;

TEST_CASE("every window class has one row in metrics(); names and severities are distinct", "[scenarios][metrics]") {
  for (size_t c = 0; c < kWindowClasses; ++c) {
    const auto cls = static_cast<WindowClass>(c);
    size_t rows = 0;
    for (const MetricInfo& m : metrics()) rows += m.window_class == cls;
    INFO("window class " << c);
    CHECK(rows == 1);
    CHECK(find_metric(to_string(cls))->window_class == cls);
  }
  size_t class_rows = 0;
  for (const MetricInfo& m : metrics()) class_rows += m.window_class.has_value();
  CHECK(class_rows == kWindowClasses);  // no row for a class beyond kWindowClasses
  std::set<std::string_view> names;
  std::set<int> severities;
  for (const MetricInfo& m : metrics()) {
    CHECK(names.insert(m.name).second);
    CHECK(severities.insert(m.severity).second);
    CHECK(&metric_info(m.metric) == &m);
    CHECK_FALSE(m.counts.empty());
    // A row counts one thing: a class, a finding kind, or (windows, observed) the windows themselves.
    CHECK(!(m.window_class && !m.finding.empty()));
  }
  CHECK(metric_names().size() == metrics().size());
  CHECK(find_metric("no-such-metric") == nullptr);
}

TEST_CASE("window classes rank stale < permission < freed < table-freed < reused, and observed findings above all", "[scenarios][metrics]") {
  CHECK(severity(WindowClass::Stale) < severity(WindowClass::Permission));
  CHECK(severity(WindowClass::Permission) < severity(WindowClass::Freed));
  CHECK(severity(WindowClass::Freed) < severity(WindowClass::TableFreed));
  CHECK(severity(WindowClass::TableFreed) < severity(WindowClass::Reused));
  for (const MetricInfo& m : metrics())
    if (m.window_class) {
      CHECK(m.severity < metric_info(Metric::Observed).severity);
      CHECK(m.severity < metric_info(Metric::UseAfterFree).severity);
    }
}

TEST_CASE("docs/scenario-format.md lists the metrics of metrics(), in its order", "[scenarios][metrics]") {
  std::ifstream in(std::string(TLBSIM_SOURCE_DIR) + "/docs/scenario-format.md");
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  const size_t from = doc.find("| metric | counts |");
  REQUIRE(from != std::string::npos);
  std::vector<std::string> listed;
  std::istringstream lines(doc.substr(from));
  std::string line;
  std::getline(lines, line);  // header
  std::getline(lines, line);  // |---|
  while (std::getline(lines, line) && line.rfind("| `", 0) == 0) listed.push_back(line.substr(3, line.find('`', 3) - 3));
  CHECK(listed == metric_names());
}

TEST_CASE("a livelock is a Fault that gave up (kEvGaveUp), whatever its note says", "[scenarios][metrics]") {
  std::vector<Event> ev;
  Event gave_up{.seq = Seq{1}, .kind = EventKind::Fault, .flags = kEvGaveUp, .func = "exc_page_fault"};
  gave_up.note = "any wording";
  Event worded{.seq = Seq{2}, .kind = EventKind::Fault, .func = "exc_page_fault"};
  worded.note = "livelock: a note alone is not one";
  ev.push_back(gave_up);
  ev.push_back(worded);
  const DetectorResult r = detect(ev);
  CHECK(r.metric("livelocks") == 1);
  CHECK(r.metric(std::string(metric_info(Metric::Livelocks).name)) == 1);
}
