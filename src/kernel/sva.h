// SPDX-License-Identifier: MIT
#pragma once
/// The SVA IOMMU as an mmu_notifier subscriber: it shares the CPU page tables, so its only duty
/// is to invalidate the IOTLB, walk cache and device ATCs when told (invalidate_range() in OLD,
/// arch_invalidate_secondary_tlbs() in FIXED). How a (start, end) request becomes commands is
/// the driver's decoding (primer section 9), selectable per IOMMU.
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kernel/kernel.h"

namespace tlbsim::kernel {

enum class SvaDecoding : uint8_t {
  AmdV2,          ///< drivers/iommu/amd/iommu_v2.c mn_invalidate_range()
  IntelSvm,       ///< drivers/iommu/intel/svm.c intel_invalidate_range(), before e7ad6c2a4b1a
  IntelSvmFixed,  ///< with e7ad6c2a4b1a: (0, -1) becomes intel_flush_svm_all()
  SmmuV3Old,      ///< arm-smmu-v3-sva.c arm_smmu_mm_invalidate_range() as in v6.0
  SmmuV3,         ///< as in v6.6: 38b14e2e3de9 (size 0 = ASID-wide) and d5afb4b47e13 (512-op limit)
};

struct DecodingInfo {
  SvaDecoding decoding;
  std::string_view name;
  iommu::IommuKind kind;
  std::string_view description;
};
const std::vector<DecodingInfo>& decodings();
const DecodingInfo* find_decoding(std::string_view name);

/// Issue the commands `decoding` issues for invalidate(start, end) of `pasid` on `iommu`.
void sva_invalidate(iommu::Iommu& iommu, SvaDecoding decoding, Pasid pasid, uint64_t start, uint64_t end);

/// ops->release() of every SVA driver: ATCs and the IOTLB dropped for the PASID, then unbound.
void sva_mm_release(iommu::Iommu& iommu, Pasid pasid);

class SvaMmu : public SecondaryMmu {
 public:
  SvaMmu(iommu::Iommu& iommu, SvaDecoding decoding, Pasid pasid) : m_iommu(iommu), m_decoding(decoding), m_pasid(pasid) {}
  std::string name() const override;
  void invalidate_secondary_tlbs(Kernel& k, AddressSpace& mm, uint64_t start, uint64_t end) override;
  void release(Kernel& k, AddressSpace& mm) override;

 private:
  iommu::Iommu& m_iommu;
  SvaDecoding m_decoding;
  Pasid m_pasid;
};

/// iommu_sva_bind_device(): bind `device` of `iommu` to `mm` under `pasid`, registering the SVA
/// notifier the first time this IOMMU binds this mm.
void iommu_sva_bind_device(Kernel& k, AddressSpace& mm, iommu::Iommu& iommu, uint16_t device, Pasid pasid,
                           SvaDecoding decoding);
/// The same bind with the notifier the first bind registers built by `make_notifier` (the
/// driver's mmu_notifier_ops, e.g. a strategy in place of a driver's decoding).
void iommu_sva_bind_device(Kernel& k, AddressSpace& mm, iommu::Iommu& iommu, uint16_t device, Pasid pasid,
                           const std::function<std::unique_ptr<SecondaryMmu>()>& make_notifier);

}  // namespace tlbsim::kernel
