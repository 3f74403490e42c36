// SPDX-License-Identifier: MIT
#include "iommu/iommu.h"

#include <algorithm>

#include "model/access_event.h"
#include "model/check.h"
#include "model/saturating.h"

namespace tlbsim::iommu {

Iommu::Iommu(uint16_t index, const IommuConfig& cfg, PhysMem& mem, const CostModel& cost)
    : m_index(index),
      m_cfg(cfg),
      m_mem(mem),
      m_cost(cost),
      m_iotlb(cfg.iotlb, Holder{HolderKind::Iotlb, index}, mem.bus()),
      m_pwc(cfg.walk_cache_entries, Holder{HolderKind::IommuWalkCache, index}, mem.bus()),
      m_queue(*this, m_cost, m_counters, mem.bus()) {}

uint16_t Iommu::add_device(DeviceConfig cfg) {
  // Device ids are 16 bits, as a PCI requester id; devices() can then count in uint16_t.
  TLBSIM_CHECK(m_devices.size() < 0xffff, "an IOMMU holds at most 65,535 devices");
  const auto id = static_cast<uint16_t>(m_devices.size());
  Device d;
  d.global_id = cfg.global_id == 0xffff ? id : cfg.global_id;
  d.atc = std::make_unique<TranslationCache>(cfg.atc, Holder{HolderKind::Atc, d.global_id}, m_mem.bus());
  d.cfg = std::move(cfg);
  m_devices.push_back(std::move(d));
  return id;
}

void Iommu::bind(uint16_t device, Pasid pasid, const WalkContext& ctx) {
  touch::write(Touch::Obj::Binding, m_index);
  TLBSIM_CHECK(device < m_devices.size(), "bind of unknown device " << device);
  auto it = m_pasid_table.find(pasid.value());
  TLBSIM_CHECK(it == m_pasid_table.end() || it->second.mm == ctx.mm, "PASID " << pasid.value() << " bound to two mms");
  // The IOMMU tags everything it caches for this mm with the PASID (its walks too).
  WalkContext c = ctx;
  c.tag = pasid.value();
  m_pasid_table[pasid.value()] = c;
  auto& p = m_devices[device].pasids;
  if (std::find(p.begin(), p.end(), pasid.value()) == p.end()) p.push_back(pasid.value());
}

void Iommu::unbind_pasid(Pasid pasid) {
  touch::write(Touch::Obj::Binding, m_index);
  m_pasid_table.erase(pasid.value());
  for (auto& d : m_devices) std::erase(d.pasids, pasid.value());
}

bool Iommu::device_bound(uint16_t d, Pasid p) const {
  touch::read(Touch::Obj::Binding, m_index);
  if (d >= m_devices.size() || !m_pasid_table.count(p.value())) return false;
  const auto& v = m_devices[d].pasids;
  return std::find(v.begin(), v.end(), p.value()) != v.end();
}

namespace {
// The PASID cache's touches: the Binding object of key `iommu` is the PASID table, this key
// its cached entries, by PASID.
uint64_t pasid_cache_touch_key(uint16_t iommu) { return (uint64_t{1} << 32) | iommu; }
constexpr const char* kClearedPasidEntry = "PASID-table entry cached before the driver cleared it";
}  // namespace

const WalkContext* Iommu::pasid_entry(uint16_t device, Pasid pasid) {
  const uint32_t p = pasid.value();
  if (m_cfg.pasid_table_cached) {
    touch::read(Touch::Obj::Binding, pasid_cache_touch_key(m_index), p, p + 1);
    if (auto it = m_pasid_cache.find({device, p}); it != m_pasid_cache.end()) return &it->second;
  }
  if (!device_bound(device, pasid)) return nullptr;
  const WalkContext& e = m_pasid_table.at(p);
  if (!m_cfg.pasid_table_cached) return &e;
  touch::write(Touch::Obj::Binding, pasid_cache_touch_key(m_index), p, p + 1);
  return &(m_pasid_cache[{device, p}] = e);
}

void Iommu::drop_pasid_entries(uint32_t pasid) {
  if (!m_cfg.pasid_table_cached) return;
  touch::write(Touch::Obj::Binding, pasid_cache_touch_key(m_index), pasid, pasid + 1);
  std::erase_if(m_pasid_cache, [&](const auto& kv) { return kv.first.second == pasid; });
}

std::vector<uint16_t> Iommu::devices_of(Pasid p) const {
  std::vector<uint16_t> out;
  for (uint16_t d = 0; d < devices(); ++d)
    if (device_bound(d, p)) out.push_back(d);
  return out;
}

namespace {
void emit_dma(EventBus& bus, MmId mm, uint32_t pasid, Vaddr va, bool write, Pfn pfn, Holder via, uint16_t dev, const char* note = nullptr,
              uint8_t walk_level = 0) {
  emit_access(bus, {.mm = mm,
                    .tag = pasid,
                    .va = va,
                    .write = write,
                    .pfn = pfn,
                    .via = via,
                    .walk_level = walk_level,
                    .func = write ? "DMA write" : "DMA read",
                    .aux = dev,
                    .note = note});
}
void emit_prq(EventBus& bus, MmId mm, uint32_t pasid, Vaddr va, bool write, uint16_t dev, const char* why) {
  touch_access(mm, va, false, kNoPfn);
  if (!bus.active()) return;
  Event e{.kind = EventKind::Fault, .flags = uint8_t(write ? kEvWrite : 0), .mm = mm, .tag = pasid, .func = "page request (PRI/IOPF)"};
  e.va = va.value();
  e.aux = dev;
  e.note = why;
  bus.emit(std::move(e));
}
}  // namespace

std::optional<DmaResult> Iommu::atc_hit(Device& d, uint32_t tag, Vaddr va, bool write) {
  const CachedTranslation* c = d.atc->lookup(tag, va);
  if (!c || (write && !(c->writable && c->dirty))) return std::nullopt;
  const Pfn pfn = c->pfn_for(va.vpn());
  // A stale huge entry's window covers all 512 frames: whether any was freed decides it.
  if (c->huge) touch::frame(false, c->pfn, kPtrsPerTable);
  if (write) m_mem.write_content(pfn);
  emit_dma(m_mem.bus(), c->mm, tag, va, write, pfn, d.atc->holder(), d.global_id);
  return DmaResult{DmaFault::None, pfn, d.atc->holder()};
}

DmaResult Iommu::dma(uint16_t device, Pasid pasid, Vaddr va, bool write) {
  EventBus& bus = m_mem.bus();
  // The PASID table decides whether and where the device translates; its caches are looked up
  // below, and each lookup records what it read, a miss included.
  touch::read(Touch::Obj::Binding, m_index);
  const uint32_t tag = pasid.value();
  const WalkContext* entry = device < m_devices.size() ? pasid_entry(device, pasid) : nullptr;
  if (!entry) {
    // A device keeps using its ATC after the PASID is gone: a translated request names a
    // physical address, and the IOMMU checks only that the device may send such requests
    // (not the PASID table). Only a driver's invalidation at unbind or release stops it (AMD
    // before 8386207f37e9 flushed the wrong PASID there).
    if (device < m_devices.size() && m_devices[device].cfg.ats)
      if (auto hit = atc_hit(m_devices[device], tag, va, write)) return *hit;
    return {DmaFault::NotBound};
  }
  const WalkContext ctx = *entry;
  // The witness says so when the table no longer has the entry the IOMMU translates with.
  const char* note = m_cfg.pasid_table_cached && !device_bound(device, pasid) ? kClearedPasidEntry : nullptr;
  Device& d = m_devices[device];
  if (d.cfg.ats) {
    if (auto hit = atc_hit(d, tag, va, write)) return *hit;
    // ATS Translation Request to the IOMMU (a miss, or a write needing a writable translation).
    ++m_counters.atc_misses;
    m_counters.refill_ns = sat_add(m_counters.refill_ns, m_cost.atc_miss);
    bus.advance(m_cost.atc_miss);
  }
  Holder via{};
  uint8_t walk_level = 0;
  // Whose translation the device uses: the PASID's mm for a walk from the root, the entry's own for
  // a hit or a walk resumed from a walk-cache entry (after a PASID moves to another mm, an entry
  // the move left behind is the old mm's).
  MmId mm = ctx.mm;
  Pfn pfn = kNoPfn;
  bool writable = false, huge = false, dirty = false;
  Pfn entry_pfn = kNoPfn;
  const CachedTranslation* c = m_iotlb.lookup(tag, va);
  // A write through an entry cached from a read must set the PTE dirty bit first: the IOMMU
  // walks again (as a CPU does for a clean TLB entry) and the walk sets D or faults.
  if (c && write && c->writable && !c->dirty) c = nullptr;
  if (c && write && !c->writable) {
    if (m_cfg.permission_fault_rewalks) {
      m_iotlb.invalidate_range(tag, va.page().value(), va.page().value() + kPageSize, "permission fault drops IOTLB entry");
      c = nullptr;
    } else {
      // The IOTLB keeps the read-only entry and reports a permission fault: the device must
      // wait for software to invalidate it (primer 7.2, the SMMU upgrade livelock).
      emit_prq(bus, ctx.mm, tag, va, write, d.global_id, "write to read-only IOTLB entry");
      return {DmaFault::PageRequest};
    }
  }
  if (c) {
    if (c->huge) touch::frame(false, c->pfn, kPtrsPerTable);
    via = m_iotlb.holder();
    mm = c->mm;
    pfn = c->pfn_for(va.vpn());
    entry_pfn = c->pfn;
    writable = c->writable;
    huge = c->huge;
    dirty = c->dirty;
  } else {
    ++m_counters.iotlb_misses;
    m_counters.refill_ns = sat_add(m_counters.refill_ns, m_cost.iotlb_walk);
    bus.advance(m_cost.iotlb_walk);
    // SVA requests are user-mode: the PASID entry does not enable supervisor requests.
    WalkResult w = hw_walk(m_mem, ctx, va, write, &m_pwc,
                           WalkParams{.cache_nonleaf_on_fault = m_cfg.cache_nonleaf_on_fault,
                                      .user_request = true,
                                      .cache_nonleaf_on_supervisor_fault = m_cfg.cache_nonleaf_on_supervisor_fault,
                                      .func = "iommu page walk"});
    if (w.fault == WalkFault::StaleTable) {
      emit_prq(bus, ctx.mm, tag, va, write, d.global_id, "walk through a page-table page reused as data");
      return {DmaFault::StaleTable, kNoPfn, m_pwc.holder()};
    }
    if (w.fault != WalkFault::None) {
      emit_prq(bus, ctx.mm, tag, va, write, d.global_id,
               w.fault == WalkFault::NotPresent   ? "not present"
               : w.fault == WalkFault::Supervisor ? "supervisor page"
                                                  : "write protected");
      return {DmaFault::PageRequest};
    }
    huge = w.leaf_level == 2;
    entry_pfn = huge ? w.leaf.pfn() : w.pfn_for(va.value());
    pfn = w.pfn_for(va.value());
    writable = w.leaf.writable();
    // Resumed from a walk-cache entry: that entry is the holder (cpu.cpp, Cpu::access()).
    if (w.walk_cache_level) {
      via = m_pwc.holder();
      walk_level = w.stale_table ? 0 : w.walk_cache_level;
    }
    dirty = w.leaf.dirty();
    mm = w.mm;  // the walk-cache entry's it resumed from, if any (WalkResult::mm)
    m_iotlb.fill(tag, mm, va, entry_pfn, writable, huge, "iommu page walk", dirty);
  }
  if (d.cfg.ats) d.atc->fill(tag, mm, va, entry_pfn, writable, huge, "ATS translation completion", dirty);
  if (write) m_mem.write_content(pfn);
  emit_dma(bus, mm, tag, va, write, pfn, via, d.global_id, note, walk_level);
  return {DmaFault::None, pfn, via};
}

void Iommu::apply(const InvCmd& c) {
  switch (c.kind) {
    case InvCmdKind::IotlbRange:
      m_iotlb.invalidate_range(c.pasid, c.start, c.end, c.func);
      if (!c.leaf_only) m_pwc.invalidate_range(c.pasid, c.start, c.end, c.func);
      break;
    case InvCmdKind::IotlbPasid:
      m_iotlb.invalidate_tag(c.pasid, c.func);
      m_pwc.invalidate_tag(c.pasid, c.func);
      // The PASID-table entry goes with them. AMD: INVALIDATE_IOMMU_PAGES of all the PASID's
      // pages is what the driver sends after writing a GCR3 entry (amd_iommu_dev_flush_pasid_all()
      // from update_gcr3(); iommu_v2's __amd_iommu_flush_tlb()). VT-d's PASID-cache invalidation
      // (intel_pasid_tear_down_entry()) and SMMUv3's CFGI_CD (arm_smmu_write_ctx_desc()) are
      // separate commands that the model folds into the PASID-wide IOTLB invalidation their
      // release sends with them. A PASID-wide invalidation anywhere else drops an entry that
      // still matches the table, which changes only the next walk's cost.
      drop_pasid_entries(c.pasid);
      break;
    case InvCmdKind::AtcRange:
      if (c.device < m_devices.size()) m_devices[c.device].atc->invalidate_range(c.pasid, c.start, c.end, c.func);
      break;
    case InvCmdKind::AtcAll:
      if (c.device < m_devices.size()) m_devices[c.device].atc->invalidate_tag(c.pasid, c.func);
      break;
    case InvCmdKind::AtcNoPasidAll:
      // The model's ATC holds PASID-tagged entries only: a device that reads a request without
      // a PASID as meant for its non-PASID entries drops nothing.
      if (c.device < m_devices.size() && m_devices[c.device].cfg.nopasid_inv_covers_pasid) m_devices[c.device].atc->invalidate_all(c.func);
      break;
  }
}

void Iommu::snoop_cpu_tlbi(uint32_t pasid, uint64_t start, uint64_t end, bool leaf_only) {
  if (!m_cfg.btm) return;
  m_iotlb.invalidate_range(pasid, start, end, "BTM snoop of CPU TLBI");
  if (!leaf_only) m_pwc.invalidate_range(pasid, start, end, "BTM snoop of CPU TLBI");
}

void Iommu::check_invariants() const {
  m_iotlb.check_invariants();
  m_pwc.check_invariants();
  for (const auto& d : m_devices) d.atc->check_invariants();
}

}  // namespace tlbsim::iommu
