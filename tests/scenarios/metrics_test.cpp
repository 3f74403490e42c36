// SPDX-License-Identifier: MIT
// The detector's vocabulary is one table (src/scenarios/metrics.cpp): every window class has
// exactly one row, names and severities are distinct, the classes rank as docs/detector.md
// says, each row counts what it names, and a livelock is the typed Fault flag, not a note's
// wording. The docs' metric lists are generated from the table (vocabulary_docs_test.cpp).
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "model/pte.h"
#include "scenarios/detector.h"
#include "scenarios/metrics.h"

using namespace tlbsim;
using namespace tlbsim::scenarios;

TEST_CASE("every window class has one row in metrics(), names and severities are distinct", "[scenarios][metrics]") {
  // The class rows name the enumerators 0..n-1, each once: a class added to WindowClass without a
  // row breaks the density (or class_info() throws on its first window in the detector's tests).
  std::set<size_t> classes;
  for (const MetricInfo& m : metrics())
    if (m.window_class) {
      INFO(m.name);
      CHECK(classes.insert(static_cast<size_t>(*m.window_class)).second);
      CHECK(m.metric == Metric::OfClass);
      CHECK(&class_info(*m.window_class) == &m);
      CHECK(to_string(*m.window_class) == m.name);
    } else {
      CHECK(m.metric != Metric::OfClass);
      CHECK_FALSE(m.memory_freed);
    }
  REQUIRE_FALSE(classes.empty());
  CHECK(*classes.rbegin() == classes.size() - 1);
  std::set<std::string_view> names;
  std::set<int> severities;
  for (const MetricInfo& m : metrics()) {
    CHECK(names.insert(m.name).second);
    CHECK(severities.insert(m.severity).second);
    if (m.metric != Metric::OfClass) CHECK(&metric_info(m.metric) == &m);
    CHECK_FALSE(m.counts.empty());
    CHECK_FALSE(m.doc.empty());
    // A row counts one thing: a class, a finding kind, or (windows, observed) the windows themselves.
    CHECK(!(m.window_class && !m.finding.empty()));
  }
  CHECK(metric_names().size() == metrics().size());
  CHECK(find_metric("no-such-metric") == nullptr);
}

TEST_CASE("window classes rank stale < permission < freed < table-freed < reused, and observed findings above all",
          "[scenarios][metrics]") {
  CHECK(severity(WindowClass::Stale) < severity(WindowClass::Permission));
  CHECK(severity(WindowClass::Permission) < severity(WindowClass::Freed));
  CHECK(severity(WindowClass::Freed) < severity(WindowClass::TableFreed));
  CHECK(severity(WindowClass::TableFreed) < severity(WindowClass::Reused));
  // The classes whose memory was freed: the windows a batching strategy must never leave.
  CHECK_FALSE(class_info(WindowClass::Stale).memory_freed);
  CHECK_FALSE(class_info(WindowClass::Permission).memory_freed);
  CHECK(class_info(WindowClass::Freed).memory_freed);
  CHECK(class_info(WindowClass::Reused).memory_freed);
  CHECK(class_info(WindowClass::TableFreed).memory_freed);
  for (const MetricInfo& m : metrics())
    if (m.window_class) {
      CHECK(m.severity < metric_info(Metric::Observed).severity);
      CHECK(m.severity < metric_info(Metric::UseAfterFree).severity);
    }
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

TEST_CASE("an expectation may count one side's caches: cpu: or device: before a metric counted per cache", "[scenarios][metrics]") {
  const auto q = parse_metric("device:after-return");
  REQUIRE(q);
  CHECK(q->info->metric == Metric::AfterReturn);
  CHECK(q->side == HolderSide::Device);
  CHECK(parse_metric("cpu:windows")->side == HolderSide::Cpu);
  CHECK(parse_metric("observed")->side == HolderSide::Any);
  CHECK_FALSE(parse_metric("cpu:livelocks"));  // a livelock is not held in a cache
  CHECK_FALSE(parse_metric("device:transient"));
  CHECK_FALSE(parse_metric("iommu:windows"));
  CHECK_FALSE(parse_metric("device:"));
  // Every metric once, and a side form exactly for the per-holder ones.
  const auto& names = expectation_names();
  for (const MetricInfo& m : metrics()) {
    const std::string n(m.name);
    CHECK(std::count(names.begin(), names.end(), n) == 1);
    CHECK(std::count(names.begin(), names.end(), "device:" + n) == (m.per_holder ? 1 : 0));
    CHECK(std::count(names.begin(), names.end(), "cpu:" + n) == (m.per_holder ? 1 : 0));
  }
}

TEST_CASE("a side's count covers only its caches, and the two sides add up to the whole", "[scenarios][metrics]") {
  // A CPU TLB window, observed, and a device ATC window whose frame is freed and read (use-after-free).
  std::vector<Event> ev;
  uint64_t seq = 1;
  auto add = [&](Event e) {
    e.seq = Seq{seq++};
    ev.push_back(e);
  };
  const uint64_t va = 0x400000;
  for (unsigned l = 4; l >= 2; --l)
    add(Event{.kind = EventKind::PteStore,
              .level = uint8_t(l),
              .mm = MmId{0},
              .func = "s",
              .va = va & ~((uint64_t{1} << (12 + 9 * (l - 1))) - 1),
              .end = (va & ~((uint64_t{1} << (12 + 9 * (l - 1))) - 1)) + (uint64_t{1} << (12 + 9 * (l - 1))),
              .new_val = Pte::table(Pfn{100 + l}).raw()});
  add(Event{.kind = EventKind::PteStore,
            .level = 1,
            .mm = MmId{0},
            .func = "s",
            .va = va,
            .end = va + 4096,
            .new_val = Pte::make(Pfn{7}, true).raw()});
  const Holder cpu{HolderKind::CpuTlb, 0}, atc{HolderKind::Atc, 0};
  for (Holder h : {cpu, atc})
    add(Event{.kind = EventKind::Fill,
              .flags = kEvWrite,
              .level = 1,
              .holder = h,
              .mm = MmId{0},
              .func = "fill",
              .va = va,
              .end = va + 4096,
              .pfn = Pfn{7}});
  add(Event{.kind = EventKind::PteStore,
            .level = 1,
            .mm = MmId{0},
            .func = "clear",
            .va = va,
            .end = va + 4096,
            .old_val = Pte::make(Pfn{7}, true).raw()});
  add(Event{.kind = EventKind::Access, .flags = kEvCached, .holder = cpu, .mm = MmId{0}, .func = "load", .va = va, .pfn = Pfn{7}});
  add(Event{.kind = EventKind::FrameFree, .func = "free", .pfn = Pfn{7}});
  add(Event{.kind = EventKind::Access, .flags = kEvCached, .holder = atc, .mm = MmId{0}, .func = "DMA", .va = va, .pfn = Pfn{7}});
  const DetectorResult r = detect(ev);
  CHECK(r.metric("windows") == 2);
  CHECK(r.metric("cpu:windows") == 1);
  CHECK(r.metric("device:windows") == 1);
  CHECK(r.metric("cpu:observed") == 1);
  CHECK(r.metric("device:observed") == 1);
  CHECK(r.metric("use-after-free") == 1);  // the DMA after the free; the CPU read came before it
  CHECK(r.metric("device:use-after-free") == 1);
  CHECK(r.metric("cpu:use-after-free") == 0);
  for (const MetricInfo& m : metrics())
    if (m.per_holder) {
      const std::string n(m.name);
      CHECK(r.metric("cpu:" + n) + r.metric("device:" + n) == r.metric(n));
    }
}
