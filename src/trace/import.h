// SPDX-License-Identifier: MIT
#pragma once
/// A recorded program turned into a scenario: one mm per process image (each execve starts a
/// new one, each fork makes a child), one CPU thread per task and image, the memory system
/// calls as ops with their real addresses and lengths, and the recorded order as the schedule
/// (one "T:op" step per op). docs/workloads.md lists what each call becomes.
///
/// The importer keeps its own view of every process's mappings, because a scenario may only
/// name memory that a VMA or an op of the process maps: what the kernel mapped without a traced
/// call (the program and interpreter execve loads, the stack, the vDSO) is unknown to it, and a
/// call on such memory is imported only for the part the trace mapped (the rest is counted).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "trace/strace_parser.h"
#include "trace/trace_file.h"

namespace tlbsim::trace {

struct ImportOptions {
  /// Which process a device is bound to: none; the first traced process (the program as its
  /// last execve left it); the process with this id (as its last execve left it); or the
  /// process image whose CPU touches the most pages (Busiest; a fork's copy cannot be bound,
  /// and with no page faults it is First).
  enum class Device : uint8_t { None, First, Pid, Busiest } device = Device::First;
  uint32_t device_pid = 0;
  std::string decoding = "amd";  ///< the device's decoding (a driver family follows each policy)
  /// What the device does: nothing; after each CPU page touch in its process the same touch by
  /// DMA (Mirror); or that, and after each call of its process that changed mappings a DMA
  /// read of the `window` most recently touched pages still present (Window), so that an
  /// invalidation covering more than the call changed costs it refills.
  enum class DeviceAccess : uint8_t { None, Mirror, Window } device_access = DeviceAccess::Mirror;
  uint32_t window = 0;  ///< DeviceAccess::Window: pages the device keeps re-touching
  uint32_t cpus = 4;    ///< CPUs of the machine; tasks take them in turn
  std::string name = "imported";
  std::string source;  ///< where the trace came from (the scenario's "source")
};

/// What the import did with the trace, for the user to judge how much of it the scenario holds.
struct ImportSummary {
  uint64_t records = 0;   ///< system calls and task ends read
  uint64_t imported = 0;  ///< calls that became one or more ops
  uint64_t failed = 0;    ///< calls that returned an error: nothing changed, nothing imported
  uint64_t unfinished = 0;
  /// Calls with no effect on mappings the model follows (wait4, arch_prctl, ...) by name, and
  /// parts of calls left out, by reason ("madvise MADV_WILLNEED", "range never mapped by a traced
  /// call", "PROT_NONE imported as read-only", ...).
  std::map<std::string, uint64_t> ignored;
  std::map<std::string, uint64_t> approximated;
  uint64_t faults = 0;                           ///< page faults read
  uint64_t touches = 0;                          ///< faults that became (part of) a CPU read or write op
  uint64_t device_touches = 0;                   ///< pages the device touches after them (--device-access mirror, window:N)
  uint64_t device_retouches = 0;                 ///< pages the device touches again after a call (--device-access window:N)
  uint64_t processes = 0, threads = 0, ops = 0;  ///< the scenario's process images (mms), threads and ops
  /// The most pages the traced calls had mapped at once, over all processes (what execve maps
  /// without a traced call not included).
  uint64_t peak_mapped_pages = 0;
};

// NOLINTNEXTLINE(bugprone-exception-escape): nlohmann::json's noexcept move asserts its invariant
struct ImportResult {
  nlohmann::ordered_json document;  ///< a scenario file with one scenario
  ImportSummary summary;
};

/// A problem with the trace itself (a task that appears twice, more tasks than a scenario may
/// have), at the record's line.
struct ImportError {
  size_t line = 0;
  std::string message;
};

/// Builds the scenario from `records` (StraceParser::finish()) and the page `faults` in time
/// order, each placed before the first call that began after it. Throws ImportErrorException.
ImportResult import_trace(const std::vector<TraceRecord>& records, const ImportOptions& opt, const std::vector<PageFault>& faults = {});

class ImportErrorException : public std::runtime_error {
 public:
  explicit ImportErrorException(ImportError e) : std::runtime_error(e.message), m_error(std::move(e)) {}
  const ImportError& error() const { return m_error; }

 private:
  ImportError m_error;
};

}  // namespace tlbsim::trace
