// SPDX-License-Identifier: MIT
#pragma once
/// Progress of a long command on stderr: explore's executions, run's steps, and the tasks or sweep cells a
/// process was dealt with their estimated share of its work. On a terminal a line is redrawn in
/// place twice a second; with --progress SECONDS (what a shard under Slurm or GNU parallel
/// writes to its log) a line of its own every SECONDS. Never on stdout, so reports are unchanged.
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "scenarios/shard.h"

namespace tlbsim::cli {

/// "explored D executions (R/s)", with "of T" and the time left at that rate when the total is
/// known (random mode: runs times scenario-policy pairs; 0: unknown).
std::string progress_line(uint64_t done, uint64_t total, double seconds);

/// "D steps (R/s)": a run's steps so far, for `tlbsim run`.
std::string steps_line(uint64_t done, double seconds);

/// "D of N UNIT, about P% of the estimated work (about S s left)": how far a process is through
/// the items it was dealt, the time left extrapolated from the estimated work done since they
/// were dealt (`now`: scenarios::steady_seconds()). Empty when no item was dealt yet.
std::string work_line(const char* unit, const scenarios::WorkProgress& w, double now);

class ProgressReporter {
 public:
  /// `line(seconds since start)` is printed: every `every` seconds if given, as its own line,
  /// and once more when the reporter is destroyed (the final state); else only when stderr is a
  /// terminal, redrawn in place every half second and wiped at the end.
  ProgressReporter(std::function<std::string(double)> line, std::optional<double> every);
  /// Print the final state and stop, before the command writes its report: stdout is buffered,
  /// so a line printed after it may land inside a line of the report where the two streams share
  /// a file (a shard's log). The destructor stops it if this was not called.
  void stop();
  ~ProgressReporter();
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

 private:
  std::thread m_thread;
  std::mutex m_mu;
  std::condition_variable m_cv;
  bool m_stop = false;
};

}  // namespace tlbsim::cli
