// SPDX-License-Identifier: MIT
// tlbsim explore: every interleaving (up to partial-order equivalence) or a random sample of
// them, per scenario and policy: Never / Sometimes / Always per window class, finding and
// expectation, with the shortest witness schedule, replayable with `tlbsim run --schedule`.
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/cli_common.h"
#include "cli/numeric_option.h"
#include "cli/output_set.h"
#include "scenarios/witness_export.h"
#include "kernel/policy.h"
#include "scenarios/explore.h"

namespace tlbsim::cli {

using namespace tlbsim::scenarios;

namespace {

std::string format_count(double v) {
  char buf[64];
  if (v < 1e15) std::snprintf(buf, sizeof buf, "%.0f", v);
  else std::snprintf(buf, sizeof buf, "%.3g", v);
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
  std::string out = s.name + " under " + r.policy + ": " + scope_text(r) + ", " + std::to_string(r.executions) +
                    " executions explored, " + std::to_string(r.pruned) + " pruned, " +
                    plural(r.distinct_outcomes, "distinct outcome") + " (" + naive_text(r) + ")\n";
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
    out += "  step budget of " + std::to_string(s.max_steps) + " exceeded by " + schedule_text(s, r.budget->schedule) + "\n";
    for (const auto& t : r.budget->threads)
      out += "    " + t.name + ": " + (t.done ? "done" : (t.runnable ? "runnable at " : "blocked at ") + t.next) + "\n";
  }
  if (r.invariant)
    out += "  model invariant violated by " + schedule_text(s, r.invariant->first) + ": " + r.invariant->second + "\n";
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
    if (r.stopped) scope["stopped_round"] = J{{"preemptions", r.stopped->preemptions}, {"executions", r.stopped->executions}};
    else scope["stopped_round"] = nullptr;
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
    b["max_steps"] = s.max_steps;
    b["schedule"] = schedule_json(s, r.budget->schedule);
    J th = J::array();
    for (const auto& t : r.budget->threads)
      th.push_back(J{{"name", t.name}, {"state", t.done ? "done" : t.runnable ? "runnable" : "blocked"}, {"at", t.done ? J(nullptr) : J(t.next)}});
    b["threads"] = th;
    j["step_budget_exceeded"] = b;
  } else {
    j["step_budget_exceeded"] = nullptr;
  }
  if (r.invariant) j["invariant"] = J{{"schedule", schedule_json(s, r.invariant->first)}, {"check", r.invariant->second}};
  else j["invariant"] = nullptr;
  return j;
}

/// Executions per second on stderr while exploring, only when stderr is a terminal.
class Progress {
 public:
  /// `total`: executions to run in all when known (random mode), else 0.
  Progress(std::atomic<uint64_t>& n, uint64_t total) : m_n(n) {
    if (!isatty(STDERR_FILENO)) return;
    m_thread = std::thread([this, total] {
      const auto t0 = std::chrono::steady_clock::now();
      std::unique_lock lk(m_mu);
      size_t width = 0;
      while (!m_cv.wait_for(lk, std::chrono::milliseconds(500), [this] { return m_stop; })) {
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const std::string line = progress_line(m_n.load(), total, s);
        width = std::max(width, line.size());
        std::fprintf(stderr, "\r%-*s", static_cast<int>(width), line.c_str());
      }
      std::fprintf(stderr, "\r%*s\r", static_cast<int>(width), "");
    });
  }
  ~Progress() {
    if (!m_thread.joinable()) return;
    {
      std::lock_guard lk(m_mu);
      m_stop = true;
    }
    m_cv.notify_all();
    m_thread.join();
  }

 private:
  std::atomic<uint64_t>& m_n;
  std::thread m_thread;
  std::mutex m_mu;
  std::condition_variable m_cv;
  bool m_stop = false;
};

}  // namespace

