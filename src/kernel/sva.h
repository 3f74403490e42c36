// SPDX-License-Identifier: MIT
#pragma once
/// The SVA IOMMU as an mmu_notifier subscriber: it shares the CPU page tables, so its only duty
/// is to invalidate the IOTLB, walk cache and device ATCs when told (invalidate_range() in OLD,
/// arch_invalidate_secondary_tlbs() in FIXED). How a (start, end) request becomes commands is
/// the driver's decoding (primer section 9), selectable per IOMMU.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernel/kernel.h"
#include "kernel/sva_decoding.h"

namespace tlbsim::kernel {

struct DecodingInfo {
  SvaDecoding decoding;
  std::string_view name;
  SvaDriver driver;
  std::string_view description;
  /// One IOTLB invalidation per page of the range, however large (SMMUv3 before d5afb4b47e13):
  /// what a range costs it grows with the range, not the pages present in it.
  bool tlbi_per_page = false;
  iommu::IommuKind kind() const;
};
/// Every decoding a device can pin by name, oldest release first within each driver.
const std::vector<DecodingInfo>& decodings();
const DecodingInfo* find_decoding(std::string_view name);
SvaDriver driver_of(SvaDecoding d);

/// A driver family: a device whose `decoding` names it gets the decoding of the policy's release.
struct DriverInfo {
  SvaDriver driver;
  std::string_view name;
  std::string_view description;
};
const std::vector<DriverInfo>& drivers();
const DriverInfo* find_driver(std::string_view name);
/// What a device's `decoding` string names: a pinned decoding, or a driver family; nullopt if
/// neither.
std::optional<DecodingChoice> find_decoding_choice(std::string_view name);
/// The decoding `choice` stands for under `policy`: the pinned one, or the policy's decoding for
/// the driver family.
const DecodingInfo& resolve_decoding(DecodingChoice choice, const Policy& policy);
/// The decoding a device's `decoding` string means under `policy` (find_decoding_choice(), then
/// the above); nullptr if the name is neither.
const DecodingInfo* resolve_decoding(std::string_view name, const Policy& policy);

/// Issue the commands `decoding` issues for invalidate(start, end) of `pasid` on `iommu`.
Task<> sva_invalidate(iommu::Iommu& iommu, SvaDecoding decoding, Pasid pasid, VaRange range);

/// ops->release() of every SVA driver: ATCs and the IOTLB dropped for the PASID, then unbound.
Task<> sva_mm_release(iommu::Iommu& iommu, Pasid pasid);
/// ops->release() as `decoding`'s driver release does it (AMD's SVA domain differs).
Task<> sva_mm_release(iommu::Iommu& iommu, SvaDecoding decoding, Pasid pasid);

class SvaMmu : public SecondaryMmu {
 public:
  SvaMmu(iommu::Iommu& iommu, SvaDecoding decoding, Pasid pasid);
  std::string name() const override;
  Task<> invalidate_secondary_tlbs(Kernel& k, AddressSpace& mm, VaRange range) override;
  Task<> release(Kernel& k, AddressSpace& mm) override;
  unsigned iommu_index() const;

 private:
  /// The driver lock held across the invalidation and its wait, or nullptr (SMMUv3 waits on its
  /// lock-free command queue holding nothing). AMD: iommu_v2's domain->lock in
  /// amd_iommu_flush_page() and unbind_pasid()'s amd_iommu_domain_clear_gcr3(); from v6.10
  /// sva_pdom->lock in sva_arch_invalidate_secondary_tlbs() and sva_mn_release(). Intel: the
  /// qi->q_lock of each qi_submit_sync(), and from v6.10 domain->cache_lock around the whole
  /// cache-tag flush.
  SimLock* driver_lock();

  iommu::Iommu& m_iommu;
  SvaDecoding m_decoding;
  Pasid m_pasid;
  SimLock m_lock;
};

/// iommu_sva_bind_device(): bind `device` of `iommu` to `mm` under `pasid`, registering the SVA
/// notifier the first time this IOMMU binds this mm.
void iommu_sva_bind_device(Kernel& k, AddressSpace& mm, iommu::Iommu& iommu, uint16_t device, Pasid pasid, SvaDecoding decoding);
/// The same bind with the notifier the first bind registers built by `make_notifier` (the
/// driver's mmu_notifier_ops, e.g. a strategy in place of a driver's decoding).
void iommu_sva_bind_device(Kernel& k, AddressSpace& mm, iommu::Iommu& iommu, uint16_t device, Pasid pasid,
                           const std::function<std::unique_ptr<SecondaryMmu>()>& make_notifier);

/// iommu_sva_bind_device() as a running process calls it (a driver's open or bind ioctl; v6.10
/// drivers/iommu/iommu-sva.c): under iommu_sva_lock, iommu_alloc_mm_data() gives the mm its
/// PASID at its first bind (Kernel::alloc_global_pasid(), kept until __mmdrop()); an existing
/// bond of this device is shared (refcount_inc); else the first bind on this IOMMU allocates the
/// SVA domain (ops->domain_alloc_sva(): mmu_notifier_register(), and mmgrab()), and
/// iommu_attach_device_pasid() -> set_dev_pasid() writes the PASID-table entry and sends what the
/// driver sends after writing one (sva_cmd::set_pasid_flush()).
Task<> iommu_sva_bind_device_task(Kernel& k, AddressSpace& mm, iommu::Iommu& iommu, uint16_t device, SvaDecoding decoding);

/// The device files of an exiting process closed by its last thread (do_exit() -> exit_files(),
/// after exit_mm()): the driver's release stops the device and calls iommu_sva_unbind_device()
/// for each bond, under iommu_sva_lock: iommu_detach_device_pasid() (the driver's
/// remove_dev_pasid(): clear the PASID-table entry and invalidate, as its mm release does; nothing
/// left to do when exit_mmap()'s mmu_notifier_release() already did it), then the SVA domain is
/// freed (mmu_notifier_unregister(), mmdrop()). The mm's last mmdrop() frees its PASID
/// (mm_pasid_drop()).
Task<> iommu_sva_unbind_mm(Kernel& k, AddressSpace& mm);

/// __mmdrop() -> mm_pasid_drop(): iommu_free_global_pasid(mm->iommu_mm->pasid). Called on the last
/// mmdrop() (AddressSpace::mmdrop_and_test()).
void mm_pasid_drop(Kernel& k, AddressSpace& mm);

}  // namespace tlbsim::kernel
