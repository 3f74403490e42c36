// SPDX-License-Identifier: MIT
// Progress lines (src/cli/progress.cpp): executions and their rate, and how far a process is
// through the tasks or cells it was dealt, with the time left extrapolated from the estimated
// work done.
#include <catch2/catch.hpp>

#include "cli/progress.h"

using tlbsim::scenarios::WorkProgress;

TEST_CASE("progress_line: executions and rate, and the time left when the total is known", "[cli]") {
  CHECK(tlbsim::cli::progress_line(300, 0, 2.0) == "explored 300 executions (150/s)");
  CHECK(tlbsim::cli::progress_line(300, 1200, 2.0) == "explored 300 of 1200 executions (150/s, about 6 s left)");
  CHECK(tlbsim::cli::progress_line(1200, 1200, 8.0) == "explored 1200 of 1200 executions (150/s)");
  CHECK(tlbsim::cli::progress_line(0, 1200, 0.0) == "explored 0 of 1200 executions (0/s)");
}

TEST_CASE("work_line: items done, the estimated share of the work and the time left at that pace", "[cli]") {
  WorkProgress w;
  CHECK(tlbsim::cli::work_line("tasks", w, 0.0).empty());
  w.start(4, 100);
  w.started_at = 10.0;
  CHECK(tlbsim::cli::work_line("tasks", w, 12.0) == "0 of 4 tasks, about 0% of the estimated work");
  w.finish(64);
  w.finish(16);
  // 80% of the estimate in 8 s: about 2 s left.
  CHECK(tlbsim::cli::work_line("tasks", w, 18.0) == "2 of 4 tasks, about 80% of the estimated work (about 2 s left)");
  w.finish(10);
  w.finish(10);
  CHECK(tlbsim::cli::work_line("cells", w, 20.0) == "4 of 4 cells, about 100% of the estimated work");
  // start() counts over.
  w.start(2, 2);
  CHECK(tlbsim::cli::work_line("cells", w, tlbsim::scenarios::steady_seconds()) == "0 of 2 cells, about 0% of the estimated work");
}

TEST_CASE("steps_line: a run's steps and their rate", "[cli]") {
  CHECK(tlbsim::cli::steps_line(300, 2.0) == "300 steps (150/s)");
  CHECK(tlbsim::cli::steps_line(0, 0.0) == "0 steps (0/s)");
}
