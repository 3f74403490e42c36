// SPDX-License-Identifier: MIT
#pragma once
/// An IOMMU command queue (SMMUv3 CMDQ, VT-d QI, AMD command buffer). Invalidation commands are
/// queued and take effect, in order, at the next sync (CMD_SYNC, wait descriptor,
/// COMPLETION_WAIT); an ATC invalidation completes when the device answers.
#include <cstdint>
#include <vector>

#include "iommu/cost_model.h"
#include "model/event.h"

namespace tlbsim::iommu {

class Iommu;

enum class InvCmdKind : uint8_t {
  IotlbRange,  ///< INVALIDATE_IOMMU_PAGES / PIOTLB PSI / TLBI_NH_VA (per page or range)
  IotlbPasid,  ///< whole-PASID / ASID invalidation (TLBI_NH_ASID, PIOTLB PASID-selective)
  AtcRange,    ///< INVALIDATE_IOTLB_PAGES / dev-IOTLB / ATC_INV for a span
  AtcAll,      ///< ATC invalidation of every address under the PASID
  /// ATC invalidation of every address, sent without a PASID prefix (VT-d's non-PASID dev-IOTLB
  /// descriptor). PCIe has a device drop its PASID-tagged entries too; a device configured
  /// otherwise (DeviceConfig::nopasid_inv_covers_pasid) keeps them.
  AtcNoPasidAll,
};

struct InvCmd {
  InvCmdKind kind{};
  uint32_t pasid = 0;
  uint64_t start = 0;
  uint64_t end = 0;
  bool leaf_only = false;  ///< keep walk-cache entries (TLBI ..., leaf=true; VT-d ih=1)
  uint16_t device = 0;
  const char* func = "";
  uint64_t seq = 0;  ///< set by submit(): the command's place in the queue's history
};

class InvalidationQueue {
 public:
  InvalidationQueue(Iommu& iommu, const CostModel& cost, CostCounters& counters, EventBus& bus)
      : m_iommu(iommu), m_cost(cost), m_counters(counters), m_bus(bus) {}

  void submit(const InvCmd& c);
  /// Complete every queued command in order. `func` names the driver's sync.
  void sync(const char* func);
  size_t pending() const;
  /// Whether a queued device-TLB invalidation follows a queued IOTLB invalidation: only then can
  /// completing the batch out of order let a device refill its ATC from the IOTLB.
  bool atc_behind_iotlb() const;
  /// Complete the queued device-TLB invalidations now, ahead of the rest of the batch (which the
  /// next sync completes). `func` names the sync the batch waits on.
  void complete_atc_first(const char* func);
  /// The queued commands' `seq`, in queue order.
  std::vector<uint64_t> pending_seqs() const;
  /// Complete the queued command `seq` now, if it is still queued (another thread's sync may
  /// have completed it): IommuConfig::batch_order_rank.
  void complete_one(uint64_t seq, const char* func);

 private:
  Iommu& m_iommu;
  const CostModel& m_cost;
  CostCounters& m_counters;
  EventBus& m_bus;
  std::vector<InvCmd> m_pending;
  uint64_t m_next_seq = 0;
  bool m_atc_completed = false;  ///< this batch had a device-TLB invalidation completed early
};

}  // namespace tlbsim::iommu
