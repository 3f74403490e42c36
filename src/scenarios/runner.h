// SPDX-License-Identifier: MIT
#pragma once
/// Runs one scenario under one policy: builds the machine from the spec, runs the setup, then
/// steps the threads as the schedule says and returns the event log. Nothing here judges.
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "iommu/cost_model.h"
#include "kernel/flush_strategy.h"
#include "kernel/policy.h"
#include "model/event.h"
#include "model/touch.h"
#include "scenarios/spec.h"

namespace tlbsim::scenarios {

struct ThreadOutcome {
  std::string name;
  bool done = false;
  std::string next;  ///< what it would do next (when not done)
  bool runnable = false;
};

/// Where an op stored page-table entries, as a span of one mm's address space: a PTE store's page
/// widened to its 2 MiB block (a huge entry there is affected too), an upper-level store's span
/// as it is. Every cached entry a window of the op can be on lies inside one of its spans.
struct OpStoreSpan {
  uint16_t mm = 0;
  uint64_t lo = 0, hi = 0;
  auto operator<=>(const OpStoreSpan&) const = default;
};

/// One scheduler step as it ran: which thread, what its label was, which threads could have run
/// instead, which events it emitted ([ev_begin, ev_end) in RunResult::events) and what the model's
/// accessors recorded it touching (`touches`, with RunOptions::record_touches). The explorer
/// builds each step's footprint from these.
struct StepRecord {
  int thread = -1;
  bool priming = false;
  std::string label;      ///< the thread's label before the step
  bool hardware = false;  ///< it began at a hardware point (a load, store or DMA): no kernel code ran in it
  uint64_t runnable = 0;  ///< bit i: thread i could take this step (bitmask, at most 64 threads)
  size_t ev_begin = 0, ev_end = 0;
  int op = -1;                         ///< index of the thread's op it ran (ThreadSpec::ops); -1 for priming and after the last
  bool op_returned = false;            ///< that op returned within this step (the detector's after-return point)
  bool op_stored = false;              ///< it returned, and had stored a page-table entry (a PTE store event) in one of its steps
  std::vector<OpStoreSpan> op_stores;  ///< when op_stored: where the op stored, merged (OpStoreSpan)
  std::vector<Touch> touches;          ///< what it read and wrote, in order (RunOptions::record_touches)
};

/// One op of one thread as it ran: the sequence numbers of its first event and of the first
/// event after it returned (`end` 0: it had not returned when the run ended). Every event the
/// thread emitted in [begin, end) is the op's.
struct OpSpan {
  int thread = -1;     ///< StepRecord::thread
  uint16_t actor = 0;  ///< Event::actor of its events
  int op = -1;         ///< index in ThreadSpec::ops
  std::string name;    ///< the op's name ("munmap")
  uint64_t begin = 0;
  uint64_t end = 0;
};

struct RunResult {
  std::string scenario;
  std::string policy;
  enum class Status { Completed, Deadlock, StepBudget, Stopped } status = Status::Completed;
  uint64_t steps = 0;
  uint64_t seed = 0;
  std::vector<Event> events;
  std::vector<std::string> actors;
  std::vector<std::string> device_names;  ///< by global device id (ATC holder index)
  std::vector<ThreadOutcome> threads;
  std::vector<StepRecord> trace;  ///< every step, priming included
  std::vector<OpSpan> ops;        ///< every op begun, in order of beginning
  iommu::CostCounters cpu_cost;
  iommu::CostCounters iommu_cost;
  uint64_t end_time_ns = 0;
  /// The machine's memory at its largest: frames it ever held at once (data pages and page-table
  /// pages; PhysMem hands out frames in order and reuses freed ones first) and the most bytes of
  /// their metadata and table entries at once (PhysMem::peak_state_bytes(); the caches and the
  /// logs above excluded).
  uint64_t frames_peak = 0;
  uint64_t state_bytes = 0;
};

struct RunOptions {
  std::optional<uint64_t> seed;   ///< overrides the scenario's random seed
  bool check_invariants = false;  ///< every stateful class's check_invariants() after each step
  std::string file;               ///< for error messages
  /// When set, replaces the scenario's schedule: called before each step after priming with the
  /// runnable threads (bitmask) and the steps so far; returns the thread to step, or -1 to stop
  /// the run there (status Stopped). Used by the explorer to force schedules.
  std::function<int(uint64_t runnable, const std::vector<StepRecord>& trace, const std::vector<Event>& events)> chooser;
  /// Events to make room for up front: a caller that runs one scenario many times passes the
  /// last run's count, so the log does not grow by copying on every execution.
  size_t expected_events = 0;
  /// Record what each step touched (StepRecord::touches), for the explorer's footprints.
  bool record_touches = false;
  /// When set, incremented after each step: a progress line reads it from another thread.
  std::atomic<uint64_t>* steps_done = nullptr;
  /// When set, every IOMMU completes its batches one command per step, and this picks each
  /// batch's order among those its device allows (iommu::IommuConfig::batch_order_rank): the brute
  /// force the model's batch completion is checked against (tests/kernel/sva_batch_test.cpp).
  std::function<uint64_t(uint64_t orders)> batch_order;
  /// When set (tlbsim sweep of a scenario): the CPU side flushes with this strategy
  /// (kernel::apply_cpu_strategy()), every device bound at setup invalidates with this IOMMU
  /// strategy in place of its driver's decoding (kernel::iommu_sva_bind_device_strategy(); an
  /// sva_bind op still binds with the decoding), and this cost model replaces the scenario's.
  std::optional<kernel::CpuStrategy> cpu_strategy;
  std::optional<iommu::IommuStrategy> iommu_strategy;
  std::optional<iommu::CostModel> cost;
};

/// Throws ScenarioError for a schedule that cannot be followed (a thread blocked, finished, or
/// never reaching the named function).
RunResult run_scenario(const ScenarioSpec& s, const kernel::Policy& policy, const RunOptions& opt = {});

std::string_view to_string(RunResult::Status s);

}  // namespace tlbsim::scenarios
