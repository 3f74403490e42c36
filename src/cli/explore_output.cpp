// SPDX-License-Identifier: MIT
// The explore report and its JSON (docs/explore.md, "Output" and "--json").
#include "cli/explore_output.h"

#include <algorithm>
#include <cstdio>

#include "cli/cli_common.h"

namespace tlbsim::cli {

using namespace tlbsim::scenarios;

namespace {

std::string format_count(double v) {
  char buf[64];
  if (v < 1e15)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

std::string plural(uint64_t n, const std::string& word) { return std::to_string(n) + " " + word + (n == 1 ? "" : "s"); }

/// The search is bounded: a count "within the bound" means something.
bool bounded(const ExploreResult& r) {
  return r.mode == ExploreOptions::Mode::Exhaustive && r.preemptions >= 0 && !exhaustive_unbounded(r);
}

/// "Never (exhaustive)", "Always (within 2 preemptions)", "Sometimes".
std::string verdict_text(const ExploreResult& r, const PropertyResult& p) {
  const std::string v(to_string(p.verdict));
  return p.verdict == Verdict::Sometimes ? v : v + " (" + verdict_scope(r) + ")";
}

/// What plain enumeration would run: every interleaving, and those within the bound.
std::string naive_text(const ExploreResult& r) {
  std::string out = "naive interleavings " + format_count(r.naive_interleavings);
  if (bounded(r))
    out += ", " + (r.naive_bounded > 0 ? format_count(r.naive_bounded) : std::string("too many to count")) + " within the bound";
  return out;
}

std::string report(const ScenarioSpec& s, const ExploreResult& r, const std::vector<VerdictCheck>& checks) {
  std::string out = s.name + " under " + r.policy + ": " + scope_text(r) + ", " + std::to_string(r.executions) + " executions explored, " +
                    std::to_string(r.pruned) + " pruned, " + plural(r.distinct_outcomes, "distinct outcome") + " (" + naive_text(r) + ")\n";
  size_t w = 0;
  for (const auto& p : r.properties) w = std::max(w, p.name.size());
  for (const auto& p : r.expectations) w = std::max(w, p.name.size() + 7);
  size_t vw = 0;
  for (const auto* list : {&r.properties, &r.expectations})
    for (const auto& p : *list) vw = std::max(vw, verdict_text(r, p).size());
  auto line = [&](const std::string& name, const PropertyResult& p, const char* witness_word, bool show) {
    std::string l = "  " + name + std::string(w - name.size() + 2, ' ');
    const std::string v = verdict_text(r, p);
    l += v + std::string(vw - v.size() + 2, ' ') + std::to_string(p.count) + "/" + std::to_string(r.executions);
    if (show && p.witness) {
      l += "  " + std::string(witness_word) + " " + schedule_text(s, *p.witness);
      if (p.from_stopped) l += " (from the unfinished bound " + std::to_string(r.stopped->preemptions) + ")";
    }
    return l + "\n";
  };
  for (const auto& p : r.properties) out += line(p.name, p, "witness", p.verdict != Verdict::Never);
  for (const auto& p : r.expectations) out += line("expect " + p.name, p, "counterexample", p.verdict != Verdict::Always);
  if (r.budget) {
    out += "  step budget of " + std::to_string(r.max_steps) + " exceeded by " + schedule_text(s, r.budget->schedule) + "\n";
    for (const auto& t : r.budget->threads)
      out += "    " + t.name + ": " + (t.done ? "done" : (t.runnable ? "runnable at " : "blocked at ") + t.next) + "\n";
  }
  if (r.invariant) out += "  model invariant violated by " + schedule_text(s, r.invariant->first) + ": " + r.invariant->second + "\n";
  for (const VerdictCheck& c : checks) {
    std::string word(to_string(c.stated));
    std::transform(word.begin(), word.end(), word.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    out += "  verdict " + c.property + " " + word + ": ";
    switch (c.status) {
      case VerdictCheck::Status::Holds: out += "holds"; break;
      case VerdictCheck::Status::Disagrees: out += "DISAGREES: " + c.detail; break;
      case VerdictCheck::Status::NotEstablished: out += "not established (" + c.detail + ")"; break;
    }
    if (c.status != VerdictCheck::Status::Holds && c.witness) out += ", witness " + schedule_text(s, *c.witness);
    out += "\n";
  }
  return out;
}

nlohmann::ordered_json schedule_json(const ScenarioSpec& s, const std::optional<Schedule>& sched) {
  if (!sched) return nullptr;
  return nlohmann::ordered_json::parse(schedule_text(s, *sched));
}

nlohmann::ordered_json verdict_json(Verdict v) {
  std::string out(to_string(v));
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return out;
}

/// The report of one scenario under one policy as JSON (docs/explore.md, "--json").
nlohmann::ordered_json json_report(const std::string& file, const ScenarioSpec& s, const ExploreResult& r,
                                   const std::vector<VerdictCheck>& checks, uint64_t budget) {
  using J = nlohmann::ordered_json;
  J j;
  j["file"] = file;
  j["scenario"] = s.name;
  j["policy"] = r.policy;
  j["mode"] = r.mode == ExploreOptions::Mode::Random ? "random" : "exhaustive";
  J scope;
  scope["text"] = scope_text(r);
  if (r.mode == ExploreOptions::Mode::Exhaustive) {
    scope["complete"] = r.complete;
    scope["exhaustive"] = exhaustive_unbounded(r);
    scope["preemptions"] = r.preemptions < 0 || exhaustive_unbounded(r) ? J(nullptr) : J(r.preemptions);
    scope["never_and_always_hold"] = verdict_scope(r);
    if (r.stopped)
      scope["stopped_round"] = J{{"preemptions", r.stopped->preemptions}, {"executions", r.stopped->executions}};
    else
      scope["stopped_round"] = nullptr;
    scope["budget_executions"] = budget ? J(budget) : J(nullptr);
    scope["budget_exceeded"] = !r.complete || r.stopped.has_value();
    scope["time_budget_hit"] = r.deadline_hit;
    scope["rounds"] = r.rounds;
    scope["executions_spent"] = r.spent;
  }
  j["scope"] = scope;
  j["executions"] = r.executions;
  j["pruned"] = r.pruned;
  j["distinct_outcomes"] = r.distinct_outcomes;
  j["naive_interleavings"] = r.naive_interleavings;
  j["naive_within_bound"] = bounded(r) && r.naive_bounded > 0 ? J(r.naive_bounded) : J(nullptr);
  auto props = [&](const std::vector<PropertyResult>& list, const char* witness_key) {
    J a = J::array();
    for (const PropertyResult& p : list) {
      J o;
      o["name"] = p.name;
      o["verdict"] = verdict_json(p.verdict);
      o["scope"] = p.verdict == Verdict::Sometimes ? "witnessed" : verdict_scope(r);
      o["count"] = p.count;
      o[witness_key] = schedule_json(s, p.witness);
      o["from_stopped_round"] = p.from_stopped;
      a.push_back(std::move(o));
    }
    return a;
  };
  j["properties"] = props(r.properties, "witness");
  j["expectations"] = props(r.expectations, "counterexample");
  J v = J::array();
  for (const VerdictCheck& c : checks) {
    J o;
    o["property"] = c.property;
    o["stated"] = verdict_json(c.stated);
    o["found"] = verdict_json(c.found);
    o["status"] = std::string(to_string(c.status));
    o["detail"] = c.detail;
    o["witness"] = schedule_json(s, c.witness);
    v.push_back(std::move(o));
  }
  j["verdicts"] = v;
  if (r.budget) {
    J b;
    b["max_steps"] = r.max_steps;
    b["schedule"] = schedule_json(s, r.budget->schedule);
    J th = J::array();
    for (const auto& t : r.budget->threads)
      th.push_back(J{{"name", t.name},
                     {"state", t.done       ? "done"
                               : t.runnable ? "runnable"
                                            : "blocked"},
                     {"at", t.done ? J(nullptr) : J(t.next)}});
    b["threads"] = th;
    j["step_budget_exceeded"] = b;
  } else {
    j["step_budget_exceeded"] = nullptr;
  }
  if (r.invariant)
    j["invariant"] = J{{"schedule", schedule_json(s, r.invariant->first)}, {"check", r.invariant->second}};
  else
    j["invariant"] = nullptr;
  return j;
}

}  // namespace

void ExploreOutput::add(const std::string& file, const ScenarioSpec& s, const ExploreResult& r, uint64_t budget) {
  const std::vector<VerdictCheck> checks = check_verdicts(s, r);
  for (const VerdictCheck& c : checks) {
    m_disagree += c.status == VerdictCheck::Status::Disagrees;
    m_unestablished += c.status == VerdictCheck::Status::NotEstablished;
  }
  m_text += report(s, r, checks);
  m_results.push_back(json_report(file, s, r, checks, budget));
}

std::string ExploreOutput::text() const {
  std::string out = m_text;
  if (m_disagree || m_unestablished)
    out += std::to_string(m_disagree) + " stated verdict" + (m_disagree == 1 ? "" : "s") + " disagreeing, " +
           std::to_string(m_unestablished) + " not established\n";
  return out;
}

std::string ExploreOutput::json() const {
  nlohmann::ordered_json doc;
  doc["results"] = m_results;
  doc["verdicts_disagreeing"] = m_disagree;
  doc["verdicts_not_established"] = m_unestablished;
  doc["exit"] = exit_status();
  return doc.dump(2) + "\n";
}

int ExploreOutput::exit_status() const { return m_disagree ? kExitExpectation : kExitOk; }

}  // namespace tlbsim::cli
