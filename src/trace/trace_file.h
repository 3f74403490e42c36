// SPDX-License-Identifier: MIT
#pragma once
/// The trace `tlbsim record` writes, and reading any trace `tlbsim import` takes.
///
/// A recording is JSON Lines (docs/workloads.md): a header object first
///   {"format": "tlbsim-trace", "version": 1, "command": [...], "kernel": "6.1.0-...",
///    "clock": "CLOCK_REALTIME", "exit_status": 0, "strace": [...], "perf": [...]}
/// then one object per line, in any order:
///   {"strace": "6717  1796494917.836664 brk(NULL) = 0x5625..."}   a line of strace's log
///   {"fault": {"pid": 6717, "tid": 6717, "time": "1796494917.836901", "addr": "0x7f99..."}}
/// where a fault is one page fault perf sampled (every one: -c 1), with the data address and a
/// time on strace's clock. A plain `strace -f -ttt` log (no header) is read as a trace with no
/// faults.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "trace/strace_parser.h"

namespace tlbsim::trace {

inline constexpr std::string_view kTraceFormat = "tlbsim-trace";
inline constexpr int kTraceVersion = 1;

/// A page fault of task `tid` (thread group `pid`) on the page of `addr`.
struct PageFault {
  size_t line = 0;
  uint32_t pid = 0, tid = 0;
  uint64_t time_us = 0;
  uint64_t addr = 0;
};

// NOLINTNEXTLINE(bugprone-exception-escape): nlohmann::json's noexcept move asserts its invariant
struct Trace {
  nlohmann::json header;  ///< null for a plain strace log
  std::vector<TraceRecord> records;
  std::vector<PageFault> faults;  ///< in time order (stable)
  std::vector<TraceLineError> errors;
};

/// Reads a recording or a plain strace log. Lines that cannot be read go to `errors` (at most
/// `max_errors` of them are kept; every one is skipped).
Trace read_trace(std::string_view text, size_t max_errors, uint64_t* unreadable);

/// A line of `perf script -F pid,tid,time,addr` ("  6717/6717  1796494917.836901:   7f99..."),
/// or nothing if it is not one.
std::optional<PageFault> parse_perf_line(std::string_view line);

/// The line a recording stores for a fault.
std::string fault_line(const PageFault& f);

}  // namespace tlbsim::trace
