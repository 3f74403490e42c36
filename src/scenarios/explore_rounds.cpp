// SPDX-License-Identifier: MIT
// Iterative context bounding over explore(), under an execution budget and an optional
// deadline; the scope of what the search established; stated verdicts against it.
#include <algorithm>

#include "scenarios/explore.h"

namespace tlbsim::scenarios {

namespace {

std::string preemptions_text(int k) { return std::to_string(k) + (k == 1 ? " preemption" : " preemptions"); }

bool holds_somewhere(const PropertyResult& p) { return p.verdict != Verdict::Never; }
bool fails_somewhere(const PropertyResult& p) { return p.verdict != Verdict::Always; }

/// `done` (a completed round) with what the stopped deeper round `part` saw: a property that
/// held, or failed, in one of its executions did so in a real schedule, so Never or Always
/// turns into Sometimes; nothing else changes (a universal claim stays the completed round's).
void merge_stopped(PropertyResult& done, const PropertyResult& part, bool counterexample) {
  const bool holds = holds_somewhere(done) || holds_somewhere(part);
  const bool fails = fails_somewhere(done) || fails_somewhere(part);
  if (!(holds && fails) || done.verdict == Verdict::Sometimes) return;
  // The witness shows the property (or, for an expectation, its failure).
  const bool need_witness = counterexample ? done.verdict == Verdict::Always : done.verdict == Verdict::Never;
  done.verdict = Verdict::Sometimes;
  if (need_witness && part.witness) {
    done.witness = part.witness;
    done.from_stopped = true;
  }
}

void merge_list(std::vector<PropertyResult>& done, const std::vector<PropertyResult>& part, bool counterexample) {
  for (const PropertyResult& p : part) {
    auto it = std::find_if(done.begin(), done.end(), [&](const PropertyResult& d) { return d.name == p.name; });
    if (it != done.end()) {
      merge_stopped(*it, p, counterexample);
    } else if (holds_somewhere(p) && !counterexample) {  // a finding only the deeper round met
      PropertyResult q{.name = p.name, .verdict = Verdict::Sometimes, .count = 0, .witness = p.witness, .from_stopped = true};
      done.push_back(std::move(q));
    }
  }
}

}  // namespace

ExploreResult explore_rounds(const ScenarioSpec& s, const kernel::Policy& policy, const ExploreOptions& opt, std::optional<int> requested) {
  if (opt.mode != ExploreOptions::Mode::Exhaustive) return explore(s, policy, opt);
  uint64_t spent = 0;
  int rounds = 0;
  /// One search at `bound` within the remaining budget.
  auto round = [&](int bound) {
    ExploreOptions o = opt;
    o.preemptions = bound;
    if (opt.max_executions) o.max_executions = opt.max_executions - spent;
    ExploreResult r = explore(s, policy, o);
    spent += r.spent;
    ++rounds;
    return r;
  };
  auto finish = [&](ExploreResult r) {
    r.spent = spent;
    r.rounds = rounds;
    return r;
  };
  if (requested) return finish(round(*requested));
  // First the whole search, unbounded, within two thirds of the budget: where the trace count
  // allows, it is the answer ("exhaustive (no bound)"), and costs less than the rounds that would
  // lead up to it (each round repeats the smaller bounds' work). Otherwise iterative context
  // bounding from the floor spends the rest.
  std::optional<ExploreResult> unbounded;
  if (opt.max_executions) {
    ExploreOptions o = opt;
    o.preemptions = -1;
    o.max_executions = std::max<uint64_t>(1, opt.max_executions * 2 / 3);
    ExploreResult r = explore(s, policy, o);
    spent += r.spent;
    ++rounds;
    if (r.complete) return finish(std::move(r));
    unbounded = std::move(r);
  }
  std::optional<ExploreResult> done;
  for (int bound = s.explore_preemptions.value_or(0);; ++bound) {
    const bool out_of_budget =
        (opt.max_executions && spent >= opt.max_executions) || (opt.deadline && std::chrono::steady_clock::now() >= *opt.deadline);
    // The unbounded attempt spent the whole budget (a budget of 1 execution): no round can start,
    // since a round given 0 executions would run without a limit.
    if (out_of_budget && !done && unbounded && opt.max_executions && spent >= opt.max_executions) return finish(*unbounded);
    if (out_of_budget && done) {  // the next round could not start: it is stopped at 0
      done->stopped = StoppedRound{.preemptions = bound, .executions = 0};
      done->deadline_hit = done->deadline_hit || !(opt.max_executions && spent >= opt.max_executions);
      return finish(*done);
    }
    ExploreResult r = round(bound);
    if (!r.complete) {
      if (!done) return finish(r);  // not even the first round finished
      done->stopped = StoppedRound{.preemptions = bound, .executions = r.spent};
      done->deadline_hit = done->deadline_hit || r.deadline_hit;
      merge_list(done->properties, r.properties, false);
      merge_list(done->expectations, r.expectations, true);
      return finish(*done);
    }
    if (!r.bound_cut) return finish(r);  // the bound kept nothing out: exhaustive
    done = std::move(r);
  }
}

namespace {
/// Why cut_short(r): what a reader must know before trusting a Never or an Always.
std::string cut_short_text(const ExploreResult& r) {
  if (r.budget) return "executions cut at the step budget of " + std::to_string(r.max_steps);
  if (r.invariant) return "an execution ended at a model invariant violation";
  return "";
}
}  // namespace

std::string scope_text(const ExploreResult& r) {
  if (r.mode == ExploreOptions::Mode::Random) return "random";
  std::string out;
  if (!r.complete) {
    out = r.preemptions < 0 ? "not exhaustive: the unbounded search" : "not exhaustive: bound " + std::to_string(r.preemptions);
    out += " not finished within the budget (stopped after " + std::to_string(r.spent) + " executions)";
  } else if (exhaustive_unbounded(r)) {
    out = "exhaustive (no bound)";
  } else {
    out = "exhaustive up to " + preemptions_text(r.preemptions);
    if (r.stopped)
      out += "; bound " + std::to_string(r.stopped->preemptions) + " not finished within the budget (stopped after " +
             std::to_string(r.stopped->executions) + " executions)";
  }
  if (r.deadline_hit) out += " [time budget hit: depends on machine speed]";
  if (cut_short(r)) out += " [" + cut_short_text(r) + ": no Never or Always established]";
  return out;
}

std::string verdict_scope(const ExploreResult& r) {
  if (r.mode == ExploreOptions::Mode::Random) return "random sample";
  if (!r.complete) return "not established: search not finished";
  if (cut_short(r)) return "not established: " + cut_short_text(r);
  if (exhaustive_unbounded(r)) return "exhaustive";
  return "within " + preemptions_text(r.preemptions);
}

std::string_view to_string(VerdictCheck::Status s) {
  switch (s) {
    case VerdictCheck::Status::Holds: return "holds";
    case VerdictCheck::Status::Disagrees: return "disagrees";
    case VerdictCheck::Status::NotEstablished: return "not established";
  }
  return "?";
}

std::vector<VerdictCheck> check_verdicts(const ScenarioSpec& s, const ExploreResult& r) {
  std::vector<VerdictCheck> out;
  const auto it = s.verdicts.find(r.policy);
  if (it == s.verdicts.end()) return out;
  // Never and Always hold over every schedule: the search covered all of them, and none was
  // cut short before its end.
  const bool proof = exhaustive_unbounded(r) && !cut_short(r);
  std::string limit;
  if (r.mode == ExploreOptions::Mode::Random)
    limit = "random sample";
  else if (!r.complete)
    limit = "search not finished";
  else if (cut_short(r))
    limit = cut_short_text(r);
  else
    limit = "bounded: within " + preemptions_text(r.preemptions);
  for (const auto& [name, word] : it->second) {
    VerdictCheck c;
    c.property = name;
    c.stated = word == "never" ? Verdict::Never : word == "always" ? Verdict::Always : Verdict::Sometimes;
    // A structured binding is not captured by name: clang 14 (the fuzz build) refuses it.
    const auto p = std::find_if(r.properties.begin(), r.properties.end(), [&](const PropertyResult& q) { return q.name == c.property; });
    PropertyResult none{.name = name};
    const PropertyResult& found = p != r.properties.end() ? *p : none;
    c.found = found.verdict;
    using S = VerdictCheck::Status;
    const std::string counts = " (" + std::to_string(found.count) + "/" + std::to_string(r.executions) + " executions)";
    if (c.stated == Verdict::Never) {
      // A schedule where it holds is proof against "never", whatever the search's scope.
      if (holds_somewhere(found)) {
        c.status = S::Disagrees;
        c.witness = found.witness;
        c.detail = "found " + std::string(to_string(found.verdict));
      } else {
        c.status = proof ? S::Holds : S::NotEstablished;
      }
    } else if (c.stated == Verdict::Always) {
      // An execution where it fails is proof against "always" (no schedule is recorded for it).
      if (fails_somewhere(found)) {
        c.status = S::Disagrees;
        c.detail = "found " + std::string(to_string(found.verdict)) + counts;
        if (holds_somewhere(found)) c.witness = found.witness;
      } else {
        c.status = proof ? S::Holds : S::NotEstablished;
      }
    } else {
      // Sometimes: it held in one real execution and failed in another. Otherwise only a
      // complete unbounded search shows it never happens (or always does).
      if (found.verdict == Verdict::Sometimes) {
        c.status = S::Holds;
      } else {
        c.status = proof ? S::Disagrees : S::NotEstablished;
        c.detail = "found " + std::string(to_string(found.verdict)) + counts;
        if (holds_somewhere(found)) c.witness = found.witness;
      }
    }
    if (c.status == S::NotEstablished) c.detail = limit + (c.detail.empty() ? "" : "; " + c.detail);
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace tlbsim::scenarios
