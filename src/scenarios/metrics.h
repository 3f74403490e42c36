// SPDX-License-Identifier: MIT
#pragma once
/// The detector's vocabulary, declared once: the window classes and the metrics that
/// expectations, verdicts, the reports, the JSON, the choice of witness and `tlbsim list` name.
/// Adding a class is a WindowClass enumerator, a row in metrics() and its detection in
/// detector.cpp; tests/scenarios/metrics_test.cpp fails if a class has no row.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tlbsim::scenarios {

/// A stale-translation window's class (docs/detector.md). A window only gets worse: its class
/// is the most severe one it reached.
/// A new class goes last, and kWindowClasses counts to it (the trace colour's switch in
/// witness_export.cpp and tests/scenarios/metrics_test.cpp catch a class left out).
enum class WindowClass : uint8_t { Stale, Permission, Freed, Reused, TableFreed };
inline constexpr size_t kWindowClasses = static_cast<size_t>(WindowClass::TableFreed) + 1;

enum class Metric : uint8_t {
  Windows,
  Stale,
  Permission,
  Freed,
  Reused,
  TableFreed,
  Observed,
  AfterReturn,
  UsedAfterReturn,
  LostWrites,
  UseAfterFree,
  Livelocks,
  Transient
};

struct MetricInfo {
  Metric metric;
  std::string_view name;    ///< as expectations, verdicts, reports and JSON spell it
  std::string_view counts;  ///< one line for `tlbsim list` (docs/scenario-format.md has the long form)
  /// How bad one occurrence is (higher: worse), for the witness a report draws: an observed
  /// corruption before an observed window, any observed window before a latent one, a latent
  /// window by its class.
  int severity;
  std::optional<WindowClass> window_class;  ///< the windows of this class, if it counts a class
  std::string_view finding;                 ///< the detector findings of this kind, if it counts findings
  /// Counts something held in a cache (a window, an access or walk through one), so an
  /// expectation can ask for one side only ("device:after-return").
  bool per_holder = true;
};

/// Whose translation caches a count covers: all, the CPUs' (TLB, paging-structure cache), or the
/// device side's (IOTLB, IOMMU walk cache, device ATC, shadow MMU; Holder::is_device_side()).
enum class HolderSide : uint8_t { Any, Cpu, Device };

/// A metric as an expectation names it: "after-return", or with a side, "device:after-return".
struct QualifiedMetric {
  const MetricInfo* info = nullptr;
  HolderSide side = HolderSide::Any;
};
/// nullopt for an unknown name, an unknown side, or a side on a metric that is not per_holder.
std::optional<QualifiedMetric> parse_metric(std::string_view name);
/// The side's prefix: "", "cpu:", "device:".
std::string_view side_prefix(HolderSide side);
/// Every name an expectation may use, in report order: each metric, then its cpu: and device:
/// forms when it is per_holder.
const std::vector<std::string>& expectation_names();

/// Every metric, in report order.
const std::vector<MetricInfo>& metrics();
const MetricInfo& metric_info(Metric m);
const MetricInfo* find_metric(std::string_view name);
/// The metrics' names, in report order.
const std::vector<std::string>& metric_names();

/// A class's name ("table-freed") and severity, from its row in metrics().
std::string_view to_string(WindowClass c);
int severity(WindowClass c);

}  // namespace tlbsim::scenarios