int cmd_explore(const std::vector<std::string>& args) {
  po::options_description opts("tlbsim explore [FILE...] [options]");
  opts.add_options()("help,h", "show this help");
  add_selection_options(opts, "explore only these scenarios");
  opts.add_options()
      ("mode", po::value<std::string>()->default_value("exhaustive"), "exhaustive (every schedule up to reordering of independent steps) or random")
      ("runs", po::value<std::string>()->default_value("1000"), "random mode: schedules to sample (at least 1)")
      ("seed", po::value<std::string>()->default_value("1"), "random mode: seed of the first schedule (0 to 2^64-1)")
      ("max-steps", po::value<std::string>(), "step budget per execution, 1 to 2^32 (default: the scenario's max_steps)")
      ("preemptions", po::value<std::string>(), "exhaustive mode: one search with at most this many preemptions per schedule, -1 (unbounded) to 64. Default: iterative context bounding from the scenario's \"explore\" bound (else 0) up, until a search completes unbounded or the budget runs out (docs/explore.md)")
      ("budget-executions", po::value<std::string>()->default_value(std::to_string(kDefaultExecutionBudget)), "exhaustive mode: executions per scenario and policy, over all bounds (0: no limit); deterministic, the same for every --jobs")
      ("budget", po::value<std::string>(), "exhaustive mode: also stop each scenario and policy after this many seconds, more than 0 (the output then depends on the machine's speed)")
      ("json", po::value<std::string>(), "also write the report as JSON to this file")
      ("jobs,j", po::value<std::string>()->default_value("1"), "worker threads, 1 to 256 (the output does not depend on it, unless --budget stops a search)")
      ("witness", po::value<std::string>(), "property whose witness --dot/--trace show (default: the worst one found)")
      ("dot", po::value<std::string>(), "write the happens-before graph of the witness (Graphviz); needs one scenario and policy")
      ("trace", po::value<std::string>(), "write the witness as a Chrome/Perfetto trace (JSON); needs one scenario and policy")
      ("time", "print the time each exploration took on stderr");
  const auto vm = parse(args, opts, "file");
  if (vm.count("help")) {
    std::cout << opts << "\n";
    return kExitOk;
  }
  const Selection sel = read_selection(vm);
  ExploreOptions eo;
  const std::string mode = vm["mode"].as<std::string>();
  if (mode == "exhaustive") eo.mode = ExploreOptions::Mode::Exhaustive;
  else if (mode == "random") eo.mode = ExploreOptions::Mode::Random;
  else throw UsageError("--mode: expected exhaustive or random, got \"" + mode + "\"");
  eo.runs = *uint_option(vm, "runs", 1, kMaxU64);
  eo.seed = *uint_option(vm, "seed", 0, kMaxU64);
  // The same limit as a scenario's own max_steps.
  eo.max_steps = uint_option(vm, "max-steps", 1, uint64_t{1} << 32).value_or(0);
  eo.jobs = static_cast<unsigned>(*uint_option(vm, "jobs", 1, 256));
  std::optional<int> preemptions;
  if (const auto k = int_option(vm, "preemptions", -1, kMaxExplorePreemptions)) preemptions = static_cast<int>(*k);
  eo.max_executions = *uint_option(vm, "budget-executions", 0, kMaxU64);
  const std::optional<double> seconds = seconds_option(vm, "budget", 1e9);
  const bool want_witness = vm.count("dot") || vm.count("trace");
  OutputSet outputs(scenario_inputs(sel.files), named_outputs(vm, {"json", "dot", "trace"}));

  const std::vector<ScenarioFile> loaded = load_all(sel.files, sel.limits);
  check_scenario_names(loaded, sel.only);

  struct Job {
    const ScenarioFile* file;
    const ScenarioSpec* spec;
    std::string policy;
  };
  std::vector<Job> jobs;
  for (const ScenarioFile& f : loaded)
    for (const ScenarioSpec& s : f.scenarios) {
      if (!sel.selects(s)) continue;
      for (const auto& p : policies_for(s, sel.policies)) jobs.push_back(Job{&f, &s, p});
    }
  if (want_witness && jobs.size() != 1)
    throw UsageError("--dot and --trace need exactly one scenario and one policy (use --scenario and --policy)");

  // Every execution builds and frees a whole machine; keep freed memory in the process instead
  // of returning it to the OS and faulting it back in thousands of times a second.
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  std::atomic<uint64_t> done{0};
  eo.progress = &done;
  Progress progress(done, eo.mode == ExploreOptions::Mode::Random ? eo.runs * jobs.size() : 0);
  std::string text;
  nlohmann::ordered_json json_results = nlohmann::ordered_json::array();
  size_t disagree = 0, unestablished = 0;
  const auto t_all = std::chrono::steady_clock::now();
  for (const Job& j : jobs) {
    eo.file = j.file->path;
    const auto t0 = std::chrono::steady_clock::now();
    if (seconds) eo.deadline = t0 + std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(*seconds));
    const ExploreResult r = explore_rounds(*j.spec, *kernel::find_policy(j.policy), eo, preemptions);
    const std::vector<VerdictCheck> checks = check_verdicts(*j.spec, r);
    for (const VerdictCheck& c : checks) {
      disagree += c.status == VerdictCheck::Status::Disagrees;
      unestablished += c.status == VerdictCheck::Status::NotEstablished;
    }
    if (vm.count("time"))
      std::cerr << j.spec->name << " under " << j.policy << ": "
                << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s\n";
    text += report(*j.spec, r, checks);
    if (vm.count("json")) json_results.push_back(json_report(j.file->path, *j.spec, r, checks, eo.max_executions));
    if (want_witness) {
      const std::string want = vm.count("witness") ? vm["witness"].as<std::string>() : "";
      const PropertyResult* pick = pick_witness(r, want);
      if (!pick) throw UsageError(want.empty() ? "no property holds in any execution: nothing to draw"
                                               : "no witness for \"" + want + "\" (it holds in no execution, or is no property)");
      const RunResult run = replay(*j.spec, *kernel::find_policy(j.policy), *pick->witness, eo.max_steps);
      if (vm.count("dot")) outputs.set("--dot", happens_before_dot(*j.spec, run));
      if (vm.count("trace")) outputs.set("--trace", trace_json(*j.spec, run));
    }
  }
  if (vm.count("time"))
    std::cerr << "total: " << std::chrono::duration<double>(std::chrono::steady_clock::now() - t_all).count() << " s\n";
  if (vm.count("json")) {
    nlohmann::ordered_json doc;
    doc["results"] = std::move(json_results);
    doc["verdicts_disagreeing"] = disagree;
    doc["verdicts_not_established"] = unestablished;
    doc["exit"] = disagree ? kExitExpectation : kExitOk;
    outputs.set("--json", doc.dump(2) + "\n");
  }
  outputs.commit();
  if (disagree || unestablished)
    text += std::to_string(disagree) + " stated verdict" + (disagree == 1 ? "" : "s") + " disagreeing, " +
            std::to_string(unestablished) + " not established\n";
  std::cout << text;
  return disagree ? kExitExpectation : kExitOk;
}

}  // namespace tlbsim::cli
