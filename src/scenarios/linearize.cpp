// SPDX-License-Identifier: MIT
#include "scenarios/linearize.h"

#include <algorithm>
#include <deque>

namespace tlbsim::scenarios {

std::vector<std::vector<int>> few_switch_orders(const std::vector<int>& threads, const std::function<bool(size_t, size_t)>& must_precede) {
  const size_t n = threads.size();
  int nthreads = 0;
  for (int t : threads) nthreads = std::max(nthreads, t + 1);
  // Predecessors of each step on other threads; program order is kept by the per-thread queues,
  // so of each other thread only the latest step that must precede matters: a thread's steps are
  // taken in order, so once that one is done every earlier one is. Scanning back from j and
  // stopping at it asks must_precede() once per step between, not once per earlier step (a
  // witness of a few hundred steps made this most of a short random exploration's time).
  std::vector<std::vector<size_t>> preds(n);
  std::vector<size_t> found_at(static_cast<size_t>(nthreads), n);  // n: none found for this j yet
  for (size_t j = 0; j < n; ++j) {
    int missing = nthreads - 1;  // other threads with no predecessor found yet
    for (size_t i = j; i-- > 0 && missing > 0;) {
      const auto t = static_cast<size_t>(threads[i]);
      if (threads[i] == threads[j] || found_at[t] == j) continue;
      if (must_precede(i, j)) {
        preds[j].push_back(i);
        found_at[t] = j;
        --missing;
      }
    }
  }

  std::vector<std::vector<int>> out;
  for (int start = 0; start < nthreads; ++start) {
    std::vector<std::deque<size_t>> queue(static_cast<size_t>(nthreads));
    for (size_t i = 0; i < n; ++i) queue[static_cast<size_t>(threads[i])].push_back(i);
    std::vector<bool> done(n, false);
    auto ready = [&](int t) {
      const auto& q = queue[static_cast<size_t>(t)];
      if (q.empty()) return false;
      const auto& p = preds[q.front()];
      return std::all_of(p.begin(), p.end(), [&](size_t i) { return done[i]; });
    };
    if (!ready(start)) continue;
    std::vector<int> order;
    int cur = start;
    while (order.size() < n) {
      if (!ready(cur)) {
        cur = -1;
        for (int t = 0; t < nthreads && cur < 0; ++t)
          if (ready(t)) cur = t;
        if (cur < 0) break;  // a cycle: must_precede was not an order of this execution
      }
      auto& q = queue[static_cast<size_t>(cur)];
      done[q.front()] = true;
      q.pop_front();
      order.push_back(cur);
    }
    if (order.size() == n) out.push_back(std::move(order));
  }
  return out;
}

}  // namespace tlbsim::scenarios
