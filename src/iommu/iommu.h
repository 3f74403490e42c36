// SPDX-License-Identifier: MIT
#pragma once
/// An IOMMU doing Shared Virtual Addressing: a PASID table binding PASIDs to an mm's page table
/// (AMD GCR3, VT-d first-level PASID entry, SMMUv3 CD with TTBR = mm->pgd), an IOTLB and a walk
/// cache filled by walking the CPU's own tables, devices with ATCs (PCIe ATS), and a command
/// queue. Page-request (PRI/IOPF) faults go back to the caller; the kernel layer handles them.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "iommu/cost_model.h"
#include "iommu/inv_queue.h"
#include "model/translation_cache.h"
#include "model/walk_cache.h"
#include "model/walker.h"

namespace tlbsim::iommu {

enum class IommuKind : uint8_t { AmdV2, IntelSvm, SmmuV3 };

/// How the commands of one batch (those before one sync: a VT-d wait descriptor, an AMD
/// COMPLETION_WAIT, an SMMUv3 CMD_SYNC) complete relative to each other. The kernel layer's
/// complete_batch() (kernel/sva_commands.h) carries it out.
enum class BatchOrder : uint8_t {
  /// In queue order: what the drivers that put an IOTLB invalidation and a device-TLB
  /// invalidation in one batch rely on (AMD's SVA domain from v6.10, VT-d's qi_batch from
  /// 705c1cdf1e73). Device key `cmds_complete_in_order` true, the default. The batch completes
  /// in one step: every batch the drivers build puts its IOTLB invalidations first, and a device
  /// that translates between two completions sees no more than before the batch or after it.
  InOrder,
  /// In any order (`cmds_complete_in_order` false): the model completes every device-TLB
  /// invalidation before the IOTLB invalidations queued ahead of it, and a device may translate
  /// in between.
  AnyOrder,
};
struct IommuConfig {
  IommuKind kind = IommuKind::AmdV2;
  TranslationCacheConfig iotlb{.sets = 32, .ways = 4};
  uint32_t walk_cache_entries = 16;
  /// Whether the walker keeps non-leaf entries from a walk whose leaf was not present (primer
  /// section 15: unverified for AMD/VT-d, so a parameter).
  bool cache_nonleaf_on_fault = true;
  /// Whether it keeps them from a walk that reached a present leaf through a supervisor-only
  /// entry (a device's request to a kernel address): yes, says the e37d5a2d60a3 series.
  bool cache_nonleaf_on_supervisor_fault = true;
  /// On a write that hits a read-only IOTLB entry, drop it and walk again (x86 IOMMUs) rather
  /// than report a permission fault while keeping the entry (SMMUv3 without BTM).
  bool permission_fault_rewalks = true;
  /// Broadcast TLB maintenance: the IOMMU TLB snoops the CPU's TLBIs (SMMUv3 with BTM).
  bool btm = false;
  BatchOrder batch_order = BatchOrder::InOrder;
  /// The IOMMU caches the PASID-table entries it reads (VT-d's PASID cache, SMMUv3's CD cache,
  /// AMD's cached GCR3 entries), so clearing an entry stops translation only once the PASID's
  /// IotlbPasid command has completed: what the drivers' release paths send after clearing it
  /// (mainline primer B3: AMD's v6.10/v6.11 release flushed PASID 0 instead).
  bool pasid_table_cached = true;
  /// The brute force the two orders are checked against (tests/kernel/sva_batch_test.cpp), not a
  /// file key: each batch of two or more commands completes one command per step, in the order of
  /// lexicographic rank batch_order_rank(orders) among the orders `batch_order` allows (queue
  /// order only, or every permutation).
  std::function<uint64_t(uint64_t orders)> batch_order_rank;
};

struct DeviceConfig {
  std::string name;
  /// Machine-wide device number, used to name the device's ATC in events (default: the index
  /// within this IOMMU).
  uint16_t global_id = 0xffff;
  bool ats = true;
  TranslationCacheConfig atc{.sets = 16, .ways = 4};
  /// Whether an ATS invalidation without a PASID prefix also drops the entries the device
  /// cached under a PASID. The SMMUv3 driver's arm_smmu_atc_inv_to_cmd() comment reads PCIe as
  /// "yes"; a device that does otherwise misses VT-d's non-PASID full flush (v6.10 to v6.16,
  /// fixed by 3141153816bf).
  bool nopasid_inv_covers_pasid = true;
};

enum class DmaFault : uint8_t { None, PageRequest, StaleTable, NotBound };

struct DmaResult {
  DmaFault fault = DmaFault::None;
  Pfn pfn = kNoPfn;
  Holder via{};  ///< the cache that served it (the walk cache for a walk resumed from it), None after a walk from the root
  bool ok() const { return fault == DmaFault::None; }
};

class Iommu {
 public:
  Iommu(uint16_t index, const IommuConfig& cfg, PhysMem& mem, const CostModel& cost);

