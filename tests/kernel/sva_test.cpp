// SPDX-License-Identifier: MIT
// The SVA notifier: the secondary-TLB invalidation requests it receives (counted per IOMMU),
// and the SMMUv3 decoding's CMDQ_MAX_TLBI_OPS rule expressed through the full-above strategy.
#include <catch2/catch.hpp>

#include "kernel/fault.h"
#include "kernel/fork.h"
#include "kernel/sva.h"
#include "support/recording_sink.h"

namespace tlbsim::kernel {
namespace {

using test::SvaMachine;

constexpr uint64_t kBase = 0x10000000;
constexpr uint32_t kRw = kVmRead | kVmWrite;

SCENARIO("fork of an mm with 100 COW VMAs: one secondary invalidation under fixed, one per COW VMA under old", "[kernel][sva][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  GIVEN("an SVA-bound mm with 100 private writable VMAs of 2 pages each, populated, under " + policy) {
    SvaMachine m(policy);
    for (uint64_t i = 0; i < 100; ++i) {
      const uint64_t at = kBase + i * 3 * kPageSize;  // a guard page between neighbours
      mmap_region(*m.k, *m.mm, Vaddr{at}, 2 * kPageSize, kRw, 0, 0);
      populate(*m.k, *m.mm, Vaddr{at}, 2 * kPageSize, true);
    }
    size_t cow = 0;
    for (const Vma& v : m.mm->vmas()) cow += v.is_cow() ? 1 : 0;
    REQUIRE(cow == 100);
    WHEN("the mm forks") {
      const uint64_t before = m.io().counters().sec_inv_requests;
      Task<AddressSpace*> t = sys_fork(*m.k, *m.mm, "child");
      run_sync(t);
      const uint64_t requests = m.io().counters().sec_inv_requests - before;
      THEN("the SVA notifier receives " + std::string(policy == "fixed" ? "one request" : "one request per COW VMA")) {
        CHECK(requests == (policy == "fixed" ? 1u : cow));
      }
    }
  }
}

TEST_CASE("smmu-v3 (6.6) invalidates page by page below CMDQ_MAX_TLBI_OPS and the whole ASID from 512 pages", "[kernel][sva]") {
  SvaMachine m("fixed", SvaDecoding::SmmuV3);
  const Pasid p = *m.mm->pasid();
  run_sync(sva_invalidate(m.io(), SvaDecoding::SmmuV3, p, VaRange{kBase, kBase + 511 * kPageSize}));
  CHECK(m.io().counters().iommu_commands == 511);  // one TLBI_NH_VA per page
  CHECK(m.io().counters().atc_commands == 1);      // one naturally aligned ATC_INV span
  run_sync(sva_invalidate(m.io(), SvaDecoding::SmmuV3, p, VaRange{kBase, kBase + 512 * kPageSize}));
  CHECK(m.io().counters().iommu_commands == 512);  // + one TLBI ASID
  CHECK(m.io().counters().atc_commands == 2);      // + ATC invalidate-all
  run_sync(sva_invalidate(m.io(), SvaDecoding::SmmuV3Old, p, VaRange{kBase, kBase + 512 * kPageSize}));
  CHECK(m.io().counters().iommu_commands == 1024);  // 6.0: no limit
}

TEST_CASE("a page request through a released PASID's cached entry is answered INVALID and faults nothing in", "[kernel][sva]") {
  // amd-6.10's release clears the GCR3 entry and flushes PASID 0, so the IOMMU keeps translating
  // the released PASID through the entry it cached (IommuConfig::pasid_table_cached).
  SvaMachine m("v6.10", SvaDecoding::Amd610);
  const Pasid p = *m.mm->pasid();
  mmap_region(*m.k, *m.mm, Vaddr{kBase}, 8 * kPageSize, kRw, 0, 0);
  populate(*m.k, *m.mm, Vaddr{kBase}, kPageSize, true);
  Task<> first = device_dma(*m.k, 0, m.dev, *m.mm, Vaddr{kBase}, false);
  run_sync(first);
  run_sync(sva_mm_release(m.io(), SvaDecoding::Amd610, p));
  REQUIRE_FALSE(m.io().device_bound(m.dev, p));
  m.rec.clear();
  Task<> dma = device_dma(*m.k, 0, m.dev, *m.mm, Vaddr{kBase + 3 * kPageSize}, true);
  run_sync(dma);
  const auto faults = m.rec.of(EventKind::Fault);
  REQUIRE(faults.size() == 1);
  CHECK(faults[0]->func == std::string("page request (PRI/IOPF)"));
  CHECK(m.rec.of(EventKind::Call).empty());
  const auto rejects = m.rec.of(EventKind::FaultRejected);
  REQUIRE(rejects.size() == 1);
  CHECK(rejects[0]->func == std::string("iommu_sva_handle_iopf"));
  CHECK(rejects[0]->note == "IOMMU_PAGE_RESP_INVALID: mmget_not_zero");
  CHECK(rejects[0]->aux == m.dev);
  CHECK_FALSE(m.mm->pt().leaf(Vaddr{kBase + 3 * kPageSize}).present());
}

}  // namespace
}  // namespace tlbsim::kernel
