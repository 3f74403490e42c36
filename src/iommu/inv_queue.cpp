// SPDX-License-Identifier: MIT
#include "iommu/inv_queue.h"

#include <algorithm>

#include "iommu/iommu.h"
#include "model/saturating.h"

namespace tlbsim::iommu {

namespace {
const char* kind_name(InvCmdKind k) {
  switch (k) {
    case InvCmdKind::IotlbRange: return "iotlb-range";
    case InvCmdKind::IotlbPasid: return "iotlb-pasid";
    case InvCmdKind::AtcRange: return "atc-range";
    case InvCmdKind::AtcAll: return "atc-all";
    case InvCmdKind::AtcNoPasidAll: return "atc-all-nopasid";
  }
  return "?";
}
bool is_atc(InvCmdKind k) { return k == InvCmdKind::AtcRange || k == InvCmdKind::AtcAll || k == InvCmdKind::AtcNoPasidAll; }
/// Every command is one queue entry; the cost model may still price a page, a span and a whole
/// PASID differently (docs/cost-model.md).
uint64_t cmd_cost(const CostModel& cost, const InvCmd& c) {
  if (c.kind == InvCmdKind::IotlbPasid || c.kind == InvCmdKind::AtcAll || c.kind == InvCmdKind::AtcNoPasidAll) return cost.iommu_pasid_cmd;
  return c.end - c.start <= kPageSize ? cost.iommu_cmd : cost.iommu_range_cmd;
}
}  // namespace

size_t InvalidationQueue::pending() const {
  touch::read(Touch::Obj::Queue, m_iommu.index());
  return m_pending.size();
}

void InvalidationQueue::submit(const InvCmd& c) {
  touch::write(Touch::Obj::Queue, m_iommu.index());
  if (is_atc(c.kind))
    ++m_counters.atc_commands;
  else
    ++m_counters.iommu_commands;
  const uint64_t ns = cmd_cost(m_cost, c);
  m_counters.iommu_ns = sat_add(m_counters.iommu_ns, ns);
  m_bus.advance(ns);
  if (m_bus.active()) {
    Event e{.kind = EventKind::InvCmd,
            .flags = uint8_t(c.leaf_only ? 0 : kEvTable),
            .holder = (is_atc(c.kind) && c.device < m_iommu.devices()) ? Holder{HolderKind::Atc, m_iommu.device_global_id(c.device)}
                                                                       : Holder{HolderKind::Iotlb, m_iommu.index()},
            .tag = c.pasid,
            .func = c.func};
    e.va = c.start;
    e.end = c.end;
    e.note = kind_name(c.kind);
    if (c.kind == InvCmdKind::IotlbRange && c.leaf_only) e.note += " leaf";
    m_bus.emit(std::move(e));
  }
  m_pending.push_back(c);
  m_pending.back().seq = m_next_seq++;
}

bool InvalidationQueue::atc_behind_iotlb() const {
  touch::read(Touch::Obj::Queue, m_iommu.index());
  bool iotlb = false;
  for (const InvCmd& c : m_pending) {
    if (is_atc(c.kind) && iotlb) return true;
    iotlb |= !is_atc(c.kind);
  }
  return false;
}

void InvalidationQueue::complete_atc_first(const char* func) {
  touch::write(Touch::Obj::Queue, m_iommu.index());
  std::vector<InvCmd> rest;
  for (const InvCmd& c : m_pending) {
    if (is_atc(c.kind)) {
      m_iommu.apply(c);
      m_atc_completed = true;
    } else {
      rest.push_back(c);
    }
  }
  m_pending = std::move(rest);
  if (m_bus.active()) {
    Event e{.kind = EventKind::InvSync, .holder = Holder{HolderKind::Iotlb, m_iommu.index()}, .func = func};
    e.note = "device-TLB invalidations completed ahead of the IOTLB's";
    m_bus.emit(std::move(e));
  }
}

std::vector<uint64_t> InvalidationQueue::pending_seqs() const {
  touch::read(Touch::Obj::Queue, m_iommu.index());
  std::vector<uint64_t> out;
  for (const InvCmd& c : m_pending) out.push_back(c.seq);
  return out;
}

void InvalidationQueue::complete_one(uint64_t seq, const char* func) {
  touch::write(Touch::Obj::Queue, m_iommu.index());
  const auto it = std::find_if(m_pending.begin(), m_pending.end(), [seq](const InvCmd& p) { return p.seq == seq; });
  if (it == m_pending.end()) return;
  const InvCmd c = *it;
  m_pending.erase(it);
  m_iommu.apply(c);
  m_atc_completed |= is_atc(c.kind);
  if (m_bus.active()) {
    Event e{.kind = EventKind::InvSync, .holder = Holder{HolderKind::Iotlb, m_iommu.index()}, .func = func};
    e.note = std::string("completed: ") + kind_name(c.kind);
    m_bus.emit(std::move(e));
  }
}

void InvalidationQueue::sync(const char* func) {
  touch::write(Touch::Obj::Queue, m_iommu.index());
  bool atc = m_atc_completed;
  m_atc_completed = false;
  for (const InvCmd& c : m_pending) {
    m_iommu.apply(c);
    atc |= is_atc(c.kind);
  }
  m_pending.clear();
  ++m_counters.syncs;
  const uint64_t ns = sat_add(m_cost.iommu_sync, atc ? m_cost.atc_inv_rtt : 0);
  m_counters.iommu_ns = sat_add(m_counters.iommu_ns, ns);
  m_bus.advance(ns);
  if (m_bus.active()) {
    Event e{.kind = EventKind::InvSync, .holder = Holder{HolderKind::Iotlb, m_iommu.index()}, .func = func};
    m_bus.emit(std::move(e));
  }
}

}  // namespace tlbsim::iommu
