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
#include "model/saturating.h"
#include "scenarios/detector.h"
#include "scenarios/errors.h"
#include "scenarios/expectation.h"
#include "scenarios/footprint.h"
#include "scenarios/footprint_table.h"
#include "scenarios/linearize.h"
#include "scenarios/printable.h"
#include "scenarios/rng.h"

namespace tlbsim::scenarios {

namespace {

using Mask = uint64_t;
constexpr Mask bit(int t) { return Mask{1} << t; }

/// What one execution showed: every property that held in it, and its outcome key.
struct Observation {
  std::vector<std::string> properties;
  std::vector<bool> expectations;
  std::string outcome;
};

std::vector<std::string> base_properties() { return explore_property_names(); }

void add(Aggregate& agg, const Observation& o, const Schedule& sched, const RunResult& r) {
  agg.add(o.properties, o.expectations, o.outcome, sched, r);
}

Observation observe(const ScenarioSpec& s, const std::string& policy, const RunResult& r) {
  Observation o;
  const DetectorResult d = detect(r);
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
    for (const auto& [key, bound] : ordered_expectations(it->second))
      o.expectations.push_back(r.status == RunResult::Status::Completed && bound.holds(expectation_value(key, d, r)));
  return o;
}

/// The common part of every execution: the spec with the budget applied, and who each thread is.
struct Setup {
  ScenarioSpec spec;
  const kernel::Policy* policy = nullptr;
  std::vector<StepActor> actors;
  int threads = 0;
  std::string file;

