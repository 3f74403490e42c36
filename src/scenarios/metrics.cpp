// SPDX-License-Identifier: MIT
#include "scenarios/metrics.h"

#include <stdexcept>

namespace tlbsim::scenarios {

const std::vector<MetricInfo>& metrics() {
  static const std::vector<MetricInfo> all{
      {Metric::Windows, "windows", "stale-translation windows: a cached translation that granted more than the page table", 1, {}, ""},
      {Metric::Stale, "stale", "windows of class stale: the frame is no longer mapped there, still its owner's", 3, WindowClass::Stale, ""},
      {Metric::Permission, "permission", "windows of class permission: writable while the PTE is read-only", 4, WindowClass::Permission,
       ""},
      {Metric::Freed, "freed", "windows of class freed: the frame was freed while the window was open", 5, WindowClass::Freed, ""},
      {Metric::Reused, "reused", "windows of class reused: the frame was freed and allocated again", 7, WindowClass::Reused, ""},
      {Metric::TableFreed, "table-freed", "windows of class table-freed: a walk-cache entry's page-table page was freed", 6,
       WindowClass::TableFreed, ""},
      {Metric::Observed, "observed", "windows with an access through the stale entry while open", 9, {}, ""},
      {Metric::AfterReturn, "after-return", "windows still open when the op whose PTE change opened them had returned", 8, {}, ""},
      {Metric::UsedAfterReturn,
       "used-after-return",
       "accesses through a stale entry after the op that made it stale had returned",
       10,
       {},
       ""},
      {Metric::LostWrites,
       "lost-writes",
       "writes through a stale entry to a frame already copied away (COW, migration)",
       11,
       {},
       "lost-write"},
      {Metric::UseAfterFree,
       "use-after-free",
       "accesses or walks through a stale entry to a freed or reused frame or table",
       12,
       {},
       "use-after-free"},
      {Metric::Livelocks, "livelocks", "accesses that faulted repeatedly without progress", 2, {}, "livelock", false},
      {Metric::Transient,
       "transient",
       "windows opened and closed within one scheduler step with no access: in no count above",
       0,
       {},
       "",
       false},
  };
  return all;
}

const MetricInfo& metric_info(Metric m) {
  for (const MetricInfo& i : metrics())
    if (i.metric == m) return i;
  throw std::logic_error("metric without a row in metrics()");
}

const MetricInfo* find_metric(std::string_view name) {
  for (const MetricInfo& i : metrics())
    if (i.name == name) return &i;
  return nullptr;
}

const std::vector<std::string>& metric_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const MetricInfo& i : metrics()) n.emplace_back(i.name);
    return n;
  }();
  return names;
}

std::string_view side_prefix(HolderSide side) {
  switch (side) {
    case HolderSide::Any: return "";
    case HolderSide::Cpu: return "cpu:";
    case HolderSide::Device: return "device:";
  }
  return "";
}

std::optional<QualifiedMetric> parse_metric(std::string_view name) {
  QualifiedMetric q;
  for (HolderSide side : {HolderSide::Cpu, HolderSide::Device}) {
    const std::string_view p = side_prefix(side);
    if (name.substr(0, p.size()) == p) {
      q.side = side;
      name.remove_prefix(p.size());
      break;
    }
  }
  q.info = find_metric(name);
  if (!q.info || (q.side != HolderSide::Any && !q.info->per_holder)) return std::nullopt;
  return q;
}

const std::vector<std::string>& expectation_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const MetricInfo& i : metrics()) {
      n.emplace_back(i.name);
      if (!i.per_holder) continue;
      for (HolderSide side : {HolderSide::Cpu, HolderSide::Device}) n.push_back(std::string(side_prefix(side)) + std::string(i.name));
    }
    return n;
  }();
  return names;
}

namespace {

const MetricInfo& class_row(WindowClass c) {
  for (const MetricInfo& i : metrics())
    if (i.window_class == c) return i;
  throw std::logic_error("window class without a row in metrics()");
}

}  // namespace

std::string_view to_string(WindowClass c) { return class_row(c).name; }
int severity(WindowClass c) { return class_row(c).severity; }

}  // namespace tlbsim::scenarios
