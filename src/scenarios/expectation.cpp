// SPDX-License-Identifier: MIT
#include "scenarios/expectation.h"

#include <charconv>

namespace tlbsim::scenarios {

namespace {

constexpr std::string_view kOpInfix = ":op ";
constexpr std::string_view kErrno = "errno";

}  // namespace

std::optional<OpOutcomeKey> parse_op_outcome_key(std::string_view key) {
  const size_t infix = key.find(kOpInfix);
  if (infix == std::string_view::npos || infix == 0) return std::nullopt;
  OpOutcomeKey k;
  k.thread = std::string(key.substr(0, infix));
  const std::string_view rest = key.substr(infix + kOpInfix.size());
  const size_t colon = rest.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  const std::string_view index = rest.substr(0, colon);
  const auto [end, ec] = std::from_chars(index.data(), index.data() + index.size(), k.op);
  if (ec != std::errc{} || end != index.data() + index.size()) return std::nullopt;
  const std::string_view what = rest.substr(colon + 1);
  if (what == kErrno) return k;
  k.metric = find_metric(what);
  if (!k.metric || !k.metric->outcome) return std::nullopt;
  return k;
}

std::vector<std::string> op_outcome_names() {
  std::vector<std::string> names{std::string(kErrno)};
  for (const MetricInfo& m : metrics())
    if (m.outcome) names.emplace_back(m.name);
  return names;
}

std::vector<std::pair<std::string, Bound>> ordered_expectations(const std::map<std::string, Bound>& expect) {
  std::vector<std::pair<std::string, Bound>> out;
  for (const std::string& m : expectation_names())
    if (auto b = expect.find(m); b != expect.end()) out.emplace_back(m, b->second);
  for (const auto& [key, bound] : expect)
    if (parse_op_outcome_key(key)) out.emplace_back(key, bound);
  return out;
}

uint64_t expectation_value(const std::string& key, const DetectorResult& d, const RunResult& r) {
  const std::optional<OpOutcomeKey> k = parse_op_outcome_key(key);
  if (!k) return d.metric(key);
  int thread = -1;
  for (size_t i = 0; i < r.threads.size(); ++i)
    if (r.threads[i].name == k->thread) thread = static_cast<int>(i);
  uint64_t n = 0;
  for (const Finding& f : d.findings) {
    if (f.thread != thread || thread < 0 || f.op != static_cast<int>(k->op)) continue;
    if (!k->metric) {
      if (f.kind == metric_info(Metric::Errors).finding) return f.code;  // the call returns at its first error
      continue;
    }
    n += f.kind == k->metric->finding;
  }
  return n;
}

}  // namespace tlbsim::scenarios
