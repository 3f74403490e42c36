// SPDX-License-Identifier: MIT
#include "scenarios/explore_part.h"

namespace tlbsim::scenarios {

namespace {

constexpr const char* kInvariant = "model invariant violated";

/// Keep `w` the least of itself and `s` (per witness_less).
void keep_least(Schedule& w, const Schedule& s) {
  if (witness_less(s, w)) w = s;
}

}  // namespace

void Aggregate::add_invariant(const Schedule& sched, std::string what) {
  // Keep the message independent of where the sources live: "/x/y/src/model/a.h:3: ..." -> "src/model/a.h:3: ...".
  if (const size_t src = what.find("src/"); src != std::string::npos && what.find(':') > src) what.erase(0, src);
  ++executions;
  outcomes.insert("invariant violated: " + what);
  auto [it, fresh] = props.try_emplace(kInvariant, 0, sched);
  ++it->second.first;
  if (!fresh) keep_least(it->second.second, sched);
  if (!invariant || witness_less(sched, invariant->first)) invariant = {sched, what};
}

void Aggregate::add(const std::vector<std::string>& properties, const std::vector<bool>& expectations, const std::string& outcome,
                    const Schedule& sched, const RunResult& r) {
  ++executions;
  outcomes.insert(outcome);
  for (const std::string& p : properties) {
    auto [it, fresh] = props.try_emplace(p, 0, sched);
    ++it->second.first;
    if (!fresh) keep_least(it->second.second, sched);
  }
  if (expect.size() < expectations.size()) expect.resize(expectations.size());
  for (size_t i = 0; i < expectations.size(); ++i) {
    if (expectations[i])
      ++expect[i].first;
    else if (!expect[i].second || witness_less(sched, *expect[i].second))
      expect[i].second = sched;
  }
  if (r.status == RunResult::Status::StepBudget && (!budget || witness_less(sched, budget->schedule)))
    budget = BudgetExceeded{sched, r.threads};
  if (!first || witness_less(sched, *first)) first = sched;
}

void Aggregate::merge(const Aggregate& o) {
  stopped = stopped || o.stopped;
  bound_cut = bound_cut || o.bound_cut;
  deadline_hit = deadline_hit || o.deadline_hit;
  executions += o.executions;
  pruned += o.pruned;
  spent += o.spent;
  outcomes.insert(o.outcomes.begin(), o.outcomes.end());
  for (const auto& [name, cw] : o.props) {
    auto [it, fresh] = props.try_emplace(name, cw);
    if (fresh) continue;
    it->second.first += cw.first;
    keep_least(it->second.second, cw.second);
  }
  if (expect.size() < o.expect.size()) expect.resize(o.expect.size());
  for (size_t i = 0; i < o.expect.size(); ++i) {
    expect[i].first += o.expect[i].first;
    if (o.expect[i].second && (!expect[i].second || witness_less(*o.expect[i].second, *expect[i].second)))
      expect[i].second = o.expect[i].second;
  }
  if (o.budget && (!budget || witness_less(o.budget->schedule, budget->schedule))) budget = o.budget;
  if (o.first && (!first || witness_less(*o.first, *first))) first = o.first;
  if (o.invariant && (!invariant || witness_less(o.invariant->first, invariant->first))) invariant = o.invariant;
}

}  // namespace tlbsim::scenarios
