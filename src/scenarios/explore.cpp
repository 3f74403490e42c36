// SPDX-License-Identifier: MIT
#include "scenarios/explore.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "model/check.h"
#include "scenarios/detector.h"
#include "scenarios/errors.h"
#include "scenarios/footprint.h"
#include "scenarios/footprint_table.h"
#include "scenarios/linearize.h"
#include "scenarios/printable.h"
#include "scenarios/rng.h"

namespace tlbsim::scenarios {

namespace {

using Mask = uint64_t;
constexpr Mask bit(int t) { return Mask{1} << t; }

constexpr const char* kInvariant = "model invariant violated";

/// What one execution showed: every property that held in it, and its outcome key.
struct Observation {
  std::vector<std::string> properties;
  std::vector<bool> expectations;
  std::string outcome;
};

std::vector<std::string> base_properties() { return explore_property_names(); }

Observation observe(const ScenarioSpec& s, const std::string& policy, const RunResult& r) {
  Observation o;
  const DetectorResult d = detect(r.events);
  for (const std::string& m : metric_names()) {
    const uint64_t v = d.metric(m);
    if (v) o.properties.push_back(m);
    o.outcome += m + "=" + std::to_string(v) + " ";
  }
  std::set<std::string> kinds;
  for (const Finding& f : d.findings) kinds.insert(f.kind);
  for (const std::string& k : kinds) {
    o.properties.push_back("finding " + k);
    o.outcome += "finding:" + k + " ";
  }
  if (r.status == RunResult::Status::Deadlock) o.properties.push_back("deadlock");
  if (r.status == RunResult::Status::StepBudget) o.properties.push_back("step budget exceeded");
  o.outcome += std::string(to_string(r.status));
  if (auto it = s.expect.find(policy); it != s.expect.end())
    for (const std::string& m : metric_names())
      if (auto b = it->second.find(m); b != it->second.end())
        o.expectations.push_back(r.status == RunResult::Status::Completed && b->second.holds(d.metric(m)));
  return o;
}

/// Results of many executions, merged in any order to the same value.
struct Aggregate {
  uint64_t executions = 0, pruned = 0;
  std::map<std::string, std::pair<uint64_t, Schedule>> props;  ///< name -> (count, least witness)
  std::vector<std::pair<uint64_t, std::optional<Schedule>>> expect;  ///< (holds count, least counterexample)
  std::set<std::string> outcomes;
  std::optional<BudgetExceeded> budget;
  std::optional<Schedule> first;  ///< least complete schedule (for step counts)
  std::optional<std::pair<Schedule, std::string>> invariant;  ///< least schedule that broke a model invariant
  bool stopped = false;    ///< a budget stopped the search before its end
  bool bound_cut = false;  ///< the preemption bound kept some choice out
  bool deadline_hit = false;
  uint64_t spent = 0;  ///< executions run when stopped, counted ones or not (capped at the budget)

  /// An execution the model itself rejected (a model invariant failed): reported, never hidden.
  void add_invariant(const Schedule& sched, std::string what) {
    // Keep the message independent of where the sources live: "/x/y/src/model/a.h:3: ..." -> "src/model/a.h:3: ...".
    if (const size_t src = what.find("src/"); src != std::string::npos && what.find(':') > src) what.erase(0, src);
    ++executions;
    outcomes.insert("invariant violated: " + what);
    auto [it, fresh] = props.try_emplace(kInvariant, 0, sched);
    ++it->second.first;
    if (!fresh && witness_less(sched, it->second.second)) it->second.second = sched;
    if (!invariant || witness_less(sched, invariant->first)) invariant = {sched, what};
  }

  void add(const Observation& o, const Schedule& sched, const RunResult& r) {
    ++executions;
    outcomes.insert(o.outcome);
    for (const std::string& p : o.properties) {
      auto [it, fresh] = props.try_emplace(p, 0, sched);
      ++it->second.first;
      if (!fresh && witness_less(sched, it->second.second)) it->second.second = sched;
    }
    if (expect.size() < o.expectations.size()) expect.resize(o.expectations.size());
    for (size_t i = 0; i < o.expectations.size(); ++i) {
      if (o.expectations[i]) ++expect[i].first;
      else if (!expect[i].second || witness_less(sched, *expect[i].second)) expect[i].second = sched;
    }
    if (r.status == RunResult::Status::StepBudget && (!budget || witness_less(sched, budget->schedule)))
      budget = BudgetExceeded{sched, r.threads};
    if (!first || witness_less(sched, *first)) first = sched;
  }

