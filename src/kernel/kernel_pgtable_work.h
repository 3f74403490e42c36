// SPDX-License-Identifier: MIT
#pragma once
/// kernel_pgtable_work (mm/pgtable-generic.c, 5ba2f0a15564, v6.19): the kernel page tables
/// pagetable_free_kernel() queued for the worker that frees them after invalidating the SVA
/// IOMMUs (kernel/vmalloc.h). Each accessor records what it touched as the Kernel object's
/// key kTouchKey (model/touch.h).
#include <cstdint>
#include <utility>
#include <vector>

#include "model/touch.h"
#include "model/types.h"

namespace tlbsim::kernel {

class KernelPgtableWork {
 public:
  static constexpr uint64_t kTouchKey = 3;  ///< beside Kernel::kMmListKey and kIdsKey

  /// pagetable_free_kernel(): list_add() under the spinlock, then schedule_work().
  void queue(Pfn table) {
    touch::write(Touch::Obj::Kernel, kTouchKey);
    m_list.push_back(table);
  }
  /// kernel_pgtable_work_func(): list_splice_init() onto a local list under the spinlock.
  std::vector<Pfn> take() {
    touch::write(Touch::Obj::Kernel, kTouchKey);
    return std::exchange(m_list, {});
  }
  /// Whether the worker has something to do, or will never have: no table queued and no
  /// ioremap op left that could queue one. The real kworker just idles; the model's worker op
  /// needs an end.
  bool ready() const {
    touch::read(Touch::Obj::Kernel, kTouchKey);
    return !m_list.empty() || m_producers == 0;
  }
  /// Setup: how many ops may queue a table (the scenario's ioremap_huge ops). Each says when it
  /// is past the point where it could.
  void set_producers(unsigned n) { m_producers = n; }
  void producer_done() {
    touch::write(Touch::Obj::Kernel, kTouchKey);
    if (m_producers) --m_producers;
  }

 private:
  std::vector<Pfn> m_list;
  unsigned m_producers = 0;
};

}  // namespace tlbsim::kernel
