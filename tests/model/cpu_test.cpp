// SPDX-License-Identifier: MIT
// Cpu::access(): TLB hit, miss with walk and fill, faults, and what a permission fault does to
// the cached entry (x86 drops it, arm64 may keep it).
#include <catch2/catch.hpp>

#include "model/cpu.h"
#include "model/page_table.h"
#include "support/memory_fixture.h"

namespace tlbsim {
namespace {

constexpr MmId kMm{0};
constexpr uint32_t kAsid = 1;
constexpr Vaddr kVa{0x10000000};

struct Machine : test::MemoryFixture {
  explicit Machine(CpuConfig cfg = {}) : MemoryFixture(kMm, kAsid), cpu(CpuId{0}, cfg, mem) {}
  Cpu cpu;

  void check_hardware() const override { cpu.check_invariants(); }
  AccessResult access(Vaddr va, bool write) {
    AccessResult r = cpu.access(ctx(), va, write);
    check();
    return r;
  }
};

}  // namespace

SCENARIO("a CPU access misses, walks and fills, then hits", "[model]") {
  GIVEN("a mapped writable page and a cold TLB") {
    Machine m;
    const Pfn data = m.map(kVa, true);
    m.rec.clear();
    WHEN("the CPU reads it") {
      const AccessResult r = m.access(kVa + 8, false);
      THEN("the walk fills the TLB and the access lands on the frame") {
        CHECK(r.ok());
        CHECK_FALSE(r.cached);
        CHECK(r.pfn == data);
        CHECK(m.cpu.tlb().occupancy() == 1);
        CHECK(m.cpu.walk_cache().occupancy() == 3);
        const size_t fill = m.rec.find([](const Event& e) { return e.kind == EventKind::Fill; });
        const size_t acc = m.rec.find([](const Event& e) { return e.kind == EventKind::Access; });
        REQUIRE(fill != test::Recorder::npos);
        REQUIRE(acc != test::Recorder::npos);
        CHECK(fill < acc);
        const Event& a = m.rec.events()[acc];
        CHECK(a.pfn == data);
        CHECK((a.flags & kEvCached) == 0);
        CHECK(a.holder.kind == HolderKind::None);
        CHECK(m.rec.events()[fill].holder == m.cpu.tlb().holder());
        CHECK(m.rec.events()[fill].tag == kAsid);
      }
      AND_WHEN("it reads the page again") {
        const uint32_t content = m.mem.content(data);
        m.rec.clear();
        const AccessResult w = m.access(kVa, false);
        THEN("the TLB serves it without a walk") {
          CHECK(w.ok());
          CHECK(w.cached);
          CHECK(w.pfn == data);
          CHECK(m.mem.content(data) == content);
          CHECK(m.rec.count(EventKind::Fill) == 0);
          CHECK(m.rec.count(EventKind::WalkFill) == 0);
          const auto acc = m.rec.of(EventKind::Access);
          REQUIRE(acc.size() == 1);
          CHECK((acc[0]->flags & kEvCached) != 0);
          CHECK((acc[0]->flags & kEvWrite) == 0);
          CHECK(acc[0]->holder == m.cpu.tlb().holder());
          CHECK(std::string(acc[0]->func) == "load");
        }
      }
    }
  }
}

TEST_CASE("a TLB hit uses the stale entry even after the PTE changed", "[model]") {
  Machine m;
  const Pfn old = m.map(kVa, true);
  m.access(kVa, false);
  // The PTE now points elsewhere, but nobody flushed the TLB.
  const Pfn fresh = m.mem.alloc(FrameKind::Anon, 1, 0, "alloc_page");
  m.set(kVa, Pte::make(fresh, true));
  const AccessResult r = m.access(kVa, false);
  CHECK(r.cached);
  CHECK(r.pfn == old);
  m.cpu.tlb().invalidate_range(kAsid, kVa.value(), kVa.value() + kPageSize, "flush_tlb_page");
  m.check();
  CHECK(m.access(kVa, false).pfn == fresh);
}

TEST_CASE("accesses to a huge page fill one TLB entry covering 2 MiB", "[model]") {
  Machine m;
  const Vaddr base{0x40000000};
  const Pfn huge = m.alloc_huge();
  m.pt.set(m.pt.alloc(base, 2, "__pmd_alloc"), base, Pte::make(huge, true).with(Pte::kHuge), "set_pmd_at");
  m.check();
  const AccessResult first = m.access(base + 3 * kPageSize, false);
  CHECK(first.ok());
  CHECK(first.pfn == Pfn{huge.value() + 3});
  const uint32_t content = m.mem.content(Pfn{huge.value() + 400});
  const AccessResult second = m.access(base + 400 * kPageSize, false);
  CHECK(second.cached);
  CHECK(second.pfn == Pfn{huge.value() + 400});
  CHECK(m.mem.content(Pfn{huge.value() + 400}) == content);
  CHECK(m.cpu.tlb().occupancy() == 1);
}

TEST_CASE("a CPU access to a non-present page faults and fills nothing", "[model]") {
  Machine m;
  m.rec.clear();
  const AccessResult r = m.access(kVa, true);
  CHECK(r.fault == AccessFault::NotPresent);
  CHECK_FALSE(r.ok());
  CHECK(r.pfn == kNoPfn);
  CHECK(m.cpu.tlb().occupancy() == 0);
  const auto faults = m.rec.of(EventKind::Fault);
  REQUIRE(faults.size() == 1);
  CHECK(faults[0]->va == kVa.value());
  CHECK(faults[0]->note == "not present");
  CHECK((faults[0]->flags & kEvWrite) != 0);
  CHECK((faults[0]->flags & kEvUser) != 0);
  CHECK(std::string(faults[0]->func) == "exc_page_fault");
  CHECK(m.rec.count(EventKind::Access) == 0);
}

TEST_CASE("a CPU write to a read-only page faults WriteProtect", "[model]") {
  Machine m;
  const Pfn data = m.map(kVa, false);
  const uint32_t content = m.mem.content(data);
  const AccessResult r = m.access(kVa, true);
  CHECK(r.fault == AccessFault::WriteProtect);
  CHECK_FALSE(r.cached);
  CHECK(m.mem.content(data) == content);  // the write did not land
  CHECK(m.cpu.tlb().occupancy() == 0);
  const auto faults = m.rec.of(EventKind::Fault);
  REQUIRE(faults.size() == 1);
  CHECK(faults[0]->note == "write protected");
}

TEST_CASE("a CPU walk through a table page reused as data faults StaleTable", "[model]") {
  Machine m;
  m.map(kVa, true);
  m.access(kVa, false);
  m.cpu.tlb().invalidate_all("flush");  // the leaf entry is gone, the walk-cache entry is not
  const PteRef pmd = m.pt.lookup(kVa, 2);
  const Pfn table = m.pt.get(pmd).pfn();
  m.pt.set(pmd, kVa, Pte{}, "pmd_clear");
  m.mem.free(table, "pte_free");
  m.pt.note_table_freed();
  REQUIRE(m.mem.alloc(FrameKind::Anon, 2, 0, "alloc_page") == table);
  m.check();
  m.rec.clear();
  const AccessResult r = m.access(kVa, false);
  CHECK(r.fault == AccessFault::StaleTable);
  CHECK(m.rec.count(EventKind::StaleTableWalk) == 1);
  CHECK(m.rec.count(EventKind::Fault) == 1);
}

SCENARIO("a write hitting a read-only TLB entry after the PTE was made writable", "[model]") {
  const bool drops = GENERATE(true, false);  // CpuConfig::fault_drops_entry
  GIVEN("a read-only page read into the TLB, then upgraded to writable without a flush") {
    Machine m(CpuConfig{.fault_drops_entry = drops});
    const Pfn data = m.map(kVa, false);
    REQUIRE(m.access(kVa, false).ok());
    m.set(kVa, Pte::make(data, true));  // e.g. do_wp_page() reusing the page: no flush needed on x86
    m.rec.clear();
    WHEN("the CPU writes it") {
      const AccessResult r = m.access(kVa, true);
      if (drops) {
        THEN("x86: the read-only entry is dropped, the walk finds the writable PTE and refills") {
          CHECK(r.ok());
          CHECK_FALSE(r.cached);
          CHECK(r.pfn == data);
          const auto drop = m.rec.of(EventKind::Drop);
          REQUIRE(drop.size() == 1);
          CHECK(std::string(drop[0]->func) == "permission fault drops TLB entry");
          const CachedTranslation* c = m.cpu.tlb().lookup(kAsid, kVa);
          REQUIRE(c != nullptr);
          CHECK(c->writable);
          CHECK(m.pt.leaf(kVa).dirty());
        }
      } else {
        THEN("arm64-style: the read-only entry stays and the write faults until it is flushed") {
          CHECK(r.fault == AccessFault::WriteProtect);
          CHECK(r.cached);
          CHECK(m.rec.count(EventKind::Drop) == 0);
          const auto faults = m.rec.of(EventKind::Fault);
          REQUIRE(faults.size() == 1);
          CHECK(faults[0]->note == "write to read-only TLB entry");
          const CachedTranslation* c = m.cpu.tlb().lookup(kAsid, kVa);
          REQUIRE(c != nullptr);
          CHECK_FALSE(c->writable);
          CHECK(m.access(kVa, true).fault == AccessFault::WriteProtect);  // retried: same fault
          m.cpu.tlb().invalidate_range(kAsid, kVa.value(), kVa.value() + kPageSize, "flush_tlb_fix_spurious_fault");
          m.check();
          CHECK(m.access(kVa, true).ok());
        }
      }
    }
  }
}

TEST_CASE("TLB entries are tagged by ASID", "[model]") {
  Machine m;
  const Pfn data = m.map(kVa, true);
  m.access(kVa, false);
  // Another address space with its own tables and ASID sees its own mapping.
  PageTable other(m.mem, MmId{1});
  const Pfn theirs = m.mem.alloc(FrameKind::Anon, 2, 0, "alloc_page");
  other.set(other.alloc(kVa, 1, "__pte_alloc"), kVa, Pte::make(theirs, true), "set_pte_at");
  const AccessResult r = m.cpu.access(WalkContext{MmId{1}, kAsid + 1, other.pgd()}, kVa, false);
  m.check();
  other.check_invariants();
  CHECK_FALSE(r.cached);
  CHECK(r.pfn == theirs);
  CHECK(m.access(kVa, false).pfn == data);
  CHECK(m.cpu.tlb().occupancy() == 2);
}

// x86 SDM Vol. 3A 4.8: "whenever there is a write to a linear address, the processor sets the
// dirty flag (if it is not already set) in the paging-structure entry that identifies the final
// physical address". A TLB entry filled by a read caches D = 0, so a later write must reach the
// PTE, or zap_pte_range() would see a clean PTE and skip set_page_dirty().
TEST_CASE("a write through a TLB entry filled by a read sets the PTE dirty bit", "[model]") {
  Machine m;
  m.map(kVa, true);
  REQUIRE(m.access(kVa, false).ok());
  REQUIRE_FALSE(m.pt.leaf(kVa).dirty());
  REQUIRE(m.access(kVa, true).ok());
  CHECK(m.pt.leaf(kVa).dirty());
}

}  // namespace tlbsim