  uint16_t add_device(DeviceConfig cfg);
  /// iommu_sva_bind_device(): PASID table entry -> the mm's tables.
  void bind(uint16_t device, Pasid pasid, const WalkContext& ctx);
  /// mn_release / intel_mm_release / arm_smmu_mm_release: translation stops.
  void unbind_pasid(Pasid pasid);

  /// A DMA load/store by `device` under `pasid`.
  DmaResult dma(uint16_t device, Pasid pasid, Vaddr va, bool write);

  InvalidationQueue& queue() { return m_queue; }
  /// IommuConfig::batch_order_rank: the rank of the order a batch with `orders` orders completes in.
  uint64_t choose_batch_order(uint64_t orders) const {
    return m_cfg.batch_order_rank && orders ? m_cfg.batch_order_rank(orders) % orders : 0;
  }
  /// Command effects, applied by the queue at sync.
  void apply(const InvCmd& c);
  /// BTM: a broadcast CPU TLBI for this ASID reaches the IOMMU TLB (not the ATC).
  void snoop_cpu_tlbi(uint32_t pasid, uint64_t start, uint64_t end, bool leaf_only);

  const IommuConfig& config() const { return m_cfg; }
  uint16_t index() const { return m_index; }
  uint16_t devices() const { return static_cast<uint16_t>(m_devices.size()); }
  const std::string& device_name(uint16_t d) const { return m_devices[d].cfg.name; }
  bool device_ats(uint16_t d) const { return m_devices[d].cfg.ats; }
  uint16_t device_global_id(uint16_t d) const { return m_devices[d].global_id; }
  bool device_bound(uint16_t d, Pasid p) const;
  /// Devices bound to a PASID, in device order.
  std::vector<uint16_t> devices_of(Pasid p) const;
  TranslationCache& iotlb() { return m_iotlb; }
  WalkCache& walk_cache() { return m_pwc; }
  TranslationCache& atc(uint16_t d) { return *m_devices[d].atc; }
  CostCounters& counters() { return m_counters; }
  const CostModel& cost() const { return m_cost; }
  void check_invariants() const;

 private:
  /// The PASID-table entry a DMA by `device` under `pasid` translates with: the cached one if
  /// any, else the table's, which is then cached; nullptr when neither has one.
  const WalkContext* pasid_entry(uint16_t device, Pasid pasid);
  /// IotlbPasid: the PASID's cached entries go with its IOTLB entries.
  void drop_pasid_entries(uint32_t pasid);

  struct Device {
    DeviceConfig cfg;
    std::unique_ptr<TranslationCache> atc;
    std::vector<uint32_t> pasids;
    uint16_t global_id = 0;
  };
  /// The device's ATC answers the access: a hit that allows it (a write needs a writable,
  /// dirty entry), or nullopt for an ATS translation request.
  std::optional<DmaResult> atc_hit(Device& d, uint32_t tag, Vaddr va, bool write);

  uint16_t m_index;
  IommuConfig m_cfg;
  PhysMem& m_mem;
  const CostModel& m_cost;
  CostCounters m_counters;
  TranslationCache m_iotlb;
  WalkCache m_pwc;
  InvalidationQueue m_queue;
  std::vector<Device> m_devices;
  std::map<uint32_t, WalkContext> m_pasid_table;
  /// IommuConfig::pasid_table_cached: (device, PASID) -> the entry read from m_pasid_table.
  std::map<std::pair<uint16_t, uint32_t>, WalkContext> m_pasid_cache;
};

}  // namespace tlbsim::iommu
