// SPDX-License-Identifier: MIT
// Each SVA driver decoding, request by request: the commands and waits it puts on the queue,
// worked out by hand from the driver's arithmetic (mainline primer sections 2-4), so a change
// of a decoding shows here as one named row rather than as golden-file diffs.
#include <catch2/catch.hpp>

#include <sstream>

#include "kernel/arch_flush.h"
#include "kernel/policy.h"
#include "kernel/sva.h"
#include "support/recording_sink.h"

namespace tlbsim::kernel {
namespace {

constexpr uint64_t kTop = kFlushAll;

MachineConfig config_for(SvaDecoding d) {
  MachineConfig cfg;
  if (driver_of(d) == SvaDriver::SmmuV3) {
    cfg.arch = Arch::Arm64;
    cfg.cpu.fault_drops_entry = false;
  }
  return cfg;
}

/// The queue traffic of one request: "kind start-end" per command, "sync" per wait.
std::vector<std::string> commands(SvaDecoding d, uint64_t start, uint64_t end, bool btm = false) {
  test::SvaMachine m("fixed", d, config_for(d));
  iommu::Iommu* io = &m.io();
  Pasid p = *m.mm->pasid();
  if (btm) {
    // A second IOMMU with BTM, bound the same way (the first one was built without it).
    io = &m.k->add_iommu(iommu::IommuConfig{.kind = iommu::IommuKind::SmmuV3, .btm = true});
    p = Pasid{2};
    io->bind(io->add_device(iommu::DeviceConfig{.name = "btm"}), p, m.k->walk_context(*m.mm));
  }
  const size_t from = m.rec.events().size();
  run_sync(sva_invalidate(*io, d, p, VaRange{start, end}));
  std::vector<std::string> out;
  for (size_t i = from; i < m.rec.events().size(); ++i) {
    const Event& e = m.rec.events()[i];
    if (e.kind == EventKind::InvSync) out.push_back("sync");
    if (e.kind == EventKind::InvCmd) {
      std::ostringstream os;
      os << e.note << " " << std::hex << e.va << "-" << e.end;
      out.push_back(os.str());
    }
  }
  return out;
}

using V = std::vector<std::string>;

// 64 pages starting one page past a 64-page boundary: calculate_psi_aligned_address() widens
// to the 128-page block at 0x7f0000000000 (mask 7).
constexpr uint64_t kOddStart = 0x7f0000001000, kOddEnd = 0x7f0000041000;

TEST_CASE("intel-6.10 gives the PIOTLB the unwidened page count and misses the block's upper half (0a3f6b346301)",
          "[kernel][sva][decoding]") {
  CHECK(commands(SvaDecoding::Intel610, kOddStart, kOddEnd) ==
        V{"iotlb-range 7f0000000000-7f0000040000", "sync", "atc-range 7f0000000000-7f0000080000", "sync"});
  // The last page of the request, 0x7f0000040000, is outside the PIOTLB's 64 pages.
  CHECK(commands(SvaDecoding::Intel611, kOddStart, kOddEnd) ==
        V{"iotlb-range 7f0000000000-7f0000080000", "sync", "atc-range 7f0000000000-7f0000080000", "sync"});
}

TEST_CASE("intel cache-tag decodings: an aligned range is one PSI block, waits per descriptor before 705c1cdf1e73 and per batch after",
          "[kernel][sva][decoding]") {
  const uint64_t s = 0x7f0000040000, e = s + 64 * kPageSize;  // 64 pages, 64-page aligned: mask 6
  CHECK(commands(SvaDecoding::Intel610, s, e) ==
        V{"iotlb-range 7f0000040000-7f0000080000", "sync", "atc-range 7f0000040000-7f0000080000", "sync"});
  CHECK(commands(SvaDecoding::Intel612, s, e) == V{"iotlb-range 7f0000040000-7f0000080000", "atc-range 7f0000040000-7f0000080000", "sync"});
  // Three pages round up to a 4-page block.
  CHECK(commands(SvaDecoding::Intel617, 0x10000000, 0x10003000) ==
        V{"iotlb-range 10000000-10004000", "atc-range 10000000-10004000", "sync"});
}

TEST_CASE("intel (0,-1): a non-PASID device-TLB flush until 3141153816bf, with the PASID after", "[kernel][sva][decoding]") {
  CHECK(commands(SvaDecoding::Intel610, 0, kTop) ==
        V{"iotlb-pasid 0-ffffffffffffffff", "sync", "atc-all-nopasid 0-ffffffffffffffff", "sync"});
  CHECK(commands(SvaDecoding::Intel612, 0, kTop) == V{"iotlb-pasid 0-ffffffffffffffff", "atc-all-nopasid 0-ffffffffffffffff", "sync"});
  CHECK(commands(SvaDecoding::Intel617, 0, kTop) == V{"iotlb-pasid 0-ffffffffffffffff", "atc-all 0-ffffffffffffffff", "sync"});
  CHECK(commands(SvaDecoding::IntelSvmFixed, 0, kTop) == V{"iotlb-pasid 0-ffffffffffffffff", "sync", "atc-all 0-ffffffffffffffff", "sync"});
  CHECK(commands(SvaDecoding::IntelSvm, 0, kTop).empty());  // the overflow e7ad6c2a4b1a fixed
}

TEST_CASE("intel-7.1 makes a 2^52-page block PASID-selective, 6.17 sends it as a PSI covering everything", "[kernel][sva][decoding]") {
  // (0x1000, -1): 2^52 - 1 pages from PFN 1; no PFN bit above the block is shared: mask 52.
  CHECK(commands(SvaDecoding::Intel71, 0x1000, kTop) == V{"iotlb-pasid 0-ffffffffffffffff", "atc-all 0-ffffffffffffffff", "sync"});
  CHECK(commands(SvaDecoding::Intel617, 0x1000, kTop) == V{"iotlb-range 0-ffffffffffffffff", "atc-all 0-ffffffffffffffff", "sync"});
  // (PAGE_OFFSET, -1), the 6.19 kernel-table worker's request: the top 2^47 bytes (mask 35).
  CHECK(commands(SvaDecoding::Intel71, 0xffff888000000000, kTop) ==
        V{"iotlb-range ffff800000000000-ffffffffffffffff", "atc-range ffff800000000000-ffffffffffffffff", "sync"});
}

TEST_CASE("amd-6.10: one naturally aligned block per device from build_inv_address(), IOMMU and device TLB under one wait",
          "[kernel][sva][decoding]") {
  CHECK(commands(SvaDecoding::Amd610, 0x10001000, 0x10002000) == V{"iotlb-range 10001000-10002000", "atc-range 10001000-10002000", "sync"});
  // Bytes 0x10000000..0x10002fff differ first at bit 13: a 16 KiB block.
  CHECK(commands(SvaDecoding::Amd610, 0x10000000, 0x10003000) == V{"iotlb-range 10000000-10004000", "atc-range 10000000-10004000", "sync"});
  // (0x1ff000, 0x201000) crosses a 2 MiB boundary: bit 21 differs, a 4 MiB block.
  CHECK(commands(SvaDecoding::Amd612, 0x1ff000, 0x201000) == V{"iotlb-range 0-400000", "atc-range 0-400000", "sync"});
  // (0, -1): the page count wraps to 0, bit 63 differs: all pages.
  CHECK(commands(SvaDecoding::Amd610, 0, kTop) == V{"iotlb-pasid 0-ffffffffffffffff", "atc-all 0-ffffffffffffffff", "sync"});
  // iommu_v2 waits between the IOMMU and the device.
  CHECK(commands(SvaDecoding::AmdV2, 0x10001000, 0x10002000) ==
        V{"iotlb-range 10001000-10002000", "sync", "atc-range 10001000-10002000", "sync"});
}

TEST_CASE("smmu-v3 skips its TLBI with BTM up to v6.10, from d38c28dbefee (v6.11) it always sends it", "[kernel][sva][decoding]") {
  const uint64_t s = 0x10000000, e = s + 2 * kPageSize;
  CHECK(commands(SvaDecoding::SmmuV3, s, e, true) == V{"atc-range 10000000-10002000", "sync"});
  CHECK(commands(SvaDecoding::SmmuV3_611, s, e, true) ==
        V{"iotlb-range 10000000-10001000", "iotlb-range 10001000-10002000", "sync", "atc-range 10000000-10002000", "sync"});
}

TEST_CASE("smmu-v3-7.1 builds the ATC span from the unreduced range where 6.11 invalidates the whole ATC", "[kernel][sva][decoding]") {
  const uint64_t s = 0x40000000, e = s + 1024 * kPageSize;  // 4 MiB: over CMDQ_MAX_TLBI_OPS
  CHECK(commands(SvaDecoding::SmmuV3_611, s, e) == V{"iotlb-pasid 0-ffffffffffffffff", "sync", "atc-all 0-ffffffffffffffff", "sync"});
  CHECK(commands(SvaDecoding::SmmuV3_71, s, e) == V{"iotlb-pasid 0-ffffffffffffffff", "sync", "atc-range 40000000-40400000", "sync"});
  CHECK(commands(SvaDecoding::SmmuV3_71, 0, kTop) == V{"iotlb-pasid 0-ffffffffffffffff", "sync", "atc-range 0-ffffffffffffffff", "sync"});
}

TEST_CASE("a device keeps PASID entries across a non-PASID ATS invalidation only if it does not read PCIe that way",
          "[kernel][sva][decoding]") {
  const bool covers = GENERATE(true, false);
  test::SvaMachine m("fixed", SvaDecoding::Intel610);
  iommu::Iommu& io = m.k->add_iommu(iommu::IommuConfig{.kind = iommu::IommuKind::IntelSvm});
  const uint16_t dev = io.add_device(iommu::DeviceConfig{.name = "d", .nopasid_inv_covers_pasid = covers});
  io.bind(dev, Pasid{2}, m.k->walk_context(*m.mm));
  const uint64_t va = 0x10000000;
  mmap_region(*m.k, *m.mm, Vaddr{va}, kPageSize, kVmRead | kVmWrite, 0, 0);
  populate(*m.k, *m.mm, Vaddr{va}, kPageSize, true);
  REQUIRE(io.dma(dev, Pasid{2}, Vaddr{va}, false).ok());
  run_sync(sva_invalidate(io, SvaDecoding::Intel610, Pasid{2}, VaRange{0, kTop}));
  size_t left = 0;
  io.atc(dev).for_each([&](const auto&) { ++left; });
  CHECK(left == (covers ? 0u : 1u));
}

TEST_CASE("amd-6.10's release flushes PASID 0, so the device's ATC still translates the released PASID (8386207f37e9)",
          "[kernel][sva][decoding]") {
  const SvaDecoding d = GENERATE(SvaDecoding::Amd610, SvaDecoding::Amd612);
  test::SvaMachine m("fixed", d);
  const uint64_t va = 0x10000000;
  mmap_region(*m.k, *m.mm, Vaddr{va}, kPageSize, kVmRead | kVmWrite, 0, 0);
  populate(*m.k, *m.mm, Vaddr{va}, kPageSize, true);
  const Pasid p = *m.mm->pasid();
  REQUIRE(m.io().dma(m.dev, p, Vaddr{va}, false).ok());
  run_sync(sva_mm_release(m.io(), d, p));
  CHECK_FALSE(m.io().device_bound(m.dev, p));
  const iommu::DmaResult after = m.io().dma(m.dev, p, Vaddr{va}, false);
  if (d == SvaDecoding::Amd610) {
    CHECK(after.ok());  // served by the ATC entry the release left
    CHECK(after.via.kind == HolderKind::Atc);
  } else {
    CHECK(after.fault == iommu::DmaFault::NotBound);
  }
}

TEST_CASE("every release policy maps each driver family to a decoding of that family, newest release last", "[kernel][sva][policy]") {
  const std::vector<const Policy*> rel = release_policies();
  REQUIRE(rel.size() >= 4);
  CHECK(rel.front()->name == "v4.12");
  CHECK(rel.back()->name == "v7.1");
  for (const Policy* p : rel)
    for (const DriverInfo& f : drivers()) {
      INFO(p->name << " " << f.name);
      const DecodingInfo* d = resolve_decoding(f.name, *p);
      REQUIRE(d != nullptr);
      CHECK(d->driver == f.driver);
    }
  CHECK(resolve_decoding("intel", *find_policy("v6.10"))->decoding == SvaDecoding::Intel610);
  CHECK(resolve_decoding("intel", *find_policy("fixed"))->decoding == SvaDecoding::IntelSvm);
  CHECK(resolve_decoding("intel-6.17", *find_policy("old"))->decoding == SvaDecoding::Intel617);  // pinned
  CHECK(resolve_decoding("no-such", *find_policy("old")) == nullptr);
}

TEST_CASE("a device's decoding name is a pinned decoding or a driver family, found once and resolved per policy", "[kernel][sva][policy]") {
  for (const DecodingInfo& d : decodings()) {
    INFO(d.name);
    const auto c = find_decoding_choice(d.name);
    REQUIRE(c);
    CHECK(std::get<SvaDecoding>(*c) == d.decoding);
    for (const Policy& p : policies()) CHECK(resolve_decoding(*c, p).decoding == d.decoding);  // pinned: every policy
  }
  for (const DriverInfo& f : drivers()) {
    INFO(f.name);
    const auto c = find_decoding_choice(f.name);
    REQUIRE(c);
    CHECK(std::get<SvaDriver>(*c) == f.driver);
    for (const Policy& p : policies()) CHECK(&resolve_decoding(*c, p) == resolve_decoding(f.name, p));
  }
  CHECK_FALSE(find_decoding_choice("no-such"));
  CHECK_FALSE(find_decoding_choice(""));
}

TEST_CASE("x86 flush_tlb_mm_range() notifies (0,-1) for a full flush up to v6.14 and the caller's range from 4a02ed8e1cc3",
          "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "fixed", "v6.15");
  test::SvaMachine m(policy);
  const uint64_t s = 0x10000000, e = s + 64 * kPageSize;  // over tlb_single_page_flush_ceiling
  const size_t from = m.rec.events().size();
  run_sync(flush_tlb_range(*m.k, *m.mm, VaRange{s, e}));
  std::vector<const Event*> sec;
  for (size_t i = from; i < m.rec.events().size(); ++i)
    if (m.rec.events()[i].kind == EventKind::Notifier) sec.push_back(&m.rec.events()[i]);
  REQUIRE(sec.size() == 1);
  CHECK(sec[0]->va == (policy == "fixed" ? 0 : s));
  CHECK(sec[0]->end == (policy == "fixed" ? kTop : e));
  // The CPU flush is full either way.
  const std::vector<const Event*> cpu = m.rec.of(EventKind::CpuFlush);
  REQUIRE_FALSE(cpu.empty());
  CHECK(cpu.back()->va == 0);
  CHECK(cpu.back()->end == kTop);
}

TEST_CASE("arm64 flush_tlb_batched_pending() flushes the mm from 4b634918384c (v6.16) and only waits before", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "v6.15", "v6.16");
  test::SvaMachine m(policy, SvaDecoding::SmmuV3, config_for(SvaDecoding::SmmuV3));
  m.mm->set_tlb_flush_batched(true);
  const uint64_t before = m.k->cpu_counters().cpu_flushes;
  run_sync(flush_tlb_batched_pending(*m.k, *m.mm));
  CHECK(m.k->cpu_counters().cpu_flushes - before == (policy == "v6.16" ? 1u : 0u));
  CHECK_FALSE(m.mm->tlb_flush_batched());
}

}  // namespace
}  // namespace tlbsim::kernel
