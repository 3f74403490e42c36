// SPDX-License-Identifier: MIT
#pragma once
/// A shadow-page-table secondary MMU in the style of KVM's TDP MMU or an HMM GPU driver (primer
/// section 2): it keeps its own translations (va -> pfn, writable) filled by its own fault path,
/// and holds no page references. invalidate_range_start() zaps the range and blocks new
/// entries until the matching end; the fault path samples a sequence before reading the primary
/// PTE and refuses to install if an invalidation ran meanwhile. Because its entries are gone for
/// the whole start..end window, it needs no invalidate_range()/arch_invalidate_secondary_tlbs()
/// and behaves the same under every policy.
#include <cstdint>
#include <map>
#include <string>

#include "kernel/kernel.h"
#include "kernel/task.h"
#include "model/touch.h"

namespace tlbsim::kernel {

class ShadowMmu : public SecondaryMmu {
 public:
  struct Entry {
    Pfn pfn = kNoPfn;
    bool writable = false;
  };

  /// `index` names the holder in events (Holder{HolderKind::Shadow, index}).
  explicit ShadowMmu(uint16_t index) : m_index(index) {}

  std::string name() const override;
  /// kvm_mmu_notifier_invalidate_range_start(): mmu_invalidate_in_progress++, then
  /// kvm_unmap_gfn_range() drops every entry intersecting [start, end).
  void invalidate_range_start(Kernel& k, AddressSpace& mm, VaRange range) override;
  /// kvm_mmu_notifier_invalidate_range_end(): mmu_invalidate_seq++, then in_progress--.
  void invalidate_range_end(Kernel& k, AddressSpace& mm, VaRange range) override;
  /// kvm_mmu_notifier_release(): everything goes.
  Task<> release(Kernel& k, AddressSpace& mm) override;
  void check_invariants() const override;

  Holder holder() const { return Holder{HolderKind::Shadow, m_index}; }
  int in_progress() const {
    touch::cache_sequence(false, holder());
    return m_in_progress;
  }
  uint64_t seq() const {
    touch::cache_sequence(false, holder());
    return m_seq;
  }
  /// The entry for the page of `va`, or nullptr.
  const Entry* lookup(Vaddr va) const;
  size_t size() const { return m_entries.size(); }
  /// Visit (page address, entry) in address order.
  template <class F>
  void for_each(F&& f) const {
    for (const auto& [vpn, e] : m_entries) f(vpn << kPageShift, e);
  }

  /// Install a translation for the page of `va` (the fault path, after its retry check).
  void install(Kernel& k, MmId mm, Vaddr va, Pfn pfn, bool writable, const char* func);

 private:
  void drop_range(Kernel& k, MmId mm, VaRange range, const char* func);

  uint16_t m_index;
  std::map<uint64_t, Entry> m_entries;  ///< by virtual page number
  int m_in_progress = 0;
  uint64_t m_seq = 0;
};

/// A vCPU/GPU access through the shadow MMU: a hit uses the shadow entry (Access event via the
/// Shadow holder, a write bumps the page's content); a miss runs the secondary fault path
/// (kvm_faultin_pfn()/hmm_range_fault()): wait while an invalidation is in progress, sample the
/// sequence, under mmap_read_lock read the primary PTE (handle_mm_fault() first if it is absent
/// or does not allow the access) taking a GUP reference under the PTL, then
/// mmu_invalidate_retry() (mmu_interval_read_retry()): install only if no invalidation started
/// or ended meanwhile, else retry. The reference is dropped after (kvm_release_pfn_clean()).
/// Gives up after `max_faults` faults (a Fault event names the livelock).
Task<> shadow_access(Kernel& k, ShadowMmu& s, AddressSpace& mm, Vaddr addr, bool write, unsigned max_faults = 16);

}  // namespace tlbsim::kernel
