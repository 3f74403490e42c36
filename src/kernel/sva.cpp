// SPDX-License-Identifier: MIT
#include "kernel/sva.h"

#include "kernel/locking.h"
#include "kernel/mmu_notifier.h"
#include "kernel/sva_commands.h"

namespace tlbsim::kernel {

const std::vector<DecodingInfo>& decodings() {
  static const std::vector<DecodingInfo> all{
      {SvaDecoding::AmdV2, "amd-v2", SvaDriver::Amd,
       "AMD IOMMUv2: one page if start and end-1 share a page, else the whole PASID; (~0,~0) flushes page ~0"},
      {SvaDecoding::Amd610, "amd-6.10", SvaDriver::Amd,
       "AMD SVA domain (v6.10, 1af95763e0a3): per device one aligned block (build_inv_address), IOMMU and device TLB, one wait; release "
       "flushes PASID 0 instead (474bf01ed9f0)"},
      {SvaDecoding::Amd612, "amd-6.12", SvaDriver::Amd, "amd-6.10 with 8386207f37e9 (v6.12): release flushes the whole released PASID"},
      {SvaDecoding::IntelSvm, "intel-svm", SvaDriver::Intel,
       "Intel SVM before e7ad6c2a4b1a: power-of-two PSI chunks; (0,-1) and (~0,~0) overflow to no invalidation"},
      {SvaDecoding::IntelSvmFixed, "intel-svm-e7ad6c2a4b1a", SvaDriver::Intel,
       "Intel SVM with e7ad6c2a4b1a (v6.7-v6.9): (0,-1) invalidates the whole PASID and device TLB"},
      {SvaDecoding::Intel610, "intel-6.10", SvaDriver::Intel,
       "Intel cache tags (v6.10, 4f609dbff51b): one aligned PSI block, but the PIOTLB gets the unwidened page count (before 0a3f6b346301); "
       "(0,-1) sends a device-TLB flush without PASID"},
      {SvaDecoding::Intel611, "intel-6.11", SvaDriver::Intel,
       "intel-6.10 with 0a3f6b346301 (v6.11, stable 6.10.3): the PIOTLB covers the whole aligned block"},
      {SvaDecoding::Intel612, "intel-6.12", SvaDriver::Intel,
       "intel-6.11 with 705c1cdf1e73 (v6.12): descriptors batched, one wait per 16 and at the end"},
      {SvaDecoding::Intel617, "intel-6.17", SvaDriver::Intel,
       "intel-6.12 with 3141153816bf (v6.17, stable 6.16): the (0,-1) device-TLB flush carries the PASID"},
      {SvaDecoding::Intel71, "intel-7.1", SvaDriver::Intel,
       "intel-6.17 with b6fd468a052e (v7.1): a block of 2^52 pages or more is a PASID-selective PIOTLB"},
      {SvaDecoding::SmmuV3Old, "smmu-v3-6.0", SvaDriver::SmmuV3,
       "Arm SMMUv3 SVA as in v6.0: TLBI per page (none for size 0, none with BTM), ATC span (size 0 = all)", true},
      {SvaDecoding::SmmuV3, "smmu-v3", SvaDriver::SmmuV3,
       "Arm SMMUv3 SVA as in v6.6-v6.10: size 0 or >= 512 pages is one TLBI ASID (38b14e2e3de9, d5afb4b47e13); none with BTM"},
      {SvaDecoding::SmmuV3_611, "smmu-v3-6.11", SvaDriver::SmmuV3,
       "smmu-v3 with d38c28dbefee (v6.11): the SVA domain issues its TLBI even with BTM"},
      {SvaDecoding::SmmuV3_71, "smmu-v3-7.1", SvaDriver::SmmuV3,
       "smmu-v3-6.11 with 4202fddd01c7 (v7.1): the ATC span is built from the unreduced range"},
  };
  return all;
}

const DecodingInfo* find_decoding(std::string_view name) {
  for (const auto& d : decodings())
    if (d.name == name) return &d;
  return nullptr;
}

SvaDriver driver_of(SvaDecoding decoding) {
  for (const auto& d : decodings())
    if (d.decoding == decoding) return d.driver;
  return SvaDriver::Amd;
}

iommu::IommuKind DecodingInfo::kind() const {
  switch (driver) {
    case SvaDriver::Amd: return iommu::IommuKind::AmdV2;
    case SvaDriver::Intel: return iommu::IommuKind::IntelSvm;
    case SvaDriver::SmmuV3: return iommu::IommuKind::SmmuV3;
  }
  return iommu::IommuKind::AmdV2;
}

const std::vector<DriverInfo>& drivers() {
  static const std::vector<DriverInfo> all{
      {SvaDriver::Amd, "amd", "the AMD IOMMU driver of the policy's release (amd-v2 up to 6.6, amd-6.10, amd-6.12)"},
      {SvaDriver::Intel, "intel", "the Intel VT-d driver of the policy's release (intel-svm up to 6.6, then intel-6.10 ... intel-7.1)"},
      {SvaDriver::SmmuV3, "arm-smmu-v3", "the Arm SMMUv3 driver of the policy's release (smmu-v3-6.0, smmu-v3, smmu-v3-6.11, smmu-v3-7.1)"},
  };
  return all;
}

const DriverInfo* find_driver(std::string_view name) {
  for (const auto& d : drivers())
    if (d.name == name) return &d;
  return nullptr;
}

namespace {
const DecodingInfo& info_of(SvaDecoding decoding) {
  for (const auto& d : decodings())
    if (d.decoding == decoding) return d;
  return decodings().front();
}
}  // namespace

std::optional<DecodingChoice> find_decoding_choice(std::string_view name) {
  if (const DecodingInfo* d = find_decoding(name)) return d->decoding;
  if (const DriverInfo* f = find_driver(name)) return f->driver;
  return std::nullopt;
}

const DecodingInfo& resolve_decoding(DecodingChoice choice, const Policy& policy) {
  if (const SvaDriver* family = std::get_if<SvaDriver>(&choice)) return info_of(policy.decodings.of(*family));
  return info_of(std::get<SvaDecoding>(choice));
}

const DecodingInfo* resolve_decoding(std::string_view name, const Policy& policy) {
  const std::optional<DecodingChoice> c = find_decoding_choice(name);
  return c ? &resolve_decoding(*c, policy) : nullptr;
}

Task<> sva_invalidate(iommu::Iommu& io, SvaDecoding decoding, Pasid p, VaRange range) {
  switch (driver_of(decoding)) {
    case SvaDriver::Amd: co_await sva_cmd::amd_invalidate(io, decoding, p, range); break;
    case SvaDriver::Intel: co_await sva_cmd::intel_invalidate(io, decoding, p, range); break;
    case SvaDriver::SmmuV3: co_await sva_cmd::smmu_invalidate(io, decoding, p, range); break;
  }
}

std::string SvaMmu::name() const {
  for (const auto& d : decodings())
    if (d.decoding == m_decoding) return "sva(" + std::string(d.name) + ", pasid " + std::to_string(m_pasid.value()) + ")";
  return "sva";
}

namespace {
const char* lock_name(SvaDecoding d) {
  switch (driver_of(d)) {
    case SvaDriver::Amd: return d == SvaDecoding::AmdV2 ? "domain->lock" : "sva_pdom->lock";
    case SvaDriver::Intel: return d == SvaDecoding::IntelSvm || d == SvaDecoding::IntelSvmFixed ? "qi->q_lock" : "domain->cache_lock";
    case SvaDriver::SmmuV3: return "";
  }
  return "";
}
}  // namespace

SvaMmu::SvaMmu(iommu::Iommu& iommu, SvaDecoding decoding, Pasid pasid)
    : m_iommu(iommu),
      m_decoding(decoding),
      m_pasid(pasid),
      m_lock(std::string(lock_name(decoding)) + " (iommu" + std::to_string(iommu.index()) + ", pasid " + std::to_string(pasid.value()) +
             ")") {}

SimLock* SvaMmu::driver_lock() { return driver_of(m_decoding) == SvaDriver::SmmuV3 ? nullptr : &m_lock; }

Task<> SvaMmu::invalidate_secondary_tlbs(Kernel&, AddressSpace&, VaRange range) {
  ++m_iommu.counters().sec_inv_requests;
  SimLock* l = driver_lock();
  if (l) co_await quiet_lock(*l, "spin_lock");
  co_await sva_invalidate(m_iommu, m_decoding, m_pasid, range);
  if (l) quiet_unlock(*l);
}

Task<> sva_mm_release(iommu::Iommu& io, Pasid pasid) {
  // Translation stops first: iommu_v2's unbind_pasid() clears the GCR3 entry, intel_mm_release()'s
  // intel_pasid_tear_down_entry() clears the PASID entry, arm_smmu_mm_release() writes a CD with
  // translation disabled. Then the IOTLB for the PASID and a wait (__flush_pasid(),
  // qi_flush_piotlb(), arm_smmu_tlb_inv_asid()), then the device TLBs and a wait. A device's ATS
  // request in between finds no PASID entry, so nothing refills what is being dropped.
  const std::vector<uint16_t> devs = io.devices_of(pasid);
  io.unbind_pasid(pasid);
  sva_cmd::iotlb_pasid(io, pasid, "mmu_notifier release");
  co_await sva_cmd::complete_batch(io, "mmu_notifier release");
  bool atc = false;
  for (uint16_t d : devs)
    if (io.device_ats(d)) {
      sva_cmd::atc_all(io, pasid, d, "mmu_notifier release");
      atc = true;
    }
  if (atc) co_await sva_cmd::complete_batch(io, "mmu_notifier release");
}

Task<> sva_mm_release(iommu::Iommu& io, SvaDecoding decoding, Pasid pasid) {
  if (decoding == SvaDecoding::Amd610 || decoding == SvaDecoding::Amd612)
    co_await sva_cmd::amd_release(io, decoding, pasid);
  else
    co_await sva_mm_release(io, pasid);
}

Task<> SvaMmu::release(Kernel&, AddressSpace&) {
  // AMD's release holds the domain lock throughout. Intel's (intel_pasid_tear_down_entry()) takes
  // no domain lock, only the queue lock of each synchronous descriptor, one command per wait.
  SimLock* l = driver_of(m_decoding) == SvaDriver::Amd ? driver_lock() : nullptr;
  if (l) co_await quiet_lock(*l, "spin_lock");
  co_await sva_mm_release(m_iommu, m_decoding, m_pasid);
  if (l) quiet_unlock(*l);
}

void iommu_sva_bind_device(Kernel& k, AddressSpace& mm, iommu::Iommu& io, uint16_t device, Pasid pasid,
                           const std::function<std::unique_ptr<SecondaryMmu>()>& make_notifier) {
  const bool first = io.devices_of(pasid).empty();
  io.bind(device, pasid, k.walk_context(mm));
  if (!mm.pasid()) {
    k.take_global_pasid(pasid);
    mm.set_pasid(pasid);
    // The bond's device file, held by the process that bound it (see exit_files()).
    mm.hold_device_file(mm.id());
    mm.bond_files_get();
  }
  if (first) {
    k.register_notifier(mm.id(), make_notifier());
    mm.mmgrab();  // iommu_sva_domain_alloc()
    k.add_sva_domain(mm.id(), io.index());
  }
}

unsigned SvaMmu::iommu_index() const { return m_iommu.index(); }

namespace {
// What set_dev_pasid() sends after writing a PASID-table entry. AMD invalidates the PASID (the
// wrong one in v6.10 and v6.11). Intel's intel_pasid_setup_first_level() invalidates only in
// caching mode (pasid_flush_caches(); a virtual IOMMU), SMMUv3 sends CFGI_CD for the new CD: the
// model sends nothing for either, as their release already invalidated what the IOMMU cached for
// the PASID (sva_mm_release()), so nothing of an earlier mm is left to drop.
Task<> set_pasid_flush(iommu::Iommu& io, SvaDecoding d, Pasid p, uint16_t dev) {
  if (driver_of(d) == SvaDriver::Amd) co_await sva_cmd::amd_set_gcr3(io, d, p, dev);
}
}  // namespace

Task<> iommu_sva_bind_device_task(Kernel& k, AddressSpace& mm, iommu::Iommu& io, uint16_t device, SvaDecoding decoding) {
  SimLock& sva_lock = k.iommu_sva_lock();
  co_await lock(k, sva_lock, LockMode::Write, "iommu_sva_bind_device");  // mutex_lock(&iommu_sva_lock)
  // iommu_alloc_mm_data(): the mm's PASID is allocated at its first bind and kept to __mmdrop().
  std::optional<Pasid> pasid = mm.pasid();
  if (!pasid) {
    pasid = k.alloc_global_pasid();
    mm.set_pasid(*pasid);
    trace_call(k, "iommu_alloc_global_pasid", mm.id(), VaRange{pasid->value(), pasid->value() + 1});
    // The open()ed device file the bond lives with (exit_files()).
    mm.hold_device_file(mm.id());
    mm.bond_files_get();
  }
  // A bond of this device to this mm already exists: refcount_inc(&handle->users), nothing else.
  if (!io.device_bound(device, *pasid)) {
    const std::vector<unsigned> domains = k.sva_domains(mm.id());
    if (std::find(domains.begin(), domains.end(), io.index()) == domains.end()) {
      // iommu_sva_domain_alloc(): ops->domain_alloc_sva() registers the domain's notifier
      // (mmu_notifier_register(), as AMD's, Intel's and SMMUv3's do), then mmgrab().
      co_await mmu_notifier_register(k, mm, std::make_unique<SvaMmu>(io, decoding, *pasid));
      mm.mmgrab();
      k.add_sva_domain(mm.id(), io.index());
    }
    // iommu_attach_device_pasid() -> ops->set_dev_pasid(): the PASID-table entry, then the
    // driver's invalidation after writing it.
    io.bind(device, *pasid, k.walk_context(mm));
    trace_call(k, "set_dev_pasid", mm.id(), VaRange{pasid->value(), pasid->value() + 1});
    co_await set_pasid_flush(io, decoding, *pasid, device);
  }
  unlock(k, sva_lock, LockMode::Write, "mutex_unlock(&iommu_sva_lock)");
}

Task<> iommu_sva_unbind_mm(Kernel& k, AddressSpace& mm) {
  const std::vector<unsigned> domains = k.sva_domains(mm.id());
  const std::optional<Pasid> pasid = mm.pasid();
  if (domains.empty() || !pasid) co_return;
  SimLock& sva_lock = k.iommu_sva_lock();
  co_await lock(k, sva_lock, LockMode::Write, "iommu_sva_unbind_device");  // mutex_lock(&iommu_sva_lock)
  for (const unsigned i : domains) {
    // iommu_detach_device_pasid() -> the driver's remove_dev_pasid(): the same clear and
    // invalidation as its mm release, which finds nothing left when exit_mmap() already ran it.
    // The notifier then stays on the list until exit_mmap() unhooks it (the kernel's
    // mmu_notifier_unregister() takes it off now); its later release finds nothing bound.
    if (!k.iommu(i).devices_of(*pasid).empty())
      for (size_t n = 0; n < k.notifiers(mm.id()).size(); ++n)
        if (auto* s = dynamic_cast<SvaMmu*>(k.notifiers(mm.id())[n].get()); s && s->iommu_index() == i) co_await s->release(k, mm);
    // --domain->users == 0: iommu_domain_free() -> mmdrop(), mmu_notifier_unregister().
    trace_call(k, "iommu_sva_unbind_device: iommu_domain_free", mm.id(), VaRange{pasid->value(), pasid->value() + 1});
  }
  k.clear_sva_domains(mm.id());
  unlock(k, sva_lock, LockMode::Write, "mutex_unlock(&iommu_sva_lock)");
  bool last = false;
  for (size_t n = 0; n < domains.size(); ++n) last = mm.mmdrop_and_test();
  if (last) mm_pasid_drop(k, mm);
}

void mm_pasid_drop(Kernel& k, AddressSpace& mm) {
  const std::optional<Pasid> pasid = mm.pasid();
  if (!pasid) return;
  trace_call(k, "__mmdrop: mm_pasid_drop", mm.id(), VaRange{pasid->value(), pasid->value() + 1});
  k.free_global_pasid(*pasid);
  mm.clear_pasid();
}

void iommu_sva_bind_device(Kernel& k, AddressSpace& mm, iommu::Iommu& io, uint16_t device, Pasid pasid, SvaDecoding decoding) {
  iommu_sva_bind_device(k, mm, io, device, pasid, [&] { return std::make_unique<SvaMmu>(io, decoding, pasid); });
}

}  // namespace tlbsim::kernel
