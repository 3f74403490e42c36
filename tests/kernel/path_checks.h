// SPDX-License-Identifier: MIT
#pragma once
/// Checks shared by the fork, mremap and mprotect path tests: event predicates for the ordered
/// sequences the primer gives, and "no cache holds a translation the PTEs no longer allow".
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "kernel/kernel.h"
#include "kernel/task.h"
#include "model/outcome.h"
#include "support/recording_sink.h"

namespace tlbsim::test {

inline bool is_notifier(const Event& e, const std::string& what) { return e.kind == EventKind::Notifier && e.note == what; }
/// invalidate_range() (OLD) or arch_invalidate_secondary_tlbs() (FIXED): the call that reaches
/// the IOMMU.
inline bool is_secondary_inv(const Event& e) {
  return is_notifier(e, "invalidate_range") || is_notifier(e, "arch_invalidate_secondary_tlbs");
}
inline bool is_pte_store(const Event& e, const char* func) { return e.kind == EventKind::PteStore && std::string(e.func) == func; }
inline bool is_unlock(const Event& e, const std::string& lock_name) { return e.kind == EventKind::Unlock && e.note == lock_name; }
inline bool is_lock(const Event& e, const std::string& lock_name) { return e.kind == EventKind::Lock && e.note == lock_name; }
inline bool is_call(const Event& e, const char* func) { return e.kind == EventKind::Call && std::string(e.func) == func; }
/// `call` returned -err to user space (kernel/outcome.h).
inline bool is_error(const Event& e, const char* call, Errno err) {
  return e.kind == EventKind::SyscallError && std::string(e.func) == call && e.new_val == static_cast<uint64_t>(err);
}
/// A device's page request failed in `handler`.
inline bool is_fault_rejected(const Event& e, const char* handler) {
  return e.kind == EventKind::FaultRejected && std::string(e.func) == handler;
}
inline bool spans(const Event& e, uint64_t start, uint64_t end) { return e.va == start && e.end == end; }

/// Indices of every event matching `pred`.
template <class P>
std::vector<size_t> indices(const Recorder& rec, P pred) {
  std::vector<size_t> out;
  for (size_t i = 0; i < rec.events().size(); ++i)
    if (pred(rec.events()[i])) out.push_back(i);
  return out;
}
/// Index of the last event matching `pred` before `before`, or npos.
template <class P>
size_t rfind(const Recorder& rec, P pred, size_t before) {
  for (size_t i = std::min(before, rec.events().size()); i-- > 0;)
    if (pred(rec.events()[i])) return i;
  return Recorder::npos;
}

/// Every translation `cache` holds for `tag` is allowed by `mm`'s page table: present, the
/// same frame, writable only if the PTE is.
inline void require_cache_allowed(const TranslationCache& cache, uint32_t tag, const AddressSpace& mm) {
  cache.for_each([&](const CachedTranslation& c) {
    if (c.tag != tag) return;
    const unsigned pages = c.huge ? kPtrsPerTable : 1;
    for (unsigned i = 0; i < pages; ++i) {
      const uint64_t vpn = c.vpn + i;
      const Pte pte = mm.pt().leaf(Vaddr{vpn << kPageShift});
      INFO(to_string(cache.holder()) << " caches " << hex(vpn << kPageShift) << " -> pfn " << c.pfn_for(vpn).value()
                                     << (c.writable ? " rw" : " ro") << "; PTE " << describe_pte(pte));
      REQUIRE(pte.present());
      const Pfn pfn = pte.huge() ? Pfn{pte.pfn().value() + uint32_t(vpn & (kPtrsPerTable - 1))} : pte.pfn();
      REQUIRE(pfn == c.pfn_for(vpn));
      if (c.writable) REQUIRE(pte.writable());
    }
  });
}

/// Neither the IOTLB nor the device's ATC holds a translation the PTEs no longer allow.
inline void require_secondary_coherent(SvaMachine& m, const AddressSpace& mm) {
  require_cache_allowed(m.io().iotlb(), mm.pasid()->value(), mm);
  require_cache_allowed(m.io().atc(m.dev), mm.pasid()->value(), mm);
}
/// Nor does any CPU TLB.
inline void require_cpu_coherent(kernel::Kernel& k, const AddressSpace& mm) {
  for (unsigned c = 0; c < k.cpus(); ++c) require_cache_allowed(k.cpu(c).tlb(), mm.asid().value(), mm);
}

/// Fill the device's ATC (and the IOTLB) for every page of [start, end).
inline void device_touch(SvaMachine& m, uint64_t start, uint64_t end, bool write) {
  for (uint64_t a = start; a < end; a += kPageSize) {
    const iommu::DmaResult r = m.io().dma(m.dev, *m.mm->pasid(), Vaddr{a}, write);
    REQUIRE(r.ok());
  }
}
/// Fill CPU 0's TLB for every page of [start, end).
inline void cpu_touch(kernel::Kernel& k, AddressSpace& mm, uint64_t start, uint64_t end, bool write) {
  mm.add_cpu(0);
  for (uint64_t a = start; a < end; a += kPageSize) REQUIRE(k.cpu(0).access(k.walk_context(mm), Vaddr{a}, write).ok());
}

}  // namespace tlbsim::test
