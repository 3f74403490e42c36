// SPDX-License-Identifier: MIT
#pragma once
/// The SVA drivers' decodings: how each release of each driver turns an
/// arch_invalidate_secondary_tlbs(start, end) (invalidate_range() before 6.6) into IOMMU and
/// device-TLB commands (primer section 9, mainline primer sections 2-4). A policy names, per
/// driver family, the decoding its release ships, so a device written as `"decoding": "intel"`
/// follows the policy (kernel/policy.h).
#include <cstdint>
#include <variant>

namespace tlbsim::kernel {

enum class SvaDecoding : uint8_t {
  AmdV2,          ///< drivers/iommu/amd/iommu_v2.c mn_invalidate_range() (up to 6.6)
  Amd610,         ///< v6.10 amd/pasid.c sva_arch_invalidate_secondary_tlbs(); release flushes PASID 0
  Amd612,         ///< 8386207f37e9 (v6.12): release flushes the PASID it cleared
  IntelSvm,       ///< drivers/iommu/intel/svm.c intel_invalidate_range(), before e7ad6c2a4b1a
  IntelSvmFixed,  ///< with e7ad6c2a4b1a (v6.7): (0, -1) becomes intel_flush_svm_all()
  Intel610,       ///< v6.10 cache tags (4f609dbff51b): PIOTLB page count not widened, non-PASID full flush
  Intel611,       ///< 0a3f6b346301 (v6.11, stable 6.10.3): the PIOTLB covers the widened block
  Intel612,       ///< 705c1cdf1e73 (v6.12): descriptors batched, one wait per 16
  Intel617,       ///< 3141153816bf (v6.17): the full flush's device-TLB descriptor carries the PASID
  Intel71,        ///< b6fd468a052e (v7.1): PASID-selective PIOTLB whenever the block reaches bit 52
  SmmuV3Old,      ///< arm-smmu-v3-sva.c arm_smmu_mm_invalidate_range() as in v6.0
  SmmuV3,         ///< as in v6.6-v6.10: 38b14e2e3de9 (size 0 = ASID-wide) and d5afb4b47e13 (512-op limit)
  SmmuV3_611,     ///< d38c28dbefee (v6.11): SVA is an arm_smmu_domain; the TLBI is issued even with BTM
  SmmuV3_71,      ///< 4202fddd01c7 (v7.1): arm_smmu_invs; the ATC span is the unreduced range
};

/// The driver families a policy maps to one decoding each.
enum class SvaDriver : uint8_t { Amd, Intel, SmmuV3 };

/// The decoding each driver family has in one kernel release.
/// What a device's `decoding` key names: one pinned decoding, or a driver family whose decoding
/// is the release the policy stands for (so one scenario runs each release's decoding under its
/// policy). The loader finds it from the name; the runner resolves it under the run's policy
/// (resolve_decoding(), kernel/sva.h).
using DecodingChoice = std::variant<SvaDecoding, SvaDriver>;

struct ReleaseDecodings {
  SvaDecoding amd = SvaDecoding::AmdV2;
  SvaDecoding intel = SvaDecoding::IntelSvm;
  SvaDecoding smmu = SvaDecoding::SmmuV3;
  SvaDecoding of(SvaDriver d) const {
    switch (d) {
      case SvaDriver::Amd: return amd;
      case SvaDriver::Intel: return intel;
      case SvaDriver::SmmuV3: return smmu;
    }
    return amd;
  }
};

}  // namespace tlbsim::kernel
