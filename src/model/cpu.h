// SPDX-License-Identifier: MIT
#pragma once
/// A CPU: an ASID-tagged TLB plus a paging-structure cache, filled by hardware walks on access.
/// An access the PTE does not allow raises a fault for the kernel layer to handle.
#include <cstdint>

#include "model/translation_cache.h"
#include "model/walk_cache.h"
#include "model/walker.h"

namespace tlbsim {

struct CpuConfig {
  TranslationCacheConfig tlb{.sets = 128, .ways = 12};  ///< 1536 entries, a Zen 3 L2 dTLB
  uint32_t walk_cache_entries = 32;
  /// x86: a write that hits a read-only TLB entry drops the entry and faults, so the retry walks
  /// again (SDM 4.10.4.2). arm64 may keep the entry, which is why it flushes on upgrade.
  bool fault_drops_entry = true;
};

enum class AccessFault : uint8_t { None, NotPresent, WriteProtect, StaleTable };

struct AccessResult {
  AccessFault fault = AccessFault::None;
  Pfn pfn = kNoPfn;
  bool cached = false;  ///< served from a TLB entry, no walk
  bool ok() const { return fault == AccessFault::None; }
};

class Cpu {
 public:
  Cpu(CpuId id, CpuConfig cfg, PhysMem& mem);

  /// A user load/store: TLB lookup, else walk and fill. Emits Access or Fault.
  AccessResult access(const WalkContext& ctx, Vaddr va, bool write);

  CpuId id() const { return m_id; }
  TranslationCache& tlb() { return m_tlb; }
  WalkCache& walk_cache() { return m_pwc; }
  const CpuConfig& config() const { return m_cfg; }
  void check_invariants() const {
    m_tlb.check_invariants();
    m_pwc.check_invariants();
  }

 private:
  CpuId m_id;
  CpuConfig m_cfg;
  PhysMem& m_mem;
  TranslationCache m_tlb;
  WalkCache m_pwc;
};

}  // namespace tlbsim
