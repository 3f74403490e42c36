// SPDX-License-Identifier: MIT
#pragma once
/// What a search has seen so far, in a form that merges: the tally of many executions, and the
/// tasks an exhaustive search is split into. One process runs every task (`tlbsim explore`) or a
/// shard of them (`explore --shard K/N`), and `tlbsim merge` combines the shards' parts into the
/// result the whole search gives, byte for byte (docs/scale-out.md).
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "scenarios/runner.h"

namespace tlbsim::scenarios {

/// A schedule: the thread index of every step after priming.
using Schedule = std::vector<int>;
/// Witness order: fewer context switches, then shorter, then lexicographically smaller.
bool witness_less(const Schedule& a, const Schedule& b);

struct BudgetExceeded {
  Schedule schedule;
  std::vector<ThreadOutcome> threads;
};

/// Results of many executions. merge() is commutative and associative, so parts merge in any
/// order and grouping to the same value.
struct Aggregate {
  uint64_t executions = 0, pruned = 0;
  std::map<std::string, std::pair<uint64_t, Schedule>> props;        ///< name -> (count, least witness)
  std::vector<std::pair<uint64_t, std::optional<Schedule>>> expect;  ///< (holds count, least counterexample)
  std::set<std::string> outcomes;
  std::optional<BudgetExceeded> budget;
  std::optional<Schedule> first;                              ///< least complete schedule (for step counts)
  std::optional<std::pair<Schedule, std::string>> invariant;  ///< least schedule that broke a model invariant
  bool stopped = false;                                       ///< a budget stopped the search before its end
  bool bound_cut = false;                                     ///< the preemption bound kept some choice out
  bool deadline_hit = false;
  uint64_t spent = 0;  ///< executions run, explored and pruned, also those of a stopped search

  /// An execution the model itself rejected (a model invariant failed): reported, never hidden.
  void add_invariant(const Schedule& sched, std::string what);
  /// One execution to its end: the properties that held in it, its outcome key, and per
  /// expectation whether it held.
  void add(const std::vector<std::string>& properties, const std::vector<bool>& expectations, const std::string& outcome,
           const Schedule& sched, const RunResult& r);
  void merge(const Aggregate& o);
};

/// One task of an exhaustive search: the subtree below one fixed schedule prefix.
struct TaskResult {
  uint64_t index = 0;  ///< position of the task in the search's task order
  Aggregate result;
};

/// What one process ran of a search: in exhaustive mode, the tasks it owns (in task order); in
/// random mode, the tally of the runs it owns (one entry, index = the shard).
struct ExplorePart {
  uint64_t tasks = 0;  ///< tasks of the whole search (exhaustive), or shards (random)
  std::vector<TaskResult> done;
};

}  // namespace tlbsim::scenarios