  void merge(const Aggregate& o) {
    stopped = stopped || o.stopped;
    bound_cut = bound_cut || o.bound_cut;
    deadline_hit = deadline_hit || o.deadline_hit;
    executions += o.executions;
    pruned += o.pruned;
    outcomes.insert(o.outcomes.begin(), o.outcomes.end());
    for (const auto& [name, cw] : o.props) {
      auto [it, fresh] = props.try_emplace(name, cw);
      if (fresh) continue;
      it->second.first += cw.first;
      if (witness_less(cw.second, it->second.second)) it->second.second = cw.second;
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
};

/// The common part of every execution: the spec with the budget applied, and who each thread is.
struct Setup {
  ScenarioSpec spec;
  const kernel::Policy* policy = nullptr;
  std::vector<StepActor> actors;
  int threads = 0;
  std::string file;

  RunResult run(const std::function<int(uint64_t, const std::vector<StepRecord>&, const std::vector<Event>&)>& chooser,
                size_t expected_events = 0) const {
    RunOptions ro;
    ro.file = file;
    ro.chooser = chooser;
    ro.expected_events = expected_events;
    ro.record_touches = true;
    return run_scenario(spec, *policy, ro);
  }
  /// Depth of the next step: steps taken after priming.
  size_t depth(const std::vector<StepRecord>& trace) const { return trace.size() - static_cast<size_t>(threads); }
  /// Footprint of step `st` of a run whose earlier steps `sf` has seen (in order).
  Footprint step_fp(StepFootprints& sf, const StepRecord& st, const std::vector<Event>& ev) const {
    StepActor a = actors[static_cast<size_t>(st.thread)];
    a.hardware = st.hardware;
    return sf.next(ev, st.ev_begin, st.ev_end, st.touches, a);
  }
};

Schedule schedule_of(const RunResult& r) {
  Schedule s;
  for (const StepRecord& st : r.trace)
    if (!st.priming) s.push_back(st.thread);
  return s;
}

/// Run exactly `order`; nullopt when some step of it cannot be taken (its thread is blocked or
/// done) or the run breaks the model.
std::optional<RunResult> run_exactly(const Setup& su, const Schedule& order) {
  bool followed = true;
  try {
    RunResult r = su.run([&](uint64_t ready, const std::vector<StepRecord>& trace, const std::vector<Event>&) {
      const size_t d = su.depth(trace);
      if (d >= order.size() || !(ready & bit(order[d]))) {
        followed = false;
        return -1;
      }
      return order[d];
    });
    if (followed && schedule_of(r) == order) return r;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

/// The witness `w` re-ordered within its Mazurkiewicz trace to fewer context switches
/// (linearize.h), if the re-ordered run still `shows` the property; else `w` itself. Only the
/// order of independent steps changes, so the outcome is the same by the argument of
/// docs/explore.md; the re-run checks it all the same.
Schedule fewest_switches(const Setup& su, const Schedule& w, const std::function<bool(const Observation&)>& shows) {
  const std::optional<RunResult> r = run_exactly(su, w);
  if (!r) return w;
  std::vector<int> threads;
  std::vector<Footprint> fps;
  StepFootprints sf;
  for (const StepRecord& st : r->trace)
    if (!st.priming) {
      threads.push_back(st.thread);
      fps.push_back(su.step_fp(sf, st, r->events));
    }
  Schedule best = w;
  for (const std::vector<int>& order : few_switch_orders(threads, [&](size_t i, size_t j) { return dependent(fps[i], fps[j]); })) {
    if (!witness_less(order, best)) continue;
    if (const std::optional<RunResult> c = run_exactly(su, order); c && shows(observe(su.spec, su.policy->name, *c))) best = order;
  }
  return best;
}

struct Sleeper {
  int thread;
  FootprintId fp;
};

/// One node of the DPOR stack: the state before step `depth`.
struct Node {
  Mask enabled = 0;
  int prev = -1;         ///< thread of the step before (-1 at the first step)
  int preemptions = 0;   ///< preemptions in the schedule before this state
  Mask backtrack = 0;
  std::vector<Sleeper> sleep;  ///< threads whose step here is covered by a sibling explored before
  std::vector<Sleeper> done;   ///< siblings already explored from here (not counting `chosen`)
  int chosen = -1;
  FootprintId fp = 0;  ///< footprint of `chosen`'s step here (0: none yet)
  /// Unbounded search: the step before was an empty step of `chosen`'s thread, which continues
  /// here and nothing else is tried (SubtreeExplorer::execute()).
  bool forced = false;
  Mask sleep_mask() const {
    Mask m = 0;
    for (const Sleeper& s : sleep) m |= bit(s.thread);
    return m;
  }
  /// Preemptions after taking `t` here.
  int cost(int t) const { return preemptions + (prev >= 0 && t != prev && (enabled & bit(prev)) ? 1 : 0); }
  Mask done_mask() const {
    Mask m = bit(chosen);
    for (const Sleeper& s : done) m |= bit(s.thread);
    return m;
  }
};

/// Stateless DPOR below a fixed first step (Flanagan and Godefroid 2005, with sleep sets):
/// re-execute from scratch under the stack's choices, extend with the least runnable thread not
/// asleep, then find races in the execution and add backtrack points. A race with the first
/// step adds nothing: the caller explores every first step as a subtree of its own.
class SubtreeExplorer {
 public:
  SubtreeExplorer(const Setup& su, std::atomic<uint64_t>* progress, int bound)
      : m_su(su), m_progress(progress), m_bound(bound) {}

  /// The first step, fixed for this subtree; its footprints must come from intern().
  void set_root(Node root) {
    m_stack.clear();
    m_stack.push_back(std::move(root));
  }
  FootprintId intern(Footprint f) { return m_fps.intern(std::move(f)); }
  /// Asked before each execution after the first with the executions (explored and pruned) the
  /// subtree would then have run; false stops the search (a budget ran out).
  void set_budget(std::function<bool(uint64_t)> may_run) { m_may_run = std::move(may_run); }

  Aggregate run() {
    size_t fixed = 1;  // the root's choice is given
    for (;;) {
      execute(fixed);
      analyse_races(fixed - 1);
      // Deepest node with a backtrack thread neither explored nor asleep.
      int k = static_cast<int>(m_stack.size()) - 1;
      int next = -1;
      for (; k >= 1; --k) {
        Node& n = m_stack[static_cast<size_t>(k)];
        const Mask cand = within_bound(n, n.backtrack & n.enabled & ~n.done_mask() & ~n.sleep_mask());
        if (cand) {
          next = std::countr_zero(cand);
          break;
        }
      }
      if (next < 0) break;
      if (m_may_run && !m_may_run(m_agg.executions + m_agg.pruned + 1)) {
        m_agg.stopped = true;
        break;
      }
      m_stack.resize(static_cast<size_t>(k) + 1);
      Node& n = m_stack.back();
      n.done.push_back(Sleeper{n.chosen, m_eff[static_cast<size_t>(k)]});
      n.chosen = next;
      n.fp = 0;
      fixed = static_cast<size_t>(k) + 1;
    }
    m_agg.bound_cut = m_bound_cut;
    return std::move(m_agg);
  }

  /// Threads of `m` that can be taken at `n` without exceeding the preemption bound.
  Mask within_bound(const Node& n, Mask m) const {
    if (m_bound < 0) return m;
    Mask out = 0;
    for (Mask x = m; x; x &= x - 1)
      if (n.cost(std::countr_zero(x)) <= m_bound) out |= bit(std::countr_zero(x));
    if (out != m) m_bound_cut = true;
    return out;
  }

 private:
  /// Sleep set of the child reached by `n.chosen`: sleeping or explored siblings whose step is
  /// independent of the chosen one stay asleep (their step commutes with it).
  ///
  /// Only without a bound. A sleeping thread's step is covered by the explored sibling because
  /// the same step runs later in that sibling's subtree, after the independent steps; under a
  /// preemption bound that later point can cost a preemption the bound forbids, and then no
  /// bounded execution covers it. Measured on generated scenarios: 30 of 600 bounded searches
  /// with sleep sets missed an outcome plain enumeration under the bound found (two threads at
  /// bound 0: one of the two schedules explored, the other cut as asleep).
  std::vector<Sleeper> child_sleep(const Node& n) {
    std::vector<Sleeper> out;
    if (m_bound >= 0) return out;
    for (const auto* set : {&n.sleep, &n.done})
      for (const Sleeper& s : *set)
        if (s.thread != n.chosen && !m_fps.dependent(s.fp, n.fp)) out.push_back(s);
    std::sort(out.begin(), out.end(), [](const Sleeper& a, const Sleeper& b) { return a.thread < b.thread; });
    return out;
  }

  void execute(size_t fixed) {
    bool stopped = false;
    size_t depth = 0;
    Mask final_ready = 0;
    std::vector<Sleeper> final_sleep;
    m_pending.clear();
    StepFootprints sf;  // footprints of this execution's steps, in order
    auto chooser = [&](uint64_t ready, const std::vector<StepRecord>& trace, const std::vector<Event>& ev) -> int {
      const size_t d = m_su.depth(trace);
      depth = d;
      // Steps before the last fixed one replay the previous execution: their footprints are known.
      if (d > 0 && d >= fixed) m_stack[d - 1].fp = m_fps.intern(m_su.step_fp(sf, trace.back(), ev));
      if (d < fixed) {
        if (m_stack[d].enabled != 0 && m_stack[d].enabled != ready)
          throw std::logic_error("explore: replay diverged at step " + std::to_string(d) + " (the model is not deterministic)");
        m_stack[d].enabled = ready;
        return m_stack[d].chosen;
      }
      Node n;
      n.enabled = ready;
      n.prev = m_stack[d - 1].chosen;
      n.preemptions = m_stack[d - 1].cost(m_stack[d - 1].chosen);
      n.sleep = child_sleep(m_stack[d - 1]);
      Mask cand = within_bound(n, ready & ~n.sleep_mask());
      // Unbounded: a thread whose step touched nothing (an op starting, a yield point right
      // before another) takes its next step at once. The empty step commutes with every step,
      // so an execution that runs another thread between the two is equivalent to one that
      // runs it before the empty step, which add_backtrack() asks for instead. (Bounded, moving
      // the switch changes which schedules fit the bound: tried, concurrent-madv-dontneed lost
      // `observed` at bound 2. The bounded search keeps both points.)
      const Node& before = m_stack[d - 1];
      if (m_bound < 0 && (cand & bit(before.chosen)) && m_fps.at(before.fp).touches.empty()) {
        cand = bit(before.chosen);
        n.forced = true;
      }
      if (!cand) {
        stopped = true;
        final_ready = ready;
        final_sleep = n.sleep;
        return -1;
      }
      // Bounded, the default extension is the one that costs no preemption: the thread that ran
      // last continues if it can (CHESS; bounded POR, Coons et al. OOPSLA 2013, assumes it).
      // Taking the least thread instead spent the bound on switches no race asked for, and the
      // execution a backtrack point reversed a race into was then cut before its race mattered
      // (generated scenarios: 10 of 600 bounded searches missed an outcome; see
      // tests/scenarios/explore_bounded_differential_test.cpp).
      n.chosen = (m_bound >= 0 && n.prev >= 0 && (cand & bit(n.prev))) ? n.prev : std::countr_zero(cand);
      n.backtrack = bit(n.chosen);
      m_stack.resize(d);
      m_stack.push_back(std::move(n));
      return m_stack.back().chosen;
    };
    RunResult r;
    try {
      r = m_su.run(chooser, m_expected_events);
      m_expected_events = r.events.size() + r.events.size() / 8;
    } catch (const InvariantViolation& e) {
      // The step chosen at `depth` broke the model. Its footprint is unknown: assume it touched
      // everything, so every earlier step races with it.
      m_stack.resize(depth + 1);
      m_stack.back().fp = m_fps.intern(footprint_of_everything());
      m_sched.clear();
      for (const Node& n : m_stack) m_sched.push_back(n.chosen);
      m_agg.add_invariant(m_sched, e.what());
      if (m_progress) m_progress->fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const Schedule sched = schedule_of(r);
    m_stack.resize(sched.size());
    if (!sched.empty()) {
      const StepRecord& last = r.trace.back();
      m_stack[sched.size() - 1].fp = m_fps.intern(m_su.step_fp(sf, last, r.events));
    }
    m_sched = sched;
    // Threads whose next step never ran: its races with the execution are analysed too.
    if (stopped || r.status != RunResult::Status::Completed) {
      if (!stopped) final_ready = 0;  // deadlock or step budget: every unfinished thread waits
      for (int t = 0; t < m_su.threads; ++t) {
        if (r.threads[static_cast<size_t>(t)].done) continue;
        const auto sl = std::find_if(final_sleep.begin(), final_sleep.end(), [&](const Sleeper& x) { return x.thread == t; });
        if (sl != final_sleep.end() && (final_ready & bit(t))) m_pending.push_back(*sl);
        else if (!(final_ready & bit(t)) || r.status == RunResult::Status::StepBudget)
          m_pending.push_back(Sleeper{t, m_fps.intern(footprint_of_everything())});
      }
    }
    if (stopped) ++m_agg.pruned;
    else m_agg.add(observe(m_su.spec, m_su.policy->name, r), sched, r);
    if (m_progress) m_progress->fetch_add(1, std::memory_order_relaxed);
  }

  /// Two steps race when they are dependent, of different threads, and not ordered by any
  /// chain of dependent steps between them. For each race (i, j), the thread of j is tried at
  /// the state before i (or every thread runnable there, when it was blocked). Steps before
  /// `from` are the replayed prefix: same steps, same footprints, already analysed.
  void analyse_races(size_t from) {
    const size_t n = m_sched.size();
    const size_t T = static_cast<size_t>(m_su.threads);
    from = std::min(from, n);
    // A step that touched nothing (an op starting) stands for its thread's next step: the two are
    // taken as one transition. As a free-standing step it commutes with everything, and then a
    // sleeping thread whose pending step was empty slept past every step its next one races
    // with, and exploration lost outcomes (tests/scenarios/explore/madv-free-khugepaged-btm.json,
    // 3 of 5). A step with no next step in the execution stands for everything.
    std::vector<FootprintId> eff(n);
    {
      FootprintId next_of[64];
      const FootprintId all = m_fps.intern(footprint_of_everything());
      std::fill_n(next_of, T, all);
      for (size_t i = n; i-- > 0;) {
        const size_t t = static_cast<size_t>(m_sched[i]);
        const FootprintId f = m_stack[i].fp;
        eff[i] = m_fps.at(f).touches.empty() ? next_of[t] : f;
        next_of[t] = eff[i];
      }
    }
    // An empty step of the replayed prefix may stand for a different next step now: its races
    // are analysed again from there.
    for (size_t i = 0; i < from; ++i)
      if (i >= m_eff.size() || m_eff[i] != eff[i]) {
        from = i;
        break;
      }
    m_eff = std::move(eff);
    m_clock.resize(n * T);  // the prefix's clocks stay: same steps as before
    m_pos.resize(n);
    m_count.assign(T, 0);
    m_last_of.assign(T, -1);
    for (size_t j = 0; j < from; ++j) {
      m_count[static_cast<size_t>(m_sched[j])] = m_pos[j];
      m_last_of[static_cast<size_t>(m_sched[j])] = static_cast<int>(j);
    }
    auto clock = [&](size_t i) { return m_clock.data() + i * T; };
    // Walk back from a step of thread tj with footprint fj placed at position `end` (after every
    // step before it): a dependent step i races with it unless an hb-predecessor seen so far (a
    // later step of tj or a later step dependent with it) is already after i.
    auto walk = [&](size_t end, size_t tj, FootprintId fj, uint32_t* vc) {
      if (m_last_of[tj] >= 0) std::copy_n(clock(static_cast<size_t>(m_last_of[tj])), T, vc);
      else std::fill_n(vc, T, 0u);
      m_covered.assign(T, 0);
      m_below.assign(m_count.begin(), m_count.end());  // steps of each thread before `end`
      for (size_t ii = end; ii-- > 0;) {
        const size_t ti = static_cast<size_t>(m_sched[ii]);
        const uint32_t* ci = clock(ii);
        // A step already ordered before a covered step adds nothing: its clock is below
        // `covered` (and so below vc), and it cannot race. Once every earlier step is such a
        // step, the walk is over.
        --m_below[ti];  // now the steps of each thread before ii
        if (m_covered[ti] >= m_pos[ii]) {
          if (all_covered(T)) break;
          continue;
        }
        if (ti == tj) {
          for (size_t x = 0; x < T; ++x) m_covered[x] = std::max(m_covered[x], ci[x]);
          if (all_covered(T)) break;
          continue;
        }
        if (!m_fps.dependent(m_eff[ii], fj)) continue;
        add_backtrack(ii, static_cast<int>(tj));
        for (size_t x = 0; x < T; ++x) vc[x] = std::max(vc[x], ci[x]);
        // Every earlier dependent step of another thread gets a backtrack point, not only the
        // latest (Flanagan and Godefroid add the latest and leave the earlier races to the
        // execution that reverses it). Stopping at the latest, even past steps before which the
        // thread was blocked (never co-enabled), lost a schedule: a read that faults, then an
        // mremap of its page (tests/scenarios/explore/mremap-after-faulting-read.json), whose
        // stale window unbounded exploration never reached (8 executions, 97 schedules), and
        // which every backtrack point here finds. Adding backtrack points only adds executions.
      }
    };
    for (size_t j = from; j < n; ++j) {
      const size_t tj = static_cast<size_t>(m_sched[j]);
      m_pos[j] = ++m_count[tj];
      --m_count[tj];  // the walk counts the steps before j
      walk(j, tj, m_eff[j], clock(j));
      ++m_count[tj];
      clock(j)[tj] = m_pos[j];
      m_last_of[tj] = static_cast<int>(j);
    }
    // The next step of every thread that never took it (the execution was cut by sleep sets, or
    // ended in a deadlock or over the step budget) races with the execution as well, as
    // Flanagan and Godefroid check next(s, p) for every process p, not only the steps taken. A
    // sleeping thread's step has its footprint; a blocked thread's next step is unknown, and is
    // taken to touch everything. Without this, a step that sleep sets kept out of every
    // execution never asked for the backtrack points that would reverse its races
    // (tests/scenarios/explore/madv-free-khugepaged-btm.json lost 2 of its 5 outcomes).
    std::vector<uint32_t> vc_pending(T);
    for (const Sleeper& p : m_pending) walk(n, static_cast<size_t>(p.thread), p.fp, vc_pending.data());
  }

  /// Every step before the walk's position is ordered before a covered step.
  bool all_covered(size_t T) const {
    for (size_t x = 0; x < T; ++x)
      if (m_covered[x] < m_below[x]) return false;
    return true;
  }

  void add_backtrack(size_t i, int thread) {
    // A forced node tries nothing else: the thread runs before the empty step instead, where it
    // is enabled too (an empty step enables and disables nothing).
    while (i > 0 && m_stack[i].forced) --i;
    const Mask en = m_stack[i].enabled;
    const Mask add = (en & bit(thread)) ? bit(thread) : en;
    if (i > 0) m_stack[i].backtrack |= add;  // every first step is a subtree of its own
    // Under a preemption bound, also try the thread where the run containing step i began,
    // where switching may be free (bounded POR's conservative branch, Coons et al. OOPSLA
    // 2013). Always, not only where the bound forbids the thread at i: even where i is within
    // reach, the execution reversed there may need a preemption more further on than one that
    // switches at the start of the run. Adding it only where i was out of reach missed an
    // outcome in 9 of 7,894 bounded searches of generated scenarios (seeds 275, 494, 569, 914).
    if (m_bound < 0) return;
    size_t j = i;
    while (j > 0 && m_sched[j - 1] == m_sched[i]) --j;
    if (j == i) return;
    const Mask en_j = m_stack[j].enabled;
    const Mask add_j = (en_j & bit(thread)) ? bit(thread) : en_j;
    if (j > 0) m_stack[j].backtrack |= add_j;
  }

  const Setup& m_su;
  std::atomic<uint64_t>* m_progress;
  int m_bound;
  mutable bool m_bound_cut = false;  ///< within_bound() ever left a thread out
  std::function<bool(uint64_t)> m_may_run;
  std::vector<Node> m_stack;
  Schedule m_sched;
  FootprintTable m_fps;          ///< footprints of this subtree's steps, and their dependencies
  std::vector<uint32_t> m_clock;  ///< vector clock of each step: threads entries from step * threads
  std::vector<uint32_t> m_pos;    ///< index of each step within its thread, from 1
  std::vector<uint32_t> m_count, m_covered, m_below;  ///< scratch of analyse_races
  std::vector<int> m_last_of;                ///< scratch of analyse_races
  std::vector<Sleeper> m_pending;            ///< next steps of the last execution that never ran
  std::vector<FootprintId> m_eff;            ///< each step's footprint, an empty step's being its thread's next
  Aggregate m_agg;
  size_t m_expected_events = 0;  ///< the last execution's event count, with room to spare
};

Setup make_setup(const ScenarioSpec& s, const kernel::Policy& policy, const ExploreOptions& opt) {
  Setup su;
  su.spec = s;
  if (opt.max_steps) su.spec.max_steps = opt.max_steps;
  su.policy = &policy;
  su.file = opt.file;
  su.threads = static_cast<int>(s.threads.size());
  for (const ThreadSpec& t : s.threads) su.actors.push_back(StepActor{.device = t.kind == ThreadKind::Device, .cpu = t.cpu});
  return su;
}

/// Run `n` tasks on `jobs` workers; task i writes only slot i, so the result is independent of jobs.
template <class F>
void parallel_for(size_t n, unsigned jobs, F&& f) {
  if (jobs <= 1 || n <= 1) {
    for (size_t i = 0; i < n; ++i) f(i);
    return;
  }
  std::atomic<size_t> next{0};
  std::vector<std::exception_ptr> errors(n);
  std::vector<std::thread> pool;
  for (unsigned w = 0; w < std::min<size_t>(jobs, n); ++w)
    pool.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < n;) {
        try {
          f(i);
        } catch (...) {
          errors[i] = std::current_exception();
        }
      }
    });
  for (auto& t : pool) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

/// Exhaustive exploration, split at the first step: every thread that can take the first step
/// is an independent subtree (run in parallel), whose sleep set holds the smaller first steps.
/// Races with a first step would only ask for another first step, and every one is explored, so
/// the subtrees need nothing from one another. Nothing depends on the number of jobs.
Aggregate exhaustive(const Setup& su, const ExploreOptions& opt) {
  Aggregate agg;
  // Probe the initial state: which threads can take the first step.
  Mask root_enabled = 0;
  bool chooser_called = false;
  RunResult probe;
  try {
    probe = su.run([&](uint64_t ready, const std::vector<StepRecord>&, const std::vector<Event>&) {
      chooser_called = true;
      root_enabled = ready;
      return -1;
    });
  } catch (const InvariantViolation& e) {
    // Setup or priming broke the model: every schedule starts there, so that is the only outcome.
    agg.add_invariant({}, e.what());
    return agg;
  }
  if (!chooser_called) {  // nothing to schedule: the run is its own only execution
    agg.add(observe(su.spec, su.policy->name, probe), {}, probe);
    return agg;
  }
  // Footprint of each thread's first step from the initial state.
  // A first step that breaks the model has an unknown footprint: it touched everything (its
  // subtree then records the violation).
  auto first_fp = [&](int t) {
    Footprint fp = footprint_of_everything();
    try {
      StepFootprints sf;
      su.run([&](uint64_t, const std::vector<StepRecord>& trace, const std::vector<Event>& ev) {
        if (su.depth(trace) == 0) return t;
        fp = su.step_fp(sf, trace.back(), ev);
        return -1;
      });
    } catch (const InvariantViolation&) {
    }
    return fp;
  };
  std::vector<int> firsts;
  for (Mask m = root_enabled; m; m &= m - 1) firsts.push_back(std::countr_zero(m));
  std::vector<Footprint> fps;
  for (int t : firsts) fps.push_back(first_fp(t));
  std::vector<Aggregate> results(firsts.size());
  // Budgets (docs/explore.md): subtree i may run while the executions of subtrees 0..i together
  // stay within opt.max_executions. Each subtree publishes its count as it goes; an earlier
  // subtree's count only grows, so a subtree stopped by this rule is one whose result would
  // be cut anyway, whatever the timing. The cut below uses final counts, in thread order, so
  // which subtrees count does not depend on jobs.
  std::vector<std::atomic<uint64_t>> runs(firsts.size());
  auto within = [&](size_t i, uint64_t own) {
    if (!opt.max_executions) return true;
    uint64_t sum = own;
    for (size_t m = 0; m < i; ++m) sum += runs[m].load(std::memory_order_relaxed);
    return sum <= opt.max_executions;
  };
  std::atomic<bool> deadline_hit{false};
  parallel_for(firsts.size(), opt.jobs, [&](size_t i) {
    if (!within(i, 1)) {
      results[i].stopped = true;
      return;
    }
    SubtreeExplorer ex(su, opt.progress, opt.preemptions);
    if (opt.max_executions || opt.deadline)
      ex.set_budget([&, i](uint64_t next) {
        runs[i].store(next - 1, std::memory_order_relaxed);
        if (opt.deadline && std::chrono::steady_clock::now() >= *opt.deadline) {
          deadline_hit = true;
          return false;
        }
        return within(i, next);
      });
    Node root;
    root.enabled = root_enabled;
    root.chosen = firsts[i];
    root.backtrack = bit(firsts[i]);
    root.fp = ex.intern(fps[i]);
    // A first step that touched nothing stands for its thread's next one, unknown here: asleep,
    // it wakes at any step (see analyse_races()). Bounded, no sleep sets (child_sleep()).
    if (opt.preemptions < 0)
      for (size_t j = 0; j < i; ++j)
        root.sleep.push_back(Sleeper{firsts[j], ex.intern(fps[j].touches.empty() ? footprint_of_everything() : fps[j])});
    ex.set_root(std::move(root));
    results[i] = ex.run();
    runs[i].store(results[i].executions + results[i].pruned, std::memory_order_relaxed);
  });
  uint64_t counted = 0;
  for (const Aggregate& r : results) {
    // The first subtree that stopped, or that takes the total past the budget, ends the
    // search: it and the later subtrees are left out (they depend on timing with jobs > 1).
    counted += r.executions + r.pruned;
    if (r.stopped || (opt.max_executions && counted > opt.max_executions)) {
      agg.stopped = true;
      break;
    }
    agg.merge(r);
  }
  agg.deadline_hit = deadline_hit;
  if (agg.stopped) {
    for (const auto& n : runs) agg.spent += n.load(std::memory_order_relaxed);
    if (opt.max_executions) agg.spent = std::min(agg.spent, opt.max_executions);
  }
  return agg;
}

/// Random mode: run i follows a schedule drawn from seed + i, so runs can be split among jobs.
Aggregate random_runs(const Setup& su, const ExploreOptions& opt) {
  const unsigned jobs = std::max(1u, opt.jobs);
  std::vector<Aggregate> parts(jobs);
  parallel_for(jobs, jobs, [&](size_t w) {
    for (uint64_t i = w; i < opt.runs; i += jobs) {
      SplitMix64 rng(opt.seed + i);
      Schedule picks;
      RunResult r;
      try {
        r = su.run([&](uint64_t ready, const std::vector<StepRecord>&, const std::vector<Event>&) {
          const uint64_t k = rng.below(static_cast<uint64_t>(std::popcount(ready)));
          Mask m = ready;
          for (uint64_t x = 0; x < k; ++x) m &= m - 1;
          picks.push_back(std::countr_zero(m));
          return picks.back();
        });
      } catch (const InvariantViolation& e) {
        parts[w].add_invariant(picks, e.what());
        if (opt.progress) opt.progress->fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      parts[w].add(observe(su.spec, su.policy->name, r), schedule_of(r), r);
      if (opt.progress) opt.progress->fetch_add(1, std::memory_order_relaxed);
    }
  });
  Aggregate agg;
  for (const Aggregate& p : parts) agg.merge(p);
  return agg;
}

double multinomial(const std::vector<uint64_t>& counts) {
  // exp(lgamma(sum + 1) - sum lgamma(c + 1)), rounded: exact enough for a reduction factor.
  double total = 0, l = 0;
  for (uint64_t c : counts) {
    total += static_cast<double>(c);
    l -= std::lgamma(static_cast<double>(c) + 1);
  }
  l += std::lgamma(total + 1);
  return std::round(std::exp(l));
}

}  // namespace

double bounded_interleavings(const std::vector<uint64_t>& counts, int preemptions) {
  if (preemptions < 0) return multinomial(counts);
  // f(remaining steps, thread of the last step, preemptions left), memoized over a mixed-radix
  // index. Switching away from a thread with steps left costs one preemption; from a finished
  // thread (or at the start) it is free, as in the explorer's own bound.
  const size_t n = counts.size();
  const size_t k = static_cast<size_t>(preemptions) + 1;
  // The recursion goes one level per step: keep it far from the stack's end.
  uint64_t steps = 0;
  for (uint64_t c : counts) steps += c;
  if (steps > kMaxBoundedCountSteps) return 0;
  std::vector<size_t> radix(n);
  size_t states = (n + 1) * k;
  for (size_t i = 0; i < n; ++i) {
    radix[i] = states;
    if (counts[i] + 1 > kMaxBoundedCountStates / states) return 0;
    states *= counts[i] + 1;
  }
  std::vector<double> memo(states, -1.0);
  std::vector<uint64_t> rem = counts;
  auto f = [&](auto&& self, size_t last, size_t left) -> double {
    size_t key = last * k + left;
    bool done = true;
    for (size_t i = 0; i < n; ++i) {
      key += rem[i] * radix[i];
      done = done && rem[i] == 0;
    }
    if (done) return 1.0;
    if (memo[key] >= 0) return memo[key];
    double total = 0;
    const bool last_runnable = last < n && rem[last] > 0;
    for (size_t t = 0; t < n; ++t) {
      if (rem[t] == 0) continue;
      const size_t cost = (t != last && last_runnable) ? 1 : 0;
      if (cost > left) continue;
      --rem[t];
      total += self(self, t, left - cost);
      ++rem[t];
    }
    return memo[key] = total;
  };
  return std::round(f(f, n, k - 1));
}

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::Never: return "Never";
    case Verdict::Sometimes: return "Sometimes";
    case Verdict::Always: return "Always";
  }
  return "?";
}

unsigned context_switches(const Schedule& s) {
  unsigned n = 0;
  for (size_t i = 1; i < s.size(); ++i) n += s[i] != s[i - 1];
  return n;
}

bool witness_less(const Schedule& a, const Schedule& b) {
  const unsigned ca = context_switches(a), cb = context_switches(b);
  if (ca != cb) return ca < cb;
  if (a.size() != b.size()) return a.size() < b.size();
  return a < b;
}

std::string schedule_text(const ScenarioSpec& s, const Schedule& sched) {
  std::string out = "[";
  for (size_t i = 0; i < sched.size();) {
    size_t j = i;
    while (j < sched.size() && sched[j] == sched[i]) ++j;
    // Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict, a false positive) about the
    // temporary of `"\"" + name`.
    if (i) out += ',';
    out += '"';
    out += s.threads[static_cast<size_t>(sched[i])].name;
    if (j - i > 1) {
      out += ':';
      out += std::to_string(j - i);
    }
    out += '"';
    i = j;
  }
  return out + "]";
}

ExploreResult explore(const ScenarioSpec& s, const kernel::Policy& policy, const ExploreOptions& opt) {
  // A step's runnable threads are a 64-bit mask. Reported at the first thread beyond it.
  if (s.threads.size() > 64) {
    const ThreadSpec& t = s.threads[64];
    throw ScenarioError({Diagnostic{.file = opt.file, .pointer = t.pointer, .line = t.line, .column = t.column,
                                    .message = "explore handles at most 64 threads, scenario " + in_quotes(s.name) + " has " +
                                               std::to_string(s.threads.size())}});
  }
  const Setup su = make_setup(s, policy, opt);
  const Aggregate agg = opt.mode == ExploreOptions::Mode::Exhaustive ? exhaustive(su, opt) : random_runs(su, opt);
  ExploreResult r;
  r.scenario = s.name;
  r.policy = policy.name;
  r.mode = opt.mode;
  r.executions = agg.executions;
  r.pruned = agg.pruned;
  r.distinct_outcomes = agg.outcomes.size();
  r.preemptions = opt.mode == ExploreOptions::Mode::Exhaustive ? opt.preemptions : -1;
  r.budget = agg.budget;
  r.complete = !agg.stopped;
  r.bound_cut = agg.bound_cut;
  r.deadline_hit = agg.deadline_hit;
  r.spent = agg.stopped ? agg.spent : agg.executions + agg.pruned;
  if (agg.first) {
    std::vector<uint64_t> counts(s.threads.size(), 0);
    for (int t : *agg.first) ++counts[static_cast<size_t>(t)];
    r.naive_interleavings = multinomial(counts);
    r.naive_bounded = bounded_interleavings(counts, r.preemptions);
  }
  auto verdict = [&](uint64_t n) { return n == 0 ? Verdict::Never : n == agg.executions ? Verdict::Always : Verdict::Sometimes; };
  if (agg.invariant) r.invariant = agg.invariant;
  std::vector<std::string> names = base_properties();
  for (const auto& [name, cw] : agg.props)
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  for (const std::string& n : names) {
    PropertyResult p{.name = n};
    if (auto it = agg.props.find(n); it != agg.props.end()) {
      p.count = it->second.first;
      p.witness = fewest_switches(su, it->second.second, [&](const Observation& o) {
        return std::find(o.properties.begin(), o.properties.end(), n) != o.properties.end();
      });
    }
    p.verdict = verdict(p.count);
    r.properties.push_back(std::move(p));
  }
  if (auto it = s.expect.find(policy.name); it != s.expect.end()) {
    size_t i = 0;
    for (const std::string& m : metric_names()) {
      auto b = it->second.find(m);
      if (b == it->second.end()) continue;
      PropertyResult p{.name = m + " " + b->second.text()};
      if (i < agg.expect.size()) {
        p.count = agg.expect[i].first;
        if (agg.expect[i].second)
          p.witness = fewest_switches(su, *agg.expect[i].second,
                                      [&](const Observation& o) { return i < o.expectations.size() && !o.expectations[i]; });
      }
      p.verdict = verdict(p.count);
      r.expectations.push_back(std::move(p));
      ++i;
    }
  }
  return r;
}

RunResult replay(const ScenarioSpec& s, const kernel::Policy& policy, const Schedule& sched, uint64_t max_steps) {
  ScenarioSpec spec = s;
  if (max_steps) spec.max_steps = max_steps;
  const size_t threads = s.threads.size();
  RunOptions ro;
  ro.chooser = [&](uint64_t, const std::vector<StepRecord>& trace, const std::vector<Event>&) {
    const size_t d = trace.size() - threads;
    return d < sched.size() ? sched[d] : -1;
  };
  ro.record_touches = true;  // witness graphs draw conflict edges from the footprints
  return run_scenario(spec, policy, ro);
}

}  // namespace tlbsim::scenarios
