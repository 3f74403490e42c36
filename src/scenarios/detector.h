// SPDX-License-Identifier: MIT
#pragma once
/// The stale-translation window detector. It reads only the event log (and, for a run, where
/// each scheduler step's events begin and end): it mirrors every PTE store and every cache
/// fill/drop, opens a window when a cached translation grants more than its PTE (or its
/// upper-level entry) now does, re-judges it at every later store to that PTE, follows the frame
/// through free and reuse, and closes the window when the entry is dropped or evicted or the
/// page table grants again what the entry holds. Accesses through an entry with an open window
/// make it observed. See docs/detector.md for how each class is decided.
#include <cstdint>
#include <string>
#include <vector>

#include "model/event.h"
#include "scenarios/metrics.h"

namespace tlbsim::scenarios {

struct RunResult;

struct EventRef {
  Seq seq{};
  uint64_t time_ns = 0;
  uint16_t actor = 0;
  const char* func = "";
  bool valid() const { return seq.value() != 0; }
};

struct WindowAccess {
  EventRef at;
  bool write = false;
  uint64_t va = 0;
  Pfn pfn = kNoPfn;
  std::string finding;        ///< empty, or "use-after-free write", "lost write", ...
  bool after_return = false;  ///< the op that opened the window had returned (Window::after_return)
};

struct Window {
  Holder holder{};
  MmId mm = kNoMm;
  uint32_t tag = 0;
  uint64_t va = 0;
  uint64_t size = 0;
  uint8_t level = 1;  ///< 1 leaf 4K, 2 leaf 2M; walk-cache entries: the cached entry's level
  bool walk = false;  ///< a walk-cache (paging-structure) entry
  Pfn pfn = kNoPfn;   ///< leaf: frame mapped; walk: the table page pointed at
  bool writable = false;
  WindowClass cls = WindowClass::Stale;
  EventRef open;
  std::string open_what;  ///< e.g. "PTE pfn 42 rw -> none"
  EventRef freed;
  EventRef reused;
  EventRef close;
  bool restored = false;  ///< closed because the page table again grants what the entry holds
  bool open_at_end = false;
  /// The op whose PTE store made the entry stale (for a window opened at a fill, the latest
  /// store to that address): its thread (StepRecord::thread) and op index, -1 for the setup or
  /// a log judged without its steps.
  int opener_thread = -1;
  int opener_op = -1;
  /// The window was still open when that op returned (or opened after): what the kernel's
  /// contract is about. `returned` is the first event after the return.
  bool after_return = false;
  EventRef returned;
  std::vector<WindowAccess> accesses;
  bool observed() const { return !accesses.empty(); }
  uint64_t duration_events(uint64_t end_seq) const { return (close.valid() ? close.seq.value() : end_seq) - open.seq.value(); }
  uint64_t duration_ns(uint64_t end_ns) const { return (close.valid() ? close.time_ns : end_ns) - open.time_ns; }
};

struct Finding {
  /// A metric row's `finding` (metrics()): lost-write, use-after-free (an access to a free frame,
  /// to one freed under the window and allocated again, or a walk through a freed table page),
  /// livelock, syscall-error, signal, fault-rejected.
  std::string kind;
  Holder holder{};  ///< the cache the access went through (none for a livelock or an outcome)
  EventRef at;
  uint64_t va = 0;
  Pfn pfn = kNoPfn;
  std::string text;
  /// The op whose thread met it: its thread (StepRecord::thread) and op index; -1 for the setup
  /// or a log judged without its ops.
  int thread = -1;
  int op = -1;
  /// An outcome's number: the errno a syscall-error returned, the signal a signal sent; else 0.
  uint64_t code = 0;
};

struct DetectorResult {
  std::vector<Window> windows;  ///< in opening order; transient windows are not among them
  /// Windows opened and closed within one scheduler step with no access that used them: no
  /// thread could run in between in any schedule, so no count but `transient` includes them.
  uint64_t transient = 0;
  std::vector<Finding> findings;
  uint64_t end_seq = 0;
  uint64_t end_ns = 0;
  /// Count for an expectation metric, with or without a side ("device:observed";
  /// expectation_names()); 0 for a name that is not one.
  uint64_t metric(const std::string& name) const;
  /// Index of the worst window, or -1.
  int worst() const;
};

/// Judge an event log with no step structure: every window counts (none is transient).
DetectorResult detect(const std::vector<Event>& events);
/// Judge a run: its events, with its steps (RunResult::trace) telling which windows were
/// transient.
DetectorResult detect(const RunResult& run);

}  // namespace tlbsim::scenarios
