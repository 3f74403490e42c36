// SPDX-License-Identifier: MIT
#pragma once
/// What a test of one piece of translation hardware (a CPU, an IOMMU, the walker and a walk
/// cache) builds that hardware on: physical memory and one mm's page table, every event recorded.
#include <cstdint>

#include "model/page_table.h"
#include "model/phys_mem.h"
#include "support/recording_sink.h"

namespace tlbsim::test {

/// A fixture derives from this, holds the hardware under test and checks its invariants in
/// check_hardware(); every step below checks the whole machine after it.
struct MemoryFixture {
  MemoryFixture(MmId mm_id, uint32_t tag) : mm(mm_id), asid(tag), mem({}, bus), pt(mem, mm_id) { bus.add_sink(&rec); }
  MemoryFixture(const MemoryFixture&) = delete;
  MemoryFixture& operator=(const MemoryFixture&) = delete;
  virtual ~MemoryFixture() = default;

  MmId mm;
  uint32_t asid;
  EventBus bus;
  Recorder rec;
  PhysMem mem;
  PageTable pt;

  WalkContext ctx() const { return WalkContext{mm, asid, pt.pgd()}; }
  void check() const {
    mem.check_invariants();
    pt.check_invariants();
    check_hardware();
  }
  /// do_anonymous_page(): a fresh anonymous frame mapped at `va`; returns the frame.
  Pfn map(Vaddr va, bool writable) {
    const Pfn data = mem.alloc(FrameKind::Anon, 1, uint32_t(va.vpn()), "do_anonymous_page");
    set(va, Pte::make(data, writable));
    return data;
  }
  /// set_pte_at() of `p` at `va`, allocating the tables on the way (__pte_alloc()).
  void set(Vaddr va, Pte p) {
    pt.set(pt.alloc(va, 1, "__pte_alloc"), va, p, "set_pte_at");
    check();
  }
  /// A THP's 512 contiguous frames (alloc_pages(order 9)); returns the first.
  Pfn alloc_huge() { return mem.alloc_contig(FrameKind::Anon, 1, 0, kPtrsPerTable, "alloc_pages"); }

 protected:
  virtual void check_hardware() const = 0;
};

}  // namespace tlbsim::test
