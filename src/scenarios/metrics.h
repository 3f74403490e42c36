// SPDX-License-Identifier: MIT
#pragma once
/// The detector's vocabulary, declared once: the window classes and the metrics that
/// expectations, verdicts, the reports, the JSON, the choice of witness, `tlbsim list` and the
/// generated parts of the docs (vocabulary_docs.h) name.
///
/// Adding a window class is a WindowClass enumerator here, its row in metrics() (metrics.cpp:
/// name, descriptions, severity, trace colour, whether its memory was freed) and its detection
/// in detector.cpp. Everything else reads the row; tests/scenarios/metrics_test.cpp fails for a
/// class without a row, and the docs test for docs not regenerated (scripts/update-docs.sh).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tlbsim::scenarios {

/// A stale-translation window's class (docs/detector.md). A window only gets worse: its class
/// is the most severe one it reached (severity(), from its row).
enum class WindowClass : uint8_t { Stale, Permission, Freed, Reused, TableFreed };

/// What a row of metrics() counts. The rows of window classes need no enumerator of their own:
/// OfClass and the row's window_class say it.
enum class Metric : uint8_t {
  Windows,
  OfClass,
  Observed,
  AfterReturn,
  UsedAfterReturn,
  LostWrites,
  UseAfterFree,
  Livelocks,
  Errors,
  Signals,
  FaultRejects,
  Transient
};

struct MetricInfo {
  Metric metric;
  std::string_view name;    ///< as expectations, verdicts, reports and JSON spell it
  std::string_view counts;  ///< one line for `tlbsim list`
  std::string_view doc;     ///< the long form, for the metric table of docs/scenario-format.md
  /// How bad one occurrence is (higher: worse), for the witness a report draws: an observed
  /// corruption before an observed window, any observed window before a latent one, a latent
  /// window by its class.
  int severity;
  std::optional<WindowClass> window_class;  ///< the windows of this class, if it counts a class
  std::string_view finding;                 ///< the detector findings of this kind, if it counts findings
  /// Counts something held in a cache (a window, an access or walk through one), so an
  /// expectation can ask for one side only ("device:after-return").
  bool per_holder = true;
  /// For a class: whether the frame or table behind the window was freed (batching counts those
  /// as the windows a strategy must never leave).
  bool memory_freed = false;
  /// For a class: its colour in a Chrome trace, one of Catapult's reserved names
  /// (tracing/base/color_scheme.html) that every version of chrome://tracing knows: an unknown
  /// name makes its importer throw. Perfetto ignores it and colours a slice by its name.
  std::string_view trace_colour = "generic_work";
  /// Counts what user space or a device was told (an error return, a signal, a rejected page
  /// request): the reports list each one with its op.
  bool outcome = false;
};

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

/// Whether findings of `kind` are outcomes (MetricInfo::outcome).
bool is_outcome_finding(std::string_view kind);

/// A class's row in metrics(), its name ("table-freed") and severity.
const MetricInfo& class_info(WindowClass c);
std::string_view to_string(WindowClass c);
int severity(WindowClass c);

}  // namespace tlbsim::scenarios
