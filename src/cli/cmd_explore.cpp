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

#include "cli/cli_common.h"
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

/// "exhaustive up to 2 preemptions", "exhaustive" (unbounded) or "random".
std::string mode_text(const ExploreResult& r) {
  if (r.mode == ExploreOptions::Mode::Random) return "random";
  if (r.preemptions < 0) return "exhaustive";
  return "exhaustive up to " + plural(static_cast<uint64_t>(r.preemptions), "preemption");
}

/// What plain enumeration would run: every interleaving, and those within the bound.
std::string naive_text(const ExploreResult& r) {
  std::string out = "naive interleavings " + format_count(r.naive_interleavings);
  if (r.mode == ExploreOptions::Mode::Exhaustive && r.preemptions >= 0)
    out += ", " + (r.naive_bounded > 0 ? format_count(r.naive_bounded) : std::string("too many to count")) + " within the bound";
  return out;
}

std::string report(const ScenarioSpec& s, const ExploreResult& r) {
  std::string out = s.name + " under " + r.policy + ": " + mode_text(r) + ", " + std::to_string(r.executions) +
                    " executions explored, " + std::to_string(r.pruned) + " pruned, " +
                    plural(r.distinct_outcomes, "distinct outcome") + " (" + naive_text(r) + ")\n";
  size_t w = 0;
  for (const auto& p : r.properties) w = std::max(w, p.name.size());
  for (const auto& p : r.expectations) w = std::max(w, p.name.size() + 7);
  auto line = [&](const std::string& name, const PropertyResult& p, const char* witness_word, bool show) {
    std::string l = "  " + name + std::string(w - name.size() + 2, ' ');
    const std::string v(to_string(p.verdict));
    l += v + std::string(10 - v.size(), ' ') + std::to_string(p.count) + "/" + std::to_string(r.executions);
    if (show && p.witness) l += "  " + std::string(witness_word) + " " + schedule_text(s, *p.witness);
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
  return out;
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
      ("runs", po::value<uint64_t>()->default_value(1000), "random mode: schedules to sample")
      ("seed", po::value<uint64_t>()->default_value(1), "random mode: seed of the first schedule")
      ("max-steps", po::value<uint64_t>(), "step budget per execution (default: the scenario's max_steps)")
      ("preemptions", po::value<int>(), "exhaustive mode: at most this many preemptions per schedule (-1: unbounded; default: the scenario's \"explore\" bound, else 2; see docs/explore.md)")
      ("jobs,j", po::value<unsigned>()->default_value(1), "worker threads (the output does not depend on it)")
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
  eo.runs = vm["runs"].as<uint64_t>();
  eo.seed = vm["seed"].as<uint64_t>();
  if (vm.count("max-steps")) {
    eo.max_steps = vm["max-steps"].as<uint64_t>();
    if (eo.max_steps == 0) throw UsageError("--max-steps: expected at least 1");
  }
  eo.jobs = vm["jobs"].as<unsigned>();
  const std::optional<int> preemptions = vm.count("preemptions") ? std::optional<int>(vm["preemptions"].as<int>()) : std::nullopt;
  if (eo.jobs == 0 || eo.jobs > 256) throw UsageError("--jobs: expected 1..256");
  const bool want_witness = vm.count("dot") || vm.count("trace");

  const std::vector<ScenarioFile> loaded = load_all(sel.files);
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
  const auto t_all = std::chrono::steady_clock::now();
  for (const Job& j : jobs) {
    eo.file = j.file->path;
    eo.preemptions = preemption_bound(*j.spec, preemptions);
    const auto t0 = std::chrono::steady_clock::now();
    const ExploreResult r = explore(*j.spec, *kernel::find_policy(j.policy), eo);
    if (vm.count("time"))
      std::cerr << j.spec->name << " under " << j.policy << ": "
                << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s\n";
    text += report(*j.spec, r);
    if (want_witness) {
      const std::string want = vm.count("witness") ? vm["witness"].as<std::string>() : "";
      const PropertyResult* pick = pick_witness(r, want);
      if (!pick) throw UsageError(want.empty() ? "no property holds in any execution: nothing to draw"
                                               : "no witness for \"" + want + "\" (it holds in no execution, or is no property)");
      const RunResult run = replay(*j.spec, *kernel::find_policy(j.policy), *pick->witness, eo.max_steps);
      if (vm.count("dot")) write_atomically(vm["dot"].as<std::string>(), happens_before_dot(*j.spec, run));
      if (vm.count("trace")) write_atomically(vm["trace"].as<std::string>(), trace_json(*j.spec, run));
    }
  }
  if (vm.count("time"))
    std::cerr << "total: " << std::chrono::duration<double>(std::chrono::steady_clock::now() - t_all).count() << " s\n";
  std::cout << text;
  return kExitOk;
}

}  // namespace tlbsim::cli
