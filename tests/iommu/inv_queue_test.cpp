// SPDX-License-Identifier: MIT
// InvalidationQueue: commands queue up with their cost and an InvCmd event; a sync applies them
// in order and completes with one InvSync.
#include <catch2/catch.hpp>

#include "iommu/iommu.h"
#include "model/page_table.h"
#include "support/recording_sink.h"

namespace tlbsim::iommu {
namespace {

constexpr MmId kMm{0};
constexpr uint32_t kPasid = 3;

struct Queue {
  Queue() : mem({}, bus), pt(mem, kMm), io(2, IommuConfig{}, mem, cost) {
    bus.add_sink(&rec);
    dev = io.add_device(DeviceConfig{.name = "dev0", .global_id = 4});
    io.bind(dev, Pasid{kPasid}, WalkContext{kMm, kPasid, pt.pgd()});
    check();
  }
  EventBus bus;
  test::Recorder rec;
  PhysMem mem;
  PageTable pt;
  CostModel cost{.iommu_cmd = 10, .iommu_range_cmd = 10, .iommu_pasid_cmd = 10, .iommu_sync = 100, .atc_inv_rtt = 1000};
  Iommu io;
  uint16_t dev = 0;

  InvalidationQueue& q() { return io.queue(); }
  void check() const {
    mem.check_invariants();
    pt.check_invariants();
    io.check_invariants();
  }
  void submit(const InvCmd& c) {
    q().submit(c);
    check();
  }
  void sync(const char* func = "arm_smmu_cmdq_issue_cmd_with_sync") {
    q().sync(func);
    check();
  }
  /// Put translations for pages [0, n) in the IOTLB and the ATC directly.
  void fill(uint64_t n) {
    for (uint64_t v = 0; v < n; ++v) {
      io.iotlb().fill(kPasid, kMm, Vaddr{v << kPageShift}, Pfn{uint32_t(100 + v)}, true, false, "test");
      io.atc(dev).fill(kPasid, kMm, Vaddr{v << kPageShift}, Pfn{uint32_t(100 + v)}, true, false, "test");
    }
    check();
  }
};

}  // namespace

TEST_CASE("submit queues a command, counts it and charges iommu_cmd", "[iommu]") {
  Queue s;
  s.submit(InvCmd{.kind = InvCmdKind::IotlbRange, .pasid = kPasid, .start = 0, .end = 0x3000, .func = "tlbi"});
  s.submit(InvCmd{.kind = InvCmdKind::IotlbPasid, .pasid = kPasid, .func = "tlbi asid"});
  s.submit(InvCmd{.kind = InvCmdKind::AtcRange, .pasid = kPasid, .start = 0, .end = 0x3000, .device = s.dev, .func = "atc"});
  s.submit(InvCmd{.kind = InvCmdKind::AtcAll, .pasid = kPasid, .device = s.dev, .func = "atc all"});
  CHECK(s.q().pending() == 4);
  CHECK(s.io.counters().iommu_commands == 2);
  CHECK(s.io.counters().atc_commands == 2);
  CHECK(s.io.counters().iommu_ns == 4 * uint64_t{10});
  CHECK(s.io.counters().syncs == 0);
  CHECK(s.bus.now() == 40);
}

TEST_CASE("submit emits InvCmd naming the target cache, PASID and range", "[iommu]") {
  Queue s;
  s.submit(InvCmd{.kind = InvCmdKind::IotlbRange,
                  .pasid = kPasid,
                  .start = 0x1000,
                  .end = 0x5000,
                  .leaf_only = true,
                  .func = "arm_smmu_tlb_inv_range_asid"});
  s.submit(InvCmd{.kind = InvCmdKind::IotlbRange, .pasid = kPasid, .start = 0x1000, .end = 0x5000, .func = "tlbi"});
  s.submit(InvCmd{
      .kind = InvCmdKind::AtcRange, .pasid = kPasid, .start = 0x2000, .end = 0x3000, .device = s.dev, .func = "arm_smmu_atc_inv_domain"});
  const auto cmds = s.rec.of(EventKind::InvCmd);
  REQUIRE(cmds.size() == 3);
  CHECK(cmds[0]->holder == (Holder{HolderKind::Iotlb, 2}));
  CHECK(cmds[0]->tag == kPasid);
  CHECK(cmds[0]->va == 0x1000);
  CHECK(cmds[0]->end == 0x5000);
  CHECK(cmds[0]->note == "iotlb-range leaf");
  CHECK((cmds[0]->flags & kEvTable) == 0);
  CHECK(std::string(cmds[0]->func) == "arm_smmu_tlb_inv_range_asid");
  CHECK(cmds[1]->note == "iotlb-range");
  CHECK((cmds[1]->flags & kEvTable) != 0);
  CHECK(cmds[2]->holder == (Holder{HolderKind::Atc, 4}));  // the device's global id
  CHECK(cmds[2]->note == "atc-range");
  CHECK(cmds[2]->time_ns == 30);
}

TEST_CASE("sync applies every pending command and empties the queue", "[iommu]") {
  Queue s;
  s.fill(8);
  // pages   01234567
  // iotlb   II    II     after IotlbRange [2, 6)
  // atc     AAAA  AA     after AtcRange [4, 6)
  s.submit(InvCmd{.kind = InvCmdKind::IotlbRange, .pasid = kPasid, .start = 0x2000, .end = 0x6000, .func = "tlbi"});
  s.submit(InvCmd{.kind = InvCmdKind::AtcRange, .pasid = kPasid, .start = 0x4000, .end = 0x6000, .device = s.dev, .func = "atc"});
  CHECK(s.io.iotlb().occupancy() == 8);
  CHECK(s.io.atc(s.dev).occupancy() == 8);
  s.sync();
  CHECK(s.q().pending() == 0);
  CHECK(s.io.iotlb().occupancy() == 4);
  CHECK(s.io.atc(s.dev).occupancy() == 6);
  for (uint64_t v = 0; v < 8; ++v) {
    CHECK((s.io.iotlb().lookup(kPasid, Vaddr{v << kPageShift}) != nullptr) == (v < 2 || v >= 6));
    CHECK((s.io.atc(s.dev).lookup(kPasid, Vaddr{v << kPageShift}) != nullptr) == (v < 4 || v >= 6));
  }
  s.check();
  CHECK(s.io.counters().syncs == 1);
}

TEST_CASE("commands apply in submission order at sync", "[iommu]") {
  Queue s;
  s.fill(2);
  s.submit(
      InvCmd{.kind = InvCmdKind::AtcRange, .pasid = kPasid, .start = 0x1000, .end = 0x2000, .device = s.dev, .func = "second page atc"});
  s.submit(InvCmd{.kind = InvCmdKind::IotlbRange, .pasid = kPasid, .start = 0, .end = 0x1000, .func = "first page iotlb"});
  s.rec.clear();
  s.sync();
  const auto drops = s.rec.of(EventKind::Drop);
  REQUIRE(drops.size() == 2);
  CHECK(std::string(drops[0]->func) == "second page atc");
  CHECK(drops[0]->holder.kind == HolderKind::Atc);
  CHECK(std::string(drops[1]->func) == "first page iotlb");
  CHECK(drops[1]->holder.kind == HolderKind::Iotlb);
  const auto syncs = s.rec.of(EventKind::InvSync);
  REQUIRE(syncs.size() == 1);
  CHECK(syncs[0]->seq > drops[1]->seq);
}

TEST_CASE("a sync costs iommu_sync, plus the ATC round trip when ATC commands were queued", "[iommu]") {
  Queue s;
  SECTION("IOTLB commands only") {
    s.submit(InvCmd{.kind = InvCmdKind::IotlbPasid, .pasid = kPasid, .func = "tlbi asid"});
    const uint64_t t = s.bus.now();
    s.sync();
    CHECK(s.bus.now() == t + 100);
    CHECK(s.io.counters().iommu_ns == 10 + 100);
  }
  SECTION("with an ATC command") {
    s.submit(InvCmd{.kind = InvCmdKind::AtcAll, .pasid = kPasid, .device = s.dev, .func = "atc all"});
    const uint64_t t = s.bus.now();
    s.sync();
    CHECK(s.bus.now() == t + 100 + 1000);
    CHECK(s.io.counters().iommu_ns == 10 + 100 + 1000);
  }
  SECTION("an empty queue still pays for the sync") {
    s.sync();
    CHECK(s.bus.now() == 100);
    CHECK(s.io.counters().syncs == 1);
  }
}

TEST_CASE("sync emits InvSync on the IOMMU with the driver's function name", "[iommu]") {
  Queue s;
  s.sync("qi_submit_sync");
  const auto syncs = s.rec.of(EventKind::InvSync);
  REQUIRE(syncs.size() == 1);
  CHECK(syncs[0]->holder == (Holder{HolderKind::Iotlb, 2}));
  CHECK(std::string(syncs[0]->func) == "qi_submit_sync");
  CHECK(syncs[0]->time_ns == 100);
}

TEST_CASE("a second sync does not reapply commands", "[iommu]") {
  Queue s;
  s.submit(InvCmd{.kind = InvCmdKind::IotlbPasid, .pasid = kPasid, .func = "tlbi asid"});
  s.sync();
  s.fill(1);
  s.sync();
  CHECK(s.io.iotlb().occupancy() == 1);
  CHECK(s.io.counters().syncs == 2);
}

TEST_CASE("a command is priced by its span: one page, a range, or the whole PASID", "[iommu]") {
  Queue s;
  s.cost = CostModel{.iommu_cmd = 1, .iommu_range_cmd = 20, .iommu_pasid_cmd = 300};
  const uint64_t t0 = s.bus.now();
  s.submit(InvCmd{.kind = InvCmdKind::IotlbRange, .pasid = kPasid, .start = 0x1000, .end = 0x2000, .func = "page"});
  s.submit(InvCmd{.kind = InvCmdKind::AtcRange, .pasid = kPasid, .start = 0, .end = 0x4000, .device = s.dev, .func = "span"});
  s.submit(InvCmd{.kind = InvCmdKind::IotlbPasid, .pasid = kPasid, .func = "asid"});
  s.submit(InvCmd{.kind = InvCmdKind::AtcAll, .pasid = kPasid, .device = s.dev, .func = "atc all"});
  CHECK(s.io.counters().iommu_ns == 1 + 20 + 300 + 300);
  CHECK(s.bus.now() == t0 + 621);
}

}  // namespace tlbsim::iommu
