// SPDX-License-Identifier: MIT
#pragma once
/// Orders of one execution's steps that keep every dependent pair in place (the same
/// Mazurkiewicz trace, so the same outcome) with few context switches. The explorer runs one
/// order per trace, whichever its search reached first; a witness is easier to read in the order
/// with the fewest switches, so explore() re-orders each witness before printing it.
#include <cstddef>
#include <functional>
#include <vector>

namespace tlbsim::scenarios {

/// `threads[i]` is the thread of step i; `must_precede(i, j)` (i < j, different threads) tells
/// whether step i has to stay before step j. It is asked, for each j, from j back to the latest
/// step of each other thread that must precede j (the earlier ones of that thread are before it
/// by program order); the orders are those that asking every pair would give. For each thread
/// that can take the first step, the greedy order starting with it: keep running the current
/// thread while its next step has all its predecessors done, else switch to the least thread
/// whose next step has. Each result is a sequence of threads, one per step.
std::vector<std::vector<int>> few_switch_orders(const std::vector<int>& threads, const std::function<bool(size_t, size_t)>& must_precede);

}  // namespace tlbsim::scenarios
