// SPDX-License-Identifier: MIT
// Iommu: SVA DMA through a device ATC (PCIe ATS), the IOTLB and the IOMMU walker; page requests;
// permission faults; invalidation commands and BTM snooping.
#include <catch2/catch.hpp>

#include "iommu/iommu.h"
#include "model/check.h"
#include "model/page_table.h"
#include "support/memory_fixture.h"

namespace tlbsim::iommu {
namespace {

constexpr MmId kMm{0};
constexpr Asid kAsid{1};
constexpr Pasid kPasid{1};
constexpr Vaddr kVa{0x20000000};

struct Sva : test::MemoryFixture {
  explicit Sva(const IommuConfig& cfg = {}, DeviceConfig dev_cfg = DeviceConfig{.name = "dev0"})
      : MemoryFixture(kMm, kAsid.value()), io(0, cfg, mem, cost) {
    dev = io.add_device(std::move(dev_cfg));
    io.bind(dev, kPasid, ctx());
    check();
  }
  CostModel cost;
  Iommu io;
  uint16_t dev = 0;

  void check_hardware() const override { io.check_invariants(); }
  DmaResult dma(Vaddr va, bool write, uint16_t d = 0, Pasid pasid = kPasid) {
    DmaResult r = io.dma(d, pasid, va, write);
    check();
    return r;
  }
  void submit(InvCmd c) {
    io.queue().submit(c);
    check();
  }
  void sync() {
    io.queue().sync("test sync");
    check();
  }
  bool in_atc(Vaddr va, uint16_t d = 0) {
    const bool r = io.atc(d).lookup(kPasid.value(), va) != nullptr;
    check();
    return r;
  }
  bool in_iotlb(Vaddr va) {
    const bool r = io.iotlb().lookup(kPasid.value(), va) != nullptr;
    check();
    return r;
  }
};

InvCmd iotlb_range(uint64_t start, uint64_t end, bool leaf_only = false) {
  return InvCmd{
      .kind = InvCmdKind::IotlbRange, .pasid = kPasid.value(), .start = start, .end = end, .leaf_only = leaf_only, .func = "test inv"};
}
InvCmd atc_range(uint64_t start, uint64_t end, uint16_t dev = 0) {
  return InvCmd{.kind = InvCmdKind::AtcRange, .pasid = kPasid.value(), .start = start, .end = end, .device = dev, .func = "test inv"};
}

}  // namespace

SCENARIO("DMA by an ATS device goes through its ATC", "[iommu]") {
  GIVEN("a bound device and a mapped page, all caches cold") {
    Sva s;
    const Pfn data = s.map(kVa, true);
    s.rec.clear();
    WHEN("the device reads the page") {
      const DmaResult r = s.dma(kVa + 0x40, false);
      THEN("the IOMMU walks, fills the IOTLB, then completes the ATS request into the ATC") {
        CHECK(r.ok());
        CHECK(r.pfn == data);
        CHECK(r.via.kind == HolderKind::None);
        CHECK(s.io.counters().atc_misses == 1);
        CHECK(s.io.counters().iotlb_misses == 1);
        CHECK(s.io.counters().refill_ns == s.cost.atc_miss + s.cost.iotlb_walk);
        CHECK(s.bus.now() == s.cost.atc_miss + s.cost.iotlb_walk);
        const auto fills = s.rec.of(EventKind::Fill);
        REQUIRE(fills.size() == 2);
        CHECK(fills[0]->holder == s.io.iotlb().holder());
        CHECK(fills[1]->holder == s.io.atc(s.dev).holder());
        CHECK(fills[1]->tag == kPasid.value());
        CHECK(std::string(fills[1]->func) == "ATS translation completion");
        CHECK(s.io.walk_cache().occupancy() == 3);
        CHECK(s.pt.leaf(kVa).young());
        const auto acc = s.rec.of(EventKind::Access);
        REQUIRE(acc.size() == 1);
        CHECK(std::string(acc[0]->func) == "DMA read");
        CHECK(acc[0]->aux == s.dev);
        CHECK(acc[0]->tag == kPasid.value());
      }
      AND_WHEN("it reads the page again") {
        const uint32_t content = s.mem.content(data);
        s.rec.clear();
        const DmaResult w = s.dma(kVa, false);
        THEN("the ATC serves it: no ATS request, no IOTLB lookup") {
          CHECK(w.ok());
          CHECK(w.pfn == data);
          CHECK(w.via == s.io.atc(s.dev).holder());
          CHECK(s.io.counters().atc_misses == 1);
          CHECK(s.mem.content(data) == content);
          CHECK(s.rec.count(EventKind::Fill) == 0);
          const auto acc = s.rec.of(EventKind::Access);
          REQUIRE(acc.size() == 1);
          CHECK((acc[0]->flags & kEvCached) != 0);
          CHECK(acc[0]->holder == s.io.atc(s.dev).holder());
        }
      }
    }
  }
}

SCENARIO("an ATC miss goes to the IOTLB before walking", "[iommu]") {
  GIVEN("a page cached in both the IOTLB and the ATC") {
    Sva s;
    const Pfn data = s.map(kVa, true);
    REQUIRE(s.dma(kVa, false).ok());
    WHEN("only the ATC entry is invalidated and the device reads again") {
      s.submit(atc_range(kVa.value(), kVa.value() + kPageSize));
      s.sync();
      REQUIRE_FALSE(s.in_atc(kVa));
      REQUIRE(s.in_iotlb(kVa));
      s.rec.clear();
      const DmaResult r = s.dma(kVa, false);
      THEN("the ATS request is answered from the IOTLB without a walk and the ATC is refilled") {
        CHECK(r.ok());
        CHECK(r.pfn == data);
        CHECK(r.via == s.io.iotlb().holder());
        CHECK(s.io.counters().atc_misses == 2);
        CHECK(s.io.counters().iotlb_misses == 1);
        CHECK(s.rec.count(EventKind::WalkFill) == 0);
        CHECK(s.rec.count(EventKind::PteStore) == 0);
        const auto fills = s.rec.of(EventKind::Fill);
        REQUIRE(fills.size() == 1);
        CHECK(fills[0]->holder == s.io.atc(s.dev).holder());
        CHECK(s.in_atc(kVa));
      }
    }
  }
}

TEST_CASE("a device without ATS translates through the IOTLB only", "[iommu]") {
  Sva s(IommuConfig{}, DeviceConfig{.name = "no-ats", .ats = false});
  const Pfn data = s.map(kVa, true);
  CHECK(s.dma(kVa, false).via.kind == HolderKind::None);
  const DmaResult r = s.dma(kVa, false);
  CHECK(r.ok());
  CHECK(r.pfn == data);
  CHECK(r.via == s.io.iotlb().holder());
  CHECK(s.io.atc(s.dev).occupancy() == 0);
  CHECK(s.io.counters().atc_misses == 0);
  CHECK(s.io.counters().iotlb_misses == 1);
}

TEST_CASE("DMA to a huge page fills 2 MiB entries in the IOTLB and ATC", "[iommu]") {
  Sva s;
  const Vaddr base{0x40000000};
  const Pfn huge = s.alloc_huge();
  s.pt.set(s.pt.alloc(base, 2, "__pmd_alloc"), base, Pte::make(huge, true).with(Pte::kHuge), "set_pmd_at");
  s.check();
  const DmaResult first = s.dma(base + 7 * kPageSize, true);
  CHECK(first.pfn == Pfn{huge.value() + 7});
  const DmaResult second = s.dma(base + 300 * kPageSize, false);
  CHECK(second.via == s.io.atc(s.dev).holder());
  CHECK(second.pfn == Pfn{huge.value() + 300});
  CHECK(s.io.atc(s.dev).occupancy() == 1);
  CHECK(s.io.iotlb().occupancy() == 1);
  CHECK(s.pt.leaf(base).dirty());
}

SCENARIO("a DMA to a non-present page raises a page request", "[iommu]") {
  GIVEN("a bound device and nothing mapped at the address") {
    Sva s;
    s.rec.clear();
    WHEN("the device writes it") {
      const DmaResult r = s.dma(kVa, true);
      THEN("the result is a PRI fault and nothing is cached as a translation") {
        CHECK(r.fault == DmaFault::PageRequest);
        CHECK_FALSE(r.ok());
        CHECK(s.io.iotlb().occupancy() == 0);
        CHECK(s.io.atc(s.dev).occupancy() == 0);
        const auto f = s.rec.of(EventKind::Fault);
        REQUIRE(f.size() == 1);
        CHECK(std::string(f[0]->func) == "page request (PRI/IOPF)");
        CHECK(f[0]->note == "not present");
        CHECK(f[0]->va == kVa.value());
        CHECK(f[0]->tag == kPasid.value());
        CHECK(f[0]->aux == s.dev);
        CHECK((f[0]->flags & kEvWrite) != 0);
        CHECK(s.rec.count(EventKind::Access) == 0);
      }
      AND_WHEN("the kernel maps the page (handle_mm_fault) and the device retries") {
        const Pfn data = s.map(kVa, true);
        const DmaResult again = s.dma(kVa, true);
        THEN("the retry succeeds") {
          CHECK(again.ok());
          CHECK(again.pfn == data);
        }
      }
    }
  }
}

TEST_CASE("a DMA write to a read-only page raises a write-protect page request", "[iommu]") {
  Sva s;
  s.map(kVa, false);
  s.rec.clear();
  const DmaResult r = s.dma(kVa, true);
  CHECK(r.fault == DmaFault::PageRequest);
  const auto f = s.rec.of(EventKind::Fault);
  REQUIRE(f.size() == 1);
  CHECK(f[0]->note == "write protected");
  CHECK(s.io.iotlb().occupancy() == 0);
  CHECK(s.dma(kVa, false).ok());
}

TEST_CASE("the IOMMU walker keeps non-leaf entries on a fault only if configured to", "[iommu]") {
  const bool keep = GENERATE(true, false);
  Sva s(IommuConfig{.cache_nonleaf_on_fault = keep});
  s.pt.alloc(kVa, 1, "__pte_alloc");
  s.check();
  CHECK(s.dma(kVa, false).fault == DmaFault::PageRequest);
  CHECK(s.io.walk_cache().occupancy() == (keep ? 3u : 0u));
}

TEST_CASE("DMA under an unbound PASID or by an unbound device is refused", "[iommu]") {
  Sva s;
  s.map(kVa, true);
  const uint16_t other = s.io.add_device(DeviceConfig{.name = "dev1"});
  s.check();
  CHECK(s.io.devices() == 2);
  CHECK(s.dma(kVa, false, other).fault == DmaFault::NotBound);
  CHECK(s.dma(kVa, false, s.dev, Pasid{2}).fault == DmaFault::NotBound);
  CHECK(s.io.device_bound(s.dev, kPasid));
  CHECK_FALSE(s.io.device_bound(other, kPasid));
  CHECK(s.io.devices_of(kPasid) == std::vector<uint16_t>{s.dev});
  s.io.bind(other, kPasid, s.ctx());
  s.check();
  CHECK(s.io.devices_of(kPasid) == std::vector<uint16_t>{s.dev, other});
  CHECK(s.dma(kVa, false, other).ok());
  s.io.unbind_pasid(kPasid);
  s.check();
  CHECK(s.dma(kVa, false).fault == DmaFault::NotBound);
  CHECK(s.io.devices_of(kPasid).empty());
}

TEST_CASE("a cleared PASID entry translates through the cached one until its PASID's IOTLB invalidation", "[iommu]") {
  // No ATS, so only the IOMMU can answer: what a stale GCR3/PASID-cache entry lets through.
  Sva s(IommuConfig{}, DeviceConfig{.name = "no-ats", .ats = false});
  const Pfn a = s.map(kVa, true);
  const Pfn b = s.map(kVa + kPageSize, true);
  REQUIRE(s.dma(kVa, false).ok());
  s.io.unbind_pasid(kPasid);
  s.check();
  CHECK_FALSE(s.io.device_bound(s.dev, kPasid));
  const DmaResult hit = s.dma(kVa, false);
  CHECK(hit.ok());
  CHECK(hit.pfn == a);
  CHECK(hit.via == s.io.iotlb().holder());
  // A miss walks the mm's tables from the cached entry.
  const DmaResult walked = s.dma(kVa + kPageSize, true);
  CHECK(walked.ok());
  CHECK(walked.pfn == b);
  // Another PASID's invalidation (AMD's v6.10 release flushed PASID 0) leaves it.
  s.submit(InvCmd{.kind = InvCmdKind::IotlbPasid, .pasid = 0, .func = "iotlb pasid 0"});
  s.sync();
  CHECK(s.dma(kVa, false).ok());
  s.submit(InvCmd{.kind = InvCmdKind::IotlbPasid, .pasid = kPasid.value(), .func = "iotlb pasid"});
  s.sync();
  CHECK(s.dma(kVa, false).fault == DmaFault::NotBound);
  CHECK(s.dma(kVa + kPageSize, false).fault == DmaFault::NotBound);
}

TEST_CASE("without PASID-table caching a cleared entry stops translation at once", "[iommu]") {
  Sva s(IommuConfig{.pasid_table_cached = false}, DeviceConfig{.name = "no-ats", .ats = false});
  s.map(kVa, true);
  REQUIRE(s.dma(kVa, false).ok());
  REQUIRE(s.io.iotlb().occupancy() == 1);
  s.io.unbind_pasid(kPasid);
  s.check();
  CHECK(s.dma(kVa, false).fault == DmaFault::NotBound);
}

TEST_CASE("a DMA through a cleared PASID entry is marked in its event", "[iommu]") {
  Sva s(IommuConfig{}, DeviceConfig{.name = "no-ats", .ats = false});
  s.map(kVa, true);
  REQUIRE(s.dma(kVa, false).ok());
  CHECK(s.rec.of(EventKind::Access).back()->note.empty());
  s.io.unbind_pasid(kPasid);
  s.rec.clear();
  REQUIRE(s.dma(kVa, false).ok());
  const auto acc = s.rec.of(EventKind::Access);
  REQUIRE(acc.size() == 1);
  CHECK(acc[0]->note == "PASID-table entry cached before the driver cleared it");
}

TEST_CASE("binding one PASID to two address spaces throws", "[iommu]") {
  Sva s;
  PageTable other(s.mem, MmId{1});
  CHECK_THROWS_AS(s.io.bind(s.dev, kPasid, WalkContext{MmId{1}, 2, other.pgd()}), InvariantViolation);
  CHECK_THROWS_AS(s.io.bind(7, Pasid{9}, s.ctx()), InvariantViolation);
  s.check();
}

TEST_CASE("a device's global id names its ATC in events", "[iommu]") {
  Sva s(IommuConfig{}, DeviceConfig{.name = "gpu", .global_id = 12});
  s.map(kVa, true);
  s.rec.clear();
  REQUIRE(s.dma(kVa, false).ok());
  CHECK(s.io.device_global_id(s.dev) == 12);
  CHECK(s.io.atc(s.dev).holder() == (Holder{HolderKind::Atc, 12}));
  const auto acc = s.rec.of(EventKind::Access);
  REQUIRE(acc.size() == 1);
  CHECK(acc[0]->aux == 12);
  s.submit(atc_range(0, kFlushAll, s.dev));
  const auto cmds = s.rec.of(EventKind::InvCmd);
  REQUIRE(cmds.size() == 1);
  CHECK(cmds[0]->holder == (Holder{HolderKind::Atc, 12}));
}

SCENARIO("a device write after the PTE was upgraded to writable", "[iommu]") {
  const bool rewalks = GENERATE(true, false);  // IommuConfig::permission_fault_rewalks
  GIVEN("a read-only translation in the ATC and IOTLB, then the PTE made writable without invalidation") {
    Sva s(IommuConfig{.permission_fault_rewalks = rewalks});
    const Pfn data = s.map(kVa, false);
    REQUIRE(s.dma(kVa, false).ok());
    s.set(kVa, Pte::make(data, true));
    s.rec.clear();
    WHEN("the device writes") {
      const DmaResult r = s.dma(kVa, true);
      if (rewalks) {
        THEN("x86 IOMMUs: the read-only IOTLB entry is dropped, the walk finds W, both caches refill") {
          CHECK(r.ok());
          CHECK(r.pfn == data);
          const auto drop = s.rec.of(EventKind::Drop);
          REQUIRE(drop.size() == 1);
          CHECK(drop[0]->holder == s.io.iotlb().holder());
          CHECK(std::string(drop[0]->func) == "permission fault drops IOTLB entry");
          CHECK(s.io.counters().iotlb_misses == 2);
          const CachedTranslation* atc = s.io.atc(s.dev).lookup(kPasid.value(), kVa);
          REQUIRE(atc != nullptr);
          CHECK(atc->writable);
          const CachedTranslation* iotlb = s.io.iotlb().lookup(kPasid.value(), kVa);
          REQUIRE(iotlb != nullptr);
          CHECK(iotlb->writable);
          s.check();
        }
      } else {
        THEN("SMMUv3 without BTM: a permission fault, the read-only entry stays until invalidated") {
          CHECK(r.fault == DmaFault::PageRequest);
          const auto f = s.rec.of(EventKind::Fault);
          REQUIRE(f.size() == 1);
          CHECK(f[0]->note == "write to read-only IOTLB entry");
          CHECK(s.rec.count(EventKind::Drop) == 0);
          CHECK(s.io.counters().iotlb_misses == 1);
          const CachedTranslation* iotlb = s.io.iotlb().lookup(kPasid.value(), kVa);
          REQUIRE(iotlb != nullptr);
          CHECK_FALSE(iotlb->writable);
          s.check();
          CHECK(s.dma(kVa, true).fault == DmaFault::PageRequest);  // the retry livelocks
          s.submit(iotlb_range(kVa.value(), kVa.value() + kPageSize, true));
          s.sync();
          CHECK(s.dma(kVa, true).ok());
        }
      }
    }
  }
}

SCENARIO("invalidation commands take effect only at sync", "[iommu]") {
  GIVEN("a page cached in the ATC, IOTLB and walk cache, then remapped to another frame") {
    Sva s;
    const Pfn old = s.map(kVa, true);
    REQUIRE(s.dma(kVa, false).ok());
    const Pfn fresh = s.mem.alloc(FrameKind::Anon, 1, 0, "alloc_page");
    s.set(kVa, Pte::make(fresh, true));
    WHEN("IOTLB and ATC invalidations are queued but not synced") {
      const uint64_t t0 = s.bus.now();
      s.rec.clear();
      s.submit(iotlb_range(kVa.value(), kVa.value() + kPageSize));
      s.submit(atc_range(kVa.value(), kVa.value() + kPageSize));
      THEN("nothing is dropped yet and the device still uses the stale translation") {
        CHECK(s.io.queue().pending() == 2);
        CHECK(s.rec.count(EventKind::InvCmd) == 2);
        CHECK(s.rec.count(EventKind::Drop) == 0);
        CHECK(s.bus.now() == t0 + 2 * s.cost.iommu_cmd);
        const DmaResult r = s.dma(kVa, false);
        CHECK(r.via == s.io.atc(s.dev).holder());
        CHECK(r.pfn == old);
        CHECK(s.in_iotlb(kVa));
        CHECK(s.io.walk_cache().occupancy() == 3);
      }
      AND_WHEN("the queue is synced") {
        s.sync();
        THEN("the entries are dropped between the commands and the InvSync, and DMA sees the new frame") {
          CHECK(s.io.queue().pending() == 0);
          CHECK_FALSE(s.in_atc(kVa));
          CHECK_FALSE(s.in_iotlb(kVa));
          CHECK(s.io.walk_cache().occupancy() == 0);  // not leaf-only: table entries go too
          const size_t last_cmd = s.rec.find([](const Event& e) { return e.kind == EventKind::InvCmd; }, 1);
          const size_t first_drop = s.rec.find([](const Event& e) { return e.kind == EventKind::Drop; });
          const size_t sync = s.rec.find([](const Event& e) { return e.kind == EventKind::InvSync; });
          REQUIRE(first_drop != test::Recorder::npos);
          REQUIRE(sync != test::Recorder::npos);
          CHECK(last_cmd < first_drop);
          CHECK(first_drop < sync);
          CHECK(s.bus.now() == t0 + 2 * s.cost.iommu_cmd + s.cost.iommu_sync + s.cost.atc_inv_rtt);
          const DmaResult r = s.dma(kVa, false);
          CHECK(r.ok());
          CHECK(r.pfn == fresh);
          CHECK(r.via.kind == HolderKind::None);
        }
      }
    }
  }
}

TEST_CASE("a leaf-only IOTLB invalidation keeps the walk cache", "[iommu]") {
  Sva s;
  s.map(kVa, true);
  REQUIRE(s.dma(kVa, false).ok());
  REQUIRE(s.io.walk_cache().occupancy() == 3);
  s.submit(iotlb_range(kVa.value(), kVa.value() + kPageSize, true));
  s.sync();
  CHECK_FALSE(s.in_iotlb(kVa));
  CHECK(s.io.walk_cache().occupancy() == 3);
}

TEST_CASE("PASID-wide commands drop every entry of the PASID", "[iommu]") {
  Sva s;
  for (uint64_t i = 0; i < 4; ++i) s.map(kVa + i * kPmdSize, true);
  for (uint64_t i = 0; i < 4; ++i) REQUIRE(s.dma(kVa + i * kPmdSize, false).ok());
  REQUIRE(s.io.atc(s.dev).occupancy() == 4);
  s.submit(InvCmd{.kind = InvCmdKind::AtcAll, .pasid = kPasid.value(), .device = s.dev, .func = "atc all"});
  s.submit(InvCmd{.kind = InvCmdKind::IotlbPasid, .pasid = kPasid.value(), .func = "iotlb pasid"});
  s.sync();
  CHECK(s.io.atc(s.dev).occupancy() == 0);
  CHECK(s.io.iotlb().occupancy() == 0);
  CHECK(s.io.walk_cache().occupancy() == 0);
}

TEST_CASE("an ATC command reaches only the device it names", "[iommu]") {
  Sva s;
  const uint16_t other = s.io.add_device(DeviceConfig{.name = "dev1"});
  s.io.bind(other, kPasid, s.ctx());
  s.map(kVa, true);
  REQUIRE(s.dma(kVa, false, s.dev).ok());
  REQUIRE(s.dma(kVa, false, other).ok());
  s.submit(atc_range(kVa.value(), kVa.value() + kPageSize, other));
  s.sync();
  CHECK(s.in_atc(kVa, s.dev));
  CHECK_FALSE(s.in_atc(kVa, other));
}

SCENARIO("BTM: the IOTLB snoops broadcast CPU TLB invalidations", "[iommu]") {
  const bool btm = GENERATE(true, false);
  GIVEN("a page cached in the ATC, IOTLB and walk cache") {
    Sva s(IommuConfig{.kind = IommuKind::SmmuV3, .btm = btm});
    s.map(kVa, true);
    REQUIRE(s.dma(kVa, false).ok());
    WHEN("a leaf-only CPU TLBI for the page is broadcast") {
      s.io.snoop_cpu_tlbi(kPasid.value(), kVa.value(), kVa.value() + kPageSize, true);
      s.check();
      THEN("with BTM only the IOTLB entry goes; the ATC and walk cache keep theirs") {
        CHECK(s.in_iotlb(kVa) == !btm);
        CHECK(s.in_atc(kVa));
        CHECK(s.io.walk_cache().occupancy() == 3);
      }
    }
    WHEN("a non-leaf CPU TLBI covering the page is broadcast") {
      s.io.snoop_cpu_tlbi(kPasid.value(), 0, kTaskSize, false);
      s.check();
      THEN("with BTM the walk cache is invalidated too; the ATC never is") {
        CHECK(s.in_iotlb(kVa) == !btm);
        CHECK(s.io.walk_cache().occupancy() == (btm ? 0u : 3u));
        CHECK(s.in_atc(kVa));
      }
    }
  }
}

TEST_CASE("a DMA walk through a PTE table reused as data faults StaleTable", "[iommu]") {
  Sva s;
  s.map(kVa, true);
  REQUIRE(s.dma(kVa, false).ok());
  // Drop the leaf entries but not the walk cache (a leaf-only invalidation), then free the table.
  s.submit(atc_range(kVa.value(), kVa.value() + kPageSize));
  s.submit(iotlb_range(kVa.value(), kVa.value() + kPageSize, true));
  s.sync();
  const PteRef pmd = s.pt.lookup(kVa, 2);
  const Pfn table = s.pt.get(pmd).pfn();
  s.pt.set(pmd, kVa, Pte{}, "pmd_clear");
  s.mem.free(table, "pte_free");
  s.pt.note_table_freed();
  REQUIRE(s.mem.alloc(FrameKind::Anon, 2, 0, "alloc_page") == table);
  s.check();
  s.rec.clear();
  const DmaResult r = s.dma(kVa, false);
  CHECK(r.fault == DmaFault::StaleTable);
  CHECK(r.via == s.io.walk_cache().holder());
  CHECK(s.rec.count(EventKind::StaleTableWalk) == 1);
  const auto f = s.rec.of(EventKind::Fault);
  REQUIRE(f.size() == 1);
  CHECK(f[0]->note == "walk through a page-table page reused as data");
}

// The IOTLB and every invalidation command tag entries with the PASID, so the IOMMU walk cache
// must be filled under the PASID too, even though the CPU tables are bound with the mm's ASID.
TEST_CASE("PASID-wide invalidation drops walk-cache entries when the ASID differs from the PASID", "[iommu]") {
  Sva s;
  const Pasid other{5};
  s.io.bind(s.dev, other, WalkContext{kMm, kAsid.value(), s.pt.pgd()});  // ASID 1, PASID 5
  s.map(kVa, true);
  REQUIRE(s.dma(kVa, false, s.dev, other).ok());
  REQUIRE(s.io.walk_cache().occupancy() == 3);
  s.submit(InvCmd{.kind = InvCmdKind::IotlbPasid, .pasid = other.value(), .func = "iotlb pasid"});
  s.sync();
  CHECK(s.io.walk_cache().occupancy() == 0);
}

// Same as the CPU case (tests/model/cpu_test.cpp): an IOTLB entry filled by a DMA read is
// writable but the PTE is clean; a later DMA write must set the PTE dirty bit (VT-d 3.6.2 /
// AMD IOMMU D-bit update on write).
TEST_CASE("a DMA write through an IOTLB entry filled by a read sets the PTE dirty bit", "[iommu]") {
  Sva s(IommuConfig{}, DeviceConfig{.name = "no-ats", .ats = false});
  s.map(kVa, true);
  REQUIRE(s.dma(kVa, false).ok());
  REQUIRE_FALSE(s.pt.leaf(kVa).dirty());
  REQUIRE(s.dma(kVa, true).ok());
  CHECK(s.pt.leaf(kVa).dirty());
}

}  // namespace tlbsim::iommu
