// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>

#include "kernel/arch_flush.h"
#include "kernel/fault.h"
#include "kernel/flush_strategy.h"
#include "kernel/rmap_test_support.h"
#include "kernel/sva.h"
#include "model/saturating.h"
#include "support/recording_sink.h"

namespace tlbsim::kernel {
namespace {

TEST_CASE("a flush whose cost is past 2^64 ns saturates the clock and the CPU counter instead of wrapping", "[kernel]") {
  // The largest cost a costs file allows (2^40 ns per page) over 2^30 pages, page by page.
  MachineConfig cfg;
  cfg.cost.cpu_invlpg = uint64_t{1} << 40;
  apply_cpu_strategy(cfg, parse_strategy("cpu:per-page", nullptr)->cpu);
  test::SvaMachine m("fixed", SvaDecoding::AmdV2, cfg);
  const uint64_t start = 0x100000;
  run_sync(flush_tlb_range(*m.k, *m.mm, VaRange{start, start + (uint64_t{1} << 30) * kPageSize}));
  CHECK(m.k->cpu_counters().cpu_flush_ns == kSaturated);
  CHECK(m.k->bus().now() == kSaturated);
  run_sync(flush_tlb_range(*m.k, *m.mm, VaRange{start, start + kPageSize}));  // and stay there
  CHECK(m.k->cpu_counters().cpu_flush_ns == kSaturated);
  CHECK(m.k->bus().now() == kSaturated);
  CHECK(m.k->cpu_counters().cpu_flushes == 2);
}

/// arm64, one mm with one written page, bound through an SMMUv3 with broadcast TLB maintenance
/// to a device with an ATC, using the 6.6-6.10 SVA driver (no TLBI with BTM). The device has
/// translated the page once, so the SMMU TLB and the ATC both hold it.
struct Arm64BtmMachine {
  static constexpr uint64_t kPage = 0x40000000;
  explicit Arm64BtmMachine(const std::string& policy)
      : k(std::make_unique<Kernel>(MachineConfig{.arch = Arch::Arm64}, *find_policy(policy))) {
    k->bus().add_sink(&rec);
    mm = &k->create_mm("mm");
    iommu::IommuConfig ic;
    ic.kind = iommu::IommuKind::SmmuV3;
    ic.btm = true;
    iommu::Iommu& io = k->add_iommu(ic);
    dev = io.add_device(iommu::DeviceConfig{.name = "dev0"});
    iommu_sva_bind_device(*k, *mm, io, dev, Pasid{1}, SvaDecoding::SmmuV3);
    mmap_region(*k, *mm, Vaddr{kPage}, kPageSize, kVmRead | kVmWrite, 0, 0);
    populate(*k, *mm, Vaddr{kPage}, kPageSize, true);
    REQUIRE(dma().ok());
  }
  iommu::DmaResult dma() { return k->iommu(0).dma(dev, Pasid{1}, Vaddr{kPage}, false); }
  size_t first(EventKind kind, size_t from) const {
    return rec.find([&](const Event& e) { return e.kind == kind; }, from);
  }
  std::unique_ptr<Kernel> k;
  test::Recorder rec;
  AddressSpace* mm = nullptr;
  uint16_t dev = 0;
};

TEST_CASE(
    "arm64 flush_tlb_page() notifies between its TLBI and the dsb(ish), and a BTM SMMU's TLB answers the device "
    "until the DSB (6.6, mainline primer B5)",
    "[kernel][arm64]") {
  Arm64BtmMachine m("fixed");
  const size_t from = m.rec.events().size();
  Task<> flush = flush_tlb_page(*m.k, *m.mm, Vaddr{Arm64BtmMachine::kPage});
  test::Stepper t(flush);
  REQUIRE(t.step());
  REQUIRE_FALSE(t.done());
  CHECK(t.next_label() == "dsb(ish)");
  // The notifier has run and the ATC is empty, but no TLBI has completed yet.
  const size_t notified = m.first(EventKind::Notifier, from);
  REQUIRE(notified != test::Recorder::npos);
  CHECK(std::string(m.rec.events()[notified].func) == "__flush_tlb_page_nosync");
  CHECK(m.first(EventKind::CpuFlush, from) == test::Recorder::npos);
  CHECK(m.k->iommu(0).atc(m.dev).occupancy() == 0);
  // A translation now is answered from the SMMU TLB and fills the ATC again.
  const iommu::DmaResult d = m.dma();
  REQUIRE(d.ok());
  CHECK(d.via == m.k->iommu(0).iotlb().holder());
  CHECK(m.k->iommu(0).atc(m.dev).occupancy() == 1);
  t.finish();
  CHECK(m.first(EventKind::CpuFlush, from) > notified);
  // The DSB cleaned the SMMU TLB, not the ATC the device refilled.
  CHECK(m.k->iommu(0).iotlb().occupancy() == 0);
  CHECK(m.k->iommu(0).atc(m.dev).occupancy() == 1);
}

TEST_CASE(
    "arm64 __flush_tlb_range() notifies after its dsb(ish) up to v6.8 and before it from v6.9, where the device "
    "may translate in between",
    "[kernel][arm64][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "fixed", "v6.10");
  INFO(policy);
  Arm64BtmMachine m(policy);
  const size_t from = m.rec.events().size();
  Task<> flush = flush_tlb_range(*m.k, *m.mm, VaRange{Arm64BtmMachine::kPage, Arm64BtmMachine::kPage + kPageSize});
  test::Stepper t(flush);
  REQUIRE(t.step());
  const bool before_dsb = policy == "v6.10";
  CHECK(t.done() == !before_dsb);
  if (before_dsb) CHECK(t.next_label() == "dsb(ish)");
  t.finish();
  const size_t notified = m.first(EventKind::Notifier, from);
  const size_t flushed = m.first(EventKind::CpuFlush, from);
  REQUIRE(notified != test::Recorder::npos);
  REQUIRE(flushed != test::Recorder::npos);
  CHECK((notified < flushed) == before_dsb);
  CHECK(std::string(m.rec.events()[notified].func) == (before_dsb ? "__flush_tlb_range_nosync" : "__flush_tlb_range"));
}

TEST_CASE(
    "a flush suspends before its dsb(ish) only where a notifier subscriber heard it: never on x86, never in 6.0, "
    "never for an mm no device is bound to",
    "[kernel][arm64]") {
  SECTION("x86") {
    test::SvaMachine m("v6.10");
    Task<> flush = flush_tlb_page(*m.k, *m.mm, Vaddr{0x40000000});
    test::Stepper t(flush);
    t.step();
    CHECK(t.done());
  }
  SECTION("arm64 under old, whose flushes call no notifier") {
    Arm64BtmMachine m("old");
    Task<> flush = flush_tlb_page(*m.k, *m.mm, Vaddr{Arm64BtmMachine::kPage});
    test::Stepper t(flush);
    t.step();
    CHECK(t.done());
  }
  SECTION("arm64, nothing bound") {
    Kernel k(MachineConfig{.arch = Arch::Arm64}, *find_policy("v6.10"));
    AddressSpace& mm = k.create_mm("mm");
    Task<> flush = flush_tlb_page(k, mm, Vaddr{0x40000000});
    test::Stepper t(flush);
    t.step();
    CHECK(t.done());
  }
}

}  // namespace
}  // namespace tlbsim::kernel
