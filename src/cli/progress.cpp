// SPDX-License-Identifier: MIT
#include "cli/progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace tlbsim::cli {

using ull = unsigned long long;

std::string progress_line(uint64_t done, uint64_t total, double seconds) {
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
  char buf[160];
  if (total > 0 && done > 0 && done < total && rate > 0)
    std::snprintf(buf, sizeof buf, "explored %llu of %llu executions (%.0f/s, about %.0f s left)", ull(done), ull(total), rate,
                  static_cast<double>(total - done) / rate);
  else if (total > 0)
    std::snprintf(buf, sizeof buf, "explored %llu of %llu executions (%.0f/s)", ull(done), ull(total), rate);
  else
    std::snprintf(buf, sizeof buf, "explored %llu executions (%.0f/s)", ull(done), rate);
  return buf;
}

std::string steps_line(uint64_t done, double seconds) {
  char buf[80];
  std::snprintf(buf, sizeof buf, "%llu steps (%.0f/s)", ull(done), seconds > 0 ? static_cast<double>(done) / seconds : 0.0);
  return buf;
}

std::string work_line(const char* unit, const scenarios::WorkProgress& w, double now) {
  const uint64_t items = w.items.load(), done = std::min(w.items_done.load(), items);
  const uint64_t est = w.estimate.load(), est_done = std::min(w.estimate_done.load(), est);
  if (items == 0) return {};
  char buf[200];
  const double share = est ? static_cast<double>(est_done) / static_cast<double>(est) : 0.0;
  const double elapsed = std::max(0.0, now - w.started_at.load());
  if (share > 0 && share < 1)
    std::snprintf(buf, sizeof buf, "%llu of %llu %s, about %.0f%% of the estimated work (about %.0f s left)", ull(done), ull(items), unit,
                  100 * share, elapsed * (1 - share) / share);
  else
    std::snprintf(buf, sizeof buf, "%llu of %llu %s, about %.0f%% of the estimated work", ull(done), ull(items), unit, 100 * share);
  return buf;
}

ProgressReporter::ProgressReporter(std::function<std::string(double)> line, std::optional<double> every) {
  const bool tty = isatty(STDERR_FILENO);
  if (!every && !tty) return;
  m_thread = std::thread([this, line = std::move(line), every] {
    const auto t0 = std::chrono::steady_clock::now();
    const auto period = every ? std::chrono::duration<double>(*every) : std::chrono::duration<double>(0.5);
    std::unique_lock lk(m_mu);
    size_t width = 0;
    while (!m_cv.wait_for(lk, period, [this] { return m_stop; })) {
      const std::string text = line(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      if (every) {
        std::fprintf(stderr, "%s\n", text.c_str());
        continue;
      }
      width = std::max(width, text.size());
      std::fprintf(stderr, "\r%-*s", static_cast<int>(width), text.c_str());
    }
    // A log (--progress) ends with the final state; a terminal line is wiped.
    if (every)
      std::fprintf(stderr, "%s\n", line(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()).c_str());
    else
      std::fprintf(stderr, "\r%*s\r", static_cast<int>(width), "");
  });
}

ProgressReporter::~ProgressReporter() { stop(); }

void ProgressReporter::stop() {
  if (!m_thread.joinable()) return;
  {
    std::lock_guard lk(m_mu);
    m_stop = true;
  }
  m_cv.notify_all();
  m_thread.join();
}

}  // namespace tlbsim::cli
