// SPDX-License-Identifier: MIT
#pragma once
/// What a scenario's "expect" can bound, and the value each key compares: a metric (metrics(),
/// "after-return", "device:after-return"), or one op's outcome. An op's outcome is named by its
/// thread and its index in that thread's ops: "T1:op 2:errno" is the errno the op returned (a
/// name such as "EACCES", or "none"), and "T1:op 2:errors", "T1:op 2:signals" and
/// "T1:op 2:fault-rejects" count that op's findings of the outcome metrics (MetricInfo::outcome),
/// so a scenario can say which op a kernel refuses, not only how many are.
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scenarios/detector.h"
#include "scenarios/metrics.h"
#include "scenarios/runner.h"
#include "scenarios/spec.h"

namespace tlbsim::scenarios {

/// "T1:op 2:errno" or "T1:op 2:signals", parsed (the thread is checked against the scenario by
/// validation, not here).
struct OpOutcomeKey {
  std::string thread;
  size_t op = 0;
  /// The outcome metric counted, or nullptr for "errno".
  const MetricInfo* metric = nullptr;
};
/// nullopt unless `key` is THREAD:op N:errno or THREAD:op N:M with M an outcome metric.
std::optional<OpOutcomeKey> parse_op_outcome_key(std::string_view key);
/// The names after "op N:" that parse_op_outcome_key() accepts: "errno", then the outcome metrics.
std::vector<std::string> op_outcome_names();

/// One policy's expectations in report order: the metrics in metrics() order, then the op
/// outcomes by key. Reports, `tlbsim explore` and the tests all judge them in this order.
std::vector<std::pair<std::string, Bound>> ordered_expectations(const std::map<std::string, Bound>& expect);

/// The value an expectation's bound is compared with in run `r`, judged as `d`: a metric's
/// count, an op's outcome count, or the errno number the op's first error returned (0: none).
uint64_t expectation_value(const std::string& key, const DetectorResult& d, const RunResult& r);

}  // namespace tlbsim::scenarios