  /// `touches`: record each step's touches, for its footprint. Random runs need none (a witness
  /// is re-run with them to be re-ordered); recording only observes, so the run is the same.
  RunResult run(const std::function<int(uint64_t, const std::vector<StepRecord>&, const std::vector<Event>&)>& chooser,
                size_t expected_events = 0, bool touches = true) const {
    RunOptions ro;
    ro.file = file;
    ro.chooser = chooser;
    ro.expected_events = expected_events;
    ro.record_touches = touches;
    return run_scenario(spec, *policy, ro);
  }
  /// Depth of the next step: steps taken after priming.
  size_t depth(const std::vector<StepRecord>& trace) const { return trace.size() - static_cast<size_t>(threads); }
  /// Footprint of step `st` of a run whose earlier steps `sf` has seen (in order).
  Footprint step_fp(StepFootprints& sf, const StepRecord& st, const std::vector<Event>& ev) const {
    StepActor a = actors[static_cast<size_t>(st.thread)];
    a.hardware = st.hardware;
    a.returns = st.op_stores;
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
  for (const std::vector<int>&order : few_switch_orders(threads, [&](size_t i, size_t j) { return dependent(fps[i], fps[j]); })) {
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
  int prev = -1;        ///< thread of the step before (-1 at the first step)
  int preemptions = 0;  ///< preemptions in the schedule before this state
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

/// Stateless DPOR below a fixed schedule prefix (Flanagan and Godefroid 2005, with sleep sets):
/// re-execute from scratch under the stack's choices, extend with the least runnable thread not
/// asleep, then find races in the execution and add backtrack points. A race with a step of the
/// prefix adds nothing: the caller explores every prefix (split_tasks()) as a subtree of its own.
class SubtreeExplorer {
 public:
  SubtreeExplorer(const Setup& su, std::atomic<uint64_t>* progress, int bound) : m_su(su), m_progress(progress), m_bound(bound) {}

  /// The prefix, fixed for this subtree (at least one step); footprints must come from intern().
  /// Each node's `done` holds the siblings explored as tasks before it; sleep sets follow.
  void set_prefix(std::vector<Node> prefix) {
    m_stack = std::move(prefix);
    m_fixed = m_stack.size();
    for (size_t d = 0; d < m_stack.size(); ++d) {
      Node& n = m_stack[d];
      if (d > 0) {
        const Node& up = m_stack[d - 1];
        n.prev = up.chosen;
        n.preemptions = up.cost(up.chosen);
        n.sleep = child_sleep(up);
      }
      n.backtrack = bit(n.chosen);
    }
  }
  FootprintId intern(Footprint f) { return m_fps.intern(std::move(f)); }
  /// Asked before each execution after the first with the executions (explored and pruned) the
  /// subtree would then have run; false stops the search (a budget ran out).
  void set_budget(std::function<bool(uint64_t)> may_run) { m_may_run = std::move(may_run); }

  Aggregate run() {
    size_t fixed = m_fixed;  // the prefix's choices are given
    for (;;) {
      execute(fixed);
      analyse_races(fixed - 1);
      // Deepest node with a backtrack thread neither explored nor asleep.
      int k = static_cast<int>(m_stack.size()) - 1;
      int next = -1;
      for (; k >= static_cast<int>(m_fixed); --k) {
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
    m_agg.spent = m_agg.executions + m_agg.pruned;
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
        if (sl != final_sleep.end() && (final_ready & bit(t)))
          m_pending.push_back(*sl);
        else if (!(final_ready & bit(t)) || r.status == RunResult::Status::StepBudget)
          m_pending.push_back(Sleeper{t, m_fps.intern(footprint_of_everything())});
      }
    }
    if (stopped)
      ++m_agg.pruned;
    else
      add(m_agg, observe(m_su.spec, m_su.policy->name, r), sched, r);
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
      if (m_last_of[tj] >= 0)
        std::copy_n(clock(static_cast<size_t>(m_last_of[tj])), T, vc);
      else
        std::fill_n(vc, T, 0u);
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
    if (i >= m_fixed) m_stack[i].backtrack |= add;  // every prefix is a subtree of its own
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
    if (j >= m_fixed) m_stack[j].backtrack |= add_j;
  }

  const Setup& m_su;
  std::atomic<uint64_t>* m_progress;
  int m_bound;
  mutable bool m_bound_cut = false;  ///< within_bound() ever left a thread out
  std::function<bool(uint64_t)> m_may_run;
  std::vector<Node> m_stack;
  size_t m_fixed = 1;  ///< steps of the prefix: the nodes below it are never backtracked
  Schedule m_sched;
  FootprintTable m_fps;                               ///< footprints of this subtree's steps, and their dependencies
  std::vector<uint32_t> m_clock;                      ///< vector clock of each step: threads entries from step * threads
  std::vector<uint32_t> m_pos;                        ///< index of each step within its thread, from 1
  std::vector<uint32_t> m_count, m_covered, m_below;  ///< scratch of analyse_races
  std::vector<int> m_last_of;                         ///< scratch of analyse_races
  std::vector<Sleeper> m_pending;                     ///< next steps of the last execution that never ran
  std::vector<FootprintId> m_eff;                     ///< each step's footprint, an empty step's being its thread's next
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

/// A step of a task's prefix, as split_tasks() found it.
struct PrefixStep {
  Mask enabled = 0;
  int chosen = -1;
  Footprint fp;                                 ///< footprint of `chosen`'s step here
  std::vector<std::pair<int, Footprint>> done;  ///< siblings taken by earlier tasks, with their footprints
  bool forced = false;
};

/// One task of the exhaustive search: the subtree below a schedule prefix, or, when the
/// search has no step to split at, its only execution.
struct Task {
  std::vector<PrefixStep> prefix;
  std::optional<Aggregate> result;  ///< known without a search
  bool bound_cut = false;           ///< the bound kept a sibling of some prefix step out
  int preemptions = 0;              ///< preemptions the prefix spent
};

/// The state after running `prefix`: whether a choice was offered there, between which threads,
/// and the footprint of the prefix's last step (touching everything if the model broke in it).
struct Probe {
  bool reached = false;
  bool broke = false;
  std::string what;  ///< the check that failed, when the model broke
  Mask ready = 0;
  Footprint last = footprint_of_everything();
};

Probe probe(const Setup& su, const Schedule& prefix) {
  Probe p;
  try {
    StepFootprints sf;
    const RunResult r = su.run([&](uint64_t ready, const std::vector<StepRecord>& trace, const std::vector<Event>& ev) {
      const size_t d = su.depth(trace);
      if (d < prefix.size()) return prefix[d];
      if (d > 0) p.last = su.step_fp(sf, trace.back(), ev);
      p.reached = true;
      p.ready = ready;
      return -1;
    });
    // The run ended right after the prefix: its last step is the prefix's.
    if (!p.reached && !prefix.empty() && !r.trace.empty() && !r.trace.back().priming) p.last = su.step_fp(sf, r.trace.back(), r.events);
  } catch (const InvariantViolation& e) {
    p.broke = true;
    p.what = e.what();
  }
  return p;
}

/// The tasks of the exhaustive search: every schedule prefix of opt.split_depth steps (shorter
/// where the run ends or every thread is asleep or out of the bound), in thread order. Each
/// level takes every thread that DPOR could take there: runnable, within the bound, not asleep
/// (unbounded: a sibling taken by an earlier task whose step commutes with the steps since), and
/// after a step that touched nothing only its own thread (SubtreeExplorer::execute()). Every
/// thread is taken where DPOR takes some, so a race that would ask for another choice in the
/// prefix asks for one that is a task already; the split is sound as the first-step split is.
/// Nothing depends on the shard: every process computes the same list.
std::vector<Task> split_tasks(const Setup& su, const ExploreOptions& opt) {
  std::vector<Task> tasks;
  const Probe root = probe(su, {});
  if (root.broke) {
    // Setup or priming broke the model: every schedule starts there, so that is the only outcome.
    Task t;
    t.result.emplace();
    t.result->add_invariant({}, root.what);
    t.result->spent = 1;
    tasks.push_back(std::move(t));
    return tasks;
  }
  if (!root.reached) {  // nothing to schedule: the run is its own only execution
    Task t;
    t.result.emplace();
    const RunResult r = su.run([](uint64_t, const std::vector<StepRecord>&, const std::vector<Event>&) { return -1; });
    add(*t.result, observe(su.spec, su.policy->name, r), {}, r);
    t.result->spent = 1;
    tasks.push_back(std::move(t));
    return tasks;
  }
  const bool unbounded = opt.preemptions < 0;
  const Footprint everything = footprint_of_everything();
  std::vector<PrefixStep> path;
  Schedule sched;
  /// Depth-first from the state after `path` (probed as `here`), whose sleep set is `sleep`
  /// and which `preemptions` preemptions reached; `cut`: the bound left a sibling out above.
  auto walk = [&](auto&& self, const Probe& here, const std::vector<std::pair<int, Footprint>>& sleep, int preemptions, bool cut) -> void {
    const size_t d = path.size();
    if (d == opt.split_depth || !here.reached || here.broke) {
      tasks.push_back(Task{.prefix = path, .result = std::nullopt, .bound_cut = cut, .preemptions = preemptions});
      return;
    }
    Mask asleep = 0;
    for (const auto& s : sleep) asleep |= bit(s.first);
    const int prev = d ? path.back().chosen : -1;
    auto cost = [&](int t) { return preemptions + (prev >= 0 && t != prev && (here.ready & bit(prev)) ? 1 : 0); };
    Mask cand = 0;
    for (Mask m = here.ready & ~asleep; m; m &= m - 1)
      if (unbounded || cost(std::countr_zero(m)) <= opt.preemptions) cand |= bit(std::countr_zero(m));
    cut = cut || cand != (here.ready & ~asleep);
    bool forced = false;
    if (unbounded && d > 0 && (cand & bit(prev)) && path.back().fp.touches.empty()) {
      cand = bit(prev);
      forced = true;
    }
    if (!cand) {  // every thread asleep or out of the bound: the task's own search prunes it
      tasks.push_back(Task{.prefix = path, .result = std::nullopt, .bound_cut = cut, .preemptions = preemptions});
      return;
    }
    std::vector<std::pair<int, Footprint>> done;
    for (Mask m = cand; m; m &= m - 1) {
      const int t = std::countr_zero(m);
      sched.push_back(t);
      const Probe next = probe(su, sched);
      path.push_back(PrefixStep{.enabled = here.ready, .chosen = t, .fp = next.last, .done = done, .forced = forced});
      // The child's sleep set, as SubtreeExplorer::child_sleep() computes it.
      std::vector<std::pair<int, Footprint>> child;
      if (unbounded)
        for (const std::vector<std::pair<int, Footprint>>* set : {&sleep, static_cast<const decltype(done)*>(&done)})
          for (const auto& s : *set)
            if (s.first != t && !dependent(s.second, next.last)) child.push_back(s);
      std::sort(child.begin(), child.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      self(self, next, child, cost(t), cut);
      path.pop_back();
      sched.pop_back();
      // A sibling whose step touched nothing stands for its thread's next step, unknown here:
      // asleep, it wakes at any step (see SubtreeExplorer::analyse_races()).
      done.emplace_back(t, next.last.touches.empty() ? everything : next.last);
    }
  };
  walk(walk, root, {}, 0, false);
  return tasks;
}

/// The estimated size of every task, by which deal_to_shard() gives opt.shard its tasks (in
/// task order). Bounded, a task's cost grows about 4-5x with each
/// preemption its prefix leaves to spend (docs/explore.md), so tasks are dealt out by that
/// estimate: largest first, each to the shard with the least estimated work so far (ties: the
/// lower shard, then the lower task). Unbounded, every estimate is the same and this is round
/// robin. A function of the task list and the shard count only, as the merge needs.
std::vector<uint64_t> estimates_of(const std::vector<Task>& tasks, const ExploreOptions& opt) {
  std::vector<uint64_t> estimates(tasks.size(), 1);
  if (opt.preemptions >= 0)
    for (size_t i = 0; i < tasks.size(); ++i)
      estimates[i] = uint64_t{1} << (2 * std::min(30, std::max(0, opt.preemptions - tasks[i].preemptions)));  // 4^left
  return estimates;
}

/// Exhaustive exploration of the tasks opt.shard owns, each an independent subtree (run in
/// parallel) whose prefix fixes its first steps and whose sleep sets hold the siblings of
/// earlier tasks. Races with a prefix step would only ask for another prefix, and every one is
/// a task, so the subtrees need nothing from one another. Nothing depends on the number of jobs.
ExplorePart exhaustive_part(const Setup& su, const ExploreOptions& opt) {
  std::vector<Task> tasks = split_tasks(su, opt);
  const std::vector<uint64_t> estimates = estimates_of(tasks, opt);
  const std::vector<size_t> own = deal_to_shard(estimates, opt.shard);
  if (opt.work) {
    uint64_t est = 0;
    for (const size_t i : own) est = sat_add(est, estimates[i]);
    opt.work->start(own.size(), est);
  }
  auto finished = [&](size_t k) {
    if (opt.work) opt.work->finish(estimates[own[k]]);
  };
  std::vector<Aggregate> results(own.size());
  // Budgets (docs/explore.md): a task may run while the executions of the tasks before it and
  // its own stay within opt.max_executions. Each task publishes its count as it goes; an earlier
  // task's count only grows, so a task stopped by this rule is one whose result would be cut
  // anyway, whatever the timing (merge_tasks() makes the cut from final counts, in task
  // order). A shard counts only the tasks it owns, whose sum is at most the whole one's.
  std::vector<std::atomic<uint64_t>> runs(own.size());
  auto within = [&](size_t k, uint64_t mine) {
    if (!opt.max_executions) return true;
    uint64_t sum = mine;
    for (size_t m = 0; m < k; ++m) sum += runs[m].load(std::memory_order_relaxed);
    return sum <= opt.max_executions;
  };
  parallel_for(own.size(), opt.jobs, [&](size_t k) {
    Task& task = tasks[own[k]];
    if (task.result) {
      results[k] = *task.result;
      runs[k].store(results[k].spent, std::memory_order_relaxed);
      finished(k);
      return;
    }
    if (!within(k, 1)) {
      results[k].stopped = true;
      finished(k);
      return;
    }
    SubtreeExplorer ex(su, opt.progress, opt.preemptions);
    bool deadline_hit = false;
    if (opt.max_executions || opt.deadline)
      ex.set_budget([&, k](uint64_t next) {
        runs[k].store(next - 1, std::memory_order_relaxed);
        if (opt.deadline && std::chrono::steady_clock::now() >= *opt.deadline) {
          deadline_hit = true;
          return false;
        }
        return within(k, next);
      });
    std::vector<Node> prefix;
    for (const PrefixStep& p : task.prefix) {
      Node n;
      n.enabled = p.enabled;
      n.chosen = p.chosen;
      n.fp = ex.intern(p.fp);
      n.forced = p.forced;
      for (const auto& [t, fp] : p.done) n.done.push_back(Sleeper{t, ex.intern(fp)});
      prefix.push_back(std::move(n));
    }
    ex.set_prefix(std::move(prefix));
    results[k] = ex.run();
    results[k].bound_cut = results[k].bound_cut || task.bound_cut;
    results[k].deadline_hit = deadline_hit;
    runs[k].store(results[k].spent, std::memory_order_relaxed);
    finished(k);
  });
  ExplorePart part;
  part.tasks = tasks.size();
  for (size_t k = 0; k < own.size(); ++k) part.done.push_back(TaskResult{.index = own[k], .result = std::move(results[k])});
  return part;
}

/// Every part's tasks in task order, each exactly once, all parts of one split.
std::vector<const Aggregate*> gather(const std::vector<ExplorePart>& parts) {
  if (parts.empty()) throw std::invalid_argument("no part to merge");
  const uint64_t n = parts.front().tasks;
  uint64_t held = 0;
  for (const ExplorePart& p : parts) held += p.done.size();
  // Every task once: no more tasks than entries (and nothing allocated for a count that is not).
  if (held != n)
    throw std::invalid_argument("the parts hold " + std::to_string(held) + " task results for a split into " + std::to_string(n) +
                                " tasks");
  std::vector<const Aggregate*> out(n, nullptr);
  for (const ExplorePart& p : parts) {
    if (p.tasks != n)
      throw std::invalid_argument("parts of different splits: " + std::to_string(n) + " and " + std::to_string(p.tasks) + " tasks");
    for (const TaskResult& t : p.done) {
      if (t.index >= n) throw std::invalid_argument("task " + std::to_string(t.index) + " beyond the " + std::to_string(n) + " tasks");
      if (out[t.index]) throw std::invalid_argument("task " + std::to_string(t.index) + " held twice");
      out[t.index] = &t.result;
    }
  }
  for (uint64_t i = 0; i < n; ++i)
    if (!out[i]) throw std::invalid_argument("task " + std::to_string(i) + " missing");
  return out;
}

/// The whole exhaustive search from its tasks' results: the first task that stopped, or that
/// takes the total past the budget, ends the search; it and the later tasks are left out
/// (whether they finished depends on timing, or on the shard).
Aggregate merge_tasks(const std::vector<ExplorePart>& parts, const ExploreOptions& opt) {
  const std::vector<const Aggregate*> tasks = gather(parts);
  Aggregate agg;
  uint64_t counted = 0, spent = 0;
  for (const Aggregate* r : tasks) {
    agg.deadline_hit = agg.deadline_hit || r->deadline_hit;
    spent += r->spent;
  }
  for (const Aggregate* r : tasks) {
    counted += r->executions + r->pruned;
    if (r->stopped || (opt.max_executions && counted > opt.max_executions)) {
      agg.stopped = true;
      break;
    }
    agg.merge(*r);
  }
  agg.spent = agg.stopped ? (opt.max_executions ? std::min(spent, opt.max_executions) : spent) : agg.executions + agg.pruned;
  return agg;
}

/// Random mode: run i follows a schedule drawn from seed + i, so runs can be split among jobs
/// and shards (the runs whose index is the shard's modulo the shard count).
ExplorePart random_part(const Setup& su, const ExploreOptions& opt) {
  const unsigned jobs = std::max(1u, opt.jobs);
  std::vector<Aggregate> parts(jobs);
  const uint64_t stride = opt.shard.count;
  parallel_for(jobs, jobs, [&](size_t w) {
    for (uint64_t i = opt.shard.index + w * stride; i < opt.runs; i += jobs * stride) {
      SplitMix64 rng(opt.seed + i);
      Schedule picks;
      RunResult r;
      try {
        r = su.run(
            [&](uint64_t ready, const std::vector<StepRecord>&, const std::vector<Event>&) {
              const uint64_t k = rng.below(static_cast<uint64_t>(std::popcount(ready)));
              Mask m = ready;
              for (uint64_t x = 0; x < k; ++x) m &= m - 1;
              picks.push_back(std::countr_zero(m));
              return picks.back();
            },
            /*expected_events=*/0, /*touches=*/false);
      } catch (const InvariantViolation& e) {
        parts[w].add_invariant(picks, e.what());
        if (opt.progress) opt.progress->fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      add(parts[w], observe(su.spec, su.policy->name, r), schedule_of(r), r);
      if (opt.progress) opt.progress->fetch_add(1, std::memory_order_relaxed);
    }
  });
  ExplorePart out;
  out.tasks = opt.shard.count;
  out.done.push_back(TaskResult{.index = opt.shard.index});
  for (const Aggregate& p : parts) out.done.back().result.merge(p);
  out.done.back().result.spent = out.done.back().result.executions;
  return out;
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

namespace {

void check_thread_count(const ScenarioSpec& s, const ExploreOptions& opt) {
  // A step's runnable threads are a 64-bit mask. Reported at the first thread beyond it.
  if (s.threads.size() > 64) {
    const ThreadSpec& t = s.threads[64];
    throw ScenarioError({Diagnostic{
        .file = opt.file,
        .pointer = t.pointer,
        .line = t.line,
        .column = t.column,
        .message = "explore handles at most 64 threads, scenario " + in_quotes(s.name) + " has " + std::to_string(s.threads.size())}});
  }
}

}  // namespace

ExplorePart explore_part(const ScenarioSpec& s, const kernel::Policy& policy, const ExploreOptions& opt) {
  check_thread_count(s, opt);
  if (opt.shard.count == 0 || opt.shard.index >= opt.shard.count)
    throw std::invalid_argument("shard " + std::to_string(opt.shard.index) + " of " + std::to_string(opt.shard.count));
  const Setup su = make_setup(s, policy, opt);
  return opt.mode == ExploreOptions::Mode::Exhaustive ? exhaustive_part(su, opt) : random_part(su, opt);
}

std::vector<uint64_t> task_estimates(const ScenarioSpec& s, const kernel::Policy& policy, const ExploreOptions& opt) {
  check_thread_count(s, opt);
  if (opt.mode != ExploreOptions::Mode::Exhaustive) throw std::invalid_argument("task_estimates: tasks are of exhaustive mode");
  return estimates_of(split_tasks(make_setup(s, policy, opt), opt), opt);
}

ExploreResult explore(const ScenarioSpec& s, const kernel::Policy& policy, const ExploreOptions& opt) {
  ExploreOptions whole = opt;
  whole.shard = Shard{};
  return explore_merge(s, policy, whole, {explore_part(s, policy, whole)});
}

ExploreResult explore_merge(const ScenarioSpec& s, const kernel::Policy& policy, const ExploreOptions& opt,
                            const std::vector<ExplorePart>& parts) {
  check_thread_count(s, opt);
  const Setup su = make_setup(s, policy, opt);
  Aggregate agg;
  if (opt.mode == ExploreOptions::Mode::Exhaustive) {
    agg = merge_tasks(parts, opt);
  } else {
    for (const Aggregate* p : gather(parts)) agg.merge(*p);
  }
  ExploreResult r;
  r.scenario = s.name;
  r.policy = policy.name;
  r.mode = opt.mode;
  r.executions = agg.executions;
  r.pruned = agg.pruned;
  r.distinct_outcomes = agg.outcomes.size();
  r.preemptions = opt.mode == ExploreOptions::Mode::Exhaustive ? opt.preemptions : -1;
  r.budget = agg.budget;
  r.max_steps = su.spec.max_steps;
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
    for (const auto& [key, bound] : ordered_expectations(it->second)) {
      PropertyResult p{.name = key + " " + bound.text()};
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
