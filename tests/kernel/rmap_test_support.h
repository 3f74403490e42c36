// SPDX-License-Identifier: MIT
#pragma once
/// Helpers for the rmap-path tests (migration, reclaim, KSM, THP, shadow MMU): a stepper that
/// runs a kernel task one scheduling step at a time so a test can act inside a window, and
/// coherence checks for walk caches and shadow MMUs beside path_checks.h's leaf-cache checks.
#include <catch2/catch.hpp>

#include <exception>
#include <string>

#include "kernel/migrate.h"
#include "kernel/path_checks.h"
#include "kernel/shadow_mmu.h"
#include "kernel/task.h"

namespace tlbsim::test {

/// Runs `task` on a private simulated thread, one step per step() call.
class Stepper {
 public:
  explicit Stepper(kernel::Task<>& task, int thread_id = 4242) : m_task(task) {
    m_self.id = thread_id;
    m_self.name = "stepper";
    m_self.resume_point = task.handle();
  }
  bool done() const { return m_task.done(); }
  bool runnable() const { return !done() && (!m_self.ready || m_self.ready()); }
  /// The kernel function or lock the next step starts with.
  const std::string& next_label() const { return m_self.next_label; }
  /// Run one step; false if the thread is done or blocked.
  bool step() {
    if (!runnable()) return false;
    kernel::ThreadState* prev = kernel::current_thread();
    kernel::set_current_thread(&m_self);
    m_self.resume_point.resume();
    kernel::set_current_thread(prev);
    return true;
  }
  /// Step until `pred()` holds; false if the thread finished or blocked first.
  template <class P>
  bool step_until(P pred) {
    while (!pred())
      if (!step()) return false;
    return true;
  }
  /// Run to completion and rethrow the task's error, if any.
  void finish() {
    while (step()) {
    }
    REQUIRE(done());
    if (m_task.error()) std::rethrow_exception(m_task.error());
  }

 private:
  kernel::Task<>& m_task;
  kernel::ThreadState m_self;
};

/// Every walk-cache entry points at a live page-table page of the generation it cached.
inline void require_walk_cache_live(const WalkCache& wc, const PhysMem& mem) {
  wc.for_each([&](const WalkCacheEntry& e) {
    const Frame& f = mem.frame(e.table);
    INFO(to_string(wc.holder()) << " caches table pfn " << e.table.value() << " gen " << e.table_gen << " for " << hex(e.start()));
    REQUIRE(f.allocated);
    REQUIRE(f.kind == FrameKind::Table);
    REQUIRE(f.generation == e.table_gen);
  });
}

/// Leaf caches (IOTLB, ATC, CPU TLBs) and walk caches hold nothing the page tables no longer
/// allow, and every frame a leaf cache maps is allocated.
inline void require_all_coherent(SvaMachine& m) {
  require_secondary_coherent(m, *m.mm);
  require_cpu_coherent(*m.k, *m.mm);
  require_walk_cache_live(m.io().walk_cache(), m.k->mem());
  for (unsigned c = 0; c < m.k->cpus(); ++c) require_walk_cache_live(m.k->cpu(c).walk_cache(), m.k->mem());
}

/// A shadow MMU's entries match the primary PTEs: present, same frame, writable only if the PTE is.
inline void require_shadow_coherent(const kernel::ShadowMmu& s, const AddressSpace& mm) {
  s.for_each([&](uint64_t va, const kernel::ShadowMmu::Entry& e) {
    unsigned level = 1;
    const Pte pte = mm.pt().leaf(Vaddr{va}, &level);
    INFO(s.name() << " maps " << hex(va) << " -> pfn " << e.pfn.value() << (e.writable ? " rw" : " ro") << "; PTE " << describe_pte(pte));
    REQUIRE(pte.present());
    const Pfn pfn = level == 2 ? Pfn{pte.pfn().value() + uint32_t((va >> kPageShift) & 511)} : pte.pfn();
    REQUIRE(pfn == e.pfn);
    if (e.writable) REQUIRE(pte.writable());
  });
}

/// What the migrate op does with one page: isolate it, then migrate_pages().
inline kernel::Task<> migrate_one(kernel::Kernel& k, Pfn page) {
  // A local first: GCC 12 miscompiles a braced list inside a co_await operand.
  const std::vector<Pfn> isolated = kernel::isolate_migratepages_block(k, std::vector<Pfn>{page});
  co_await kernel::migrate_pages(k, isolated);
}

inline bool is_cpu_flush(const Event& e) { return e.kind == EventKind::CpuFlush; }
inline bool is_inv_sync(const Event& e) { return e.kind == EventKind::InvSync; }
inline bool is_copy(const Event& e) { return e.kind == EventKind::Copy; }
inline bool is_free_of(const Event& e, Pfn p) { return e.kind == EventKind::FrameFree && e.pfn == p; }
inline bool is_pte_at(const Event& e, const char* func, uint64_t va) { return is_pte_store(e, func) && e.va == va; }

}  // namespace tlbsim::test
