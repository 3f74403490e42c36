// SPDX-License-Identifier: MIT
#include "kernel/page.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "kernel/locking.h"
#include "model/check.h"

namespace tlbsim::kernel {

void get_page(Kernel& k, Pfn pfn) {
  TLBSIM_CHECK(k.mem().frame(pfn).allocated, "get_page on freed pfn " << pfn.value());
  k.mem().ref_inc(pfn);
}

void put_page(Kernel& k, Pfn pfn, const char* func) {
  if (k.mem().ref_dec(pfn) == 0) k.mem().free(pfn, func);
}

void page_add_rmap(Kernel& k, Pfn pfn) { k.mem().map_inc(pfn); }

void page_remove_rmap(Kernel& k, Pfn pfn) { k.mem().map_dec(pfn); }

bool trylock_page(Kernel& k, Pfn page) {
  if (k.mem().frame(page).locked) return false;
  k.mem().frame_mut(page).locked = true;
  return true;
}

void unlock_page(Kernel& k, Pfn page) { k.mem().frame_mut(page).locked = false; }

void copy_page(Kernel& k, MmId mm, Vaddr va_va, Pfn from, Pfn to, const char* func) {
  const uint64_t va = va_va.value();
  k.mem().copy_content(from, to);
  if (!k.bus().active()) return;
  Event e{.kind = EventKind::Copy, .mm = mm, .func = func};
  e.va = va;
  e.pfn = from;
  e.aux = to.value();
  k.bus().emit(std::move(e));
}

namespace {

// The mm's own VMA for the caller's copy: what the kernel's vma pointer shows now. The caller's
// mmap_lock keeps the VMA from being split, merged or unmapped, so its range names it.
Vma& live_vma(AddressSpace& mm, const Vma& copy, const char* func) {
  const std::vector<Vma>& vmas = mm.vmas();
  const auto it = std::find_if(vmas.begin(), vmas.end(), [&](const Vma& v) { return v.start == copy.start && v.end == copy.end; });
  TLBSIM_CHECK(it != vmas.end(), func << ": no VMA [" << hex(copy.start) << ", " << hex(copy.end) << ")");
  return mm.vmas_mut()[static_cast<size_t>(it - vmas.begin())];
}

}  // namespace

void anon_vma_prepare(Kernel& k, AddressSpace& mm, Vma& vma) {
  if (vma.anon_vma) return;
  // The caller's copy may predate another fault's anon_vma_prepare(): as the kernel rechecks
  // vma->anon_vma under mm->page_table_lock, the mm's VMA is read again (one step here).
  Vma& live = live_vma(mm, vma, "anon_vma_prepare");
  if (!live.anon_vma) live.anon_vma = k.new_anon_vma();
  vma.anon_vma = live.anon_vma;
}

void refresh_anon_vma(AddressSpace& mm, Vma& vma) {
  if (!vma.anon_vma) vma.anon_vma = live_vma(mm, vma, "vma->anon_vma").anon_vma;
}

Pfn alloc_anon_page(Kernel& k, const Vma& vma, Vaddr va_va, const char* func) {
  const uint64_t va = va_va.value();
  TLBSIM_CHECK(vma.anon_vma, "alloc_anon_page: the VMA at " << hex(vma.start) << " has no anon_vma");
  return k.mem().alloc(FrameKind::Anon, vma.anon_vma, vma.index_of(va), func);
}

Pfn filemap_get_page(Kernel& k, File& f, uint64_t index, const char* func) {
  TLBSIM_CHECK(index < f.size(), "file " << f.name << " has no page " << index);
  if (f.page(index) == kNoPfn) f.set_page(index, k.mem().alloc(FrameKind::File, f.id, static_cast<uint32_t>(index), func));
  return f.page(index);
}

std::vector<RmapTarget> i_mmap_walk(Kernel& k, uint32_t file, uint64_t first, uint64_t nr) {
  std::vector<RmapTarget> out;
  for (size_t m = 0; m < k.mm_count(); ++m) {
    AddressSpace& mm = k.mm(MmId{static_cast<uint16_t>(m)});
    for (const Vma& v : mm.vmas())
      if (v.file == file && v.pgoff < first + nr && first < v.pgoff + v.pages())
        out.push_back({&mm, v, v.addr_of(std::max(first, v.pgoff))});
  }
  std::stable_sort(out.begin(), out.end(), [](const RmapTarget& a, const RmapTarget& b) {
    return std::tie(a.vma.pgoff, a.vma.seq) < std::tie(b.vma.pgoff, b.vma.seq);
  });
  return out;
}

namespace {

// Whether rmap_walk() visits `v` for the page `fr`. An anonymous page (a COW copy in a private
// file VMA too) is found through its VMA's anon_vma, which a VMA without anonymous pages may not
// have (0).
bool rmap_visits(const Frame& fr, const Vma& v) {
  const bool match = fr.kind == FrameKind::File ? (v.file == fr.owner) : (v.anon_vma && v.anon_vma == fr.owner);
  return match && fr.aux >= v.pgoff && fr.aux < v.pgoff + v.pages();
}

}  // namespace

namespace {

// rmap_walk_anon()/rmap_walk_file()'s VMAs: the anon_vma's VMAs (by insertion) or the file's
// i_mmap (by vm_pgoff, then insertion) that may map the page.
std::vector<RmapTarget> anon_file_vmas(Kernel& k, const Frame& fr) {
  struct Cand {
    uint64_t key1, key2;
    RmapTarget t;
  };
  std::vector<Cand> c;
  for (size_t m = 0; m < k.mm_count(); ++m) {
    AddressSpace& mm = k.mm(MmId{static_cast<uint16_t>(m)});
    for (const Vma& v : mm.vmas()) {
      if (!rmap_visits(fr, v)) continue;
      const uint64_t addr = v.addr_of(fr.aux);
      if (fr.kind == FrameKind::File)
        c.push_back({v.pgoff, v.seq, {&mm, v, addr}});
      else
        c.push_back({v.seq, 0, {&mm, v, addr}});
    }
  }
  std::stable_sort(c.begin(), c.end(), [](const Cand& a, const Cand& b) { return std::tie(a.key1, a.key2) < std::tie(b.key1, b.key2); });
  std::vector<RmapTarget> out;
  for (auto& x : c) out.push_back(x.t);
  return out;
}

// rmap_walk_ksm()'s VMAs for one rmap_item in one pass: those of the item's anon_vma that cover
// its address, in the item's own mm (first pass) or in any other (second pass).
std::vector<RmapTarget> ksm_item_vmas(Kernel& k, const KsmRmapItem& item, bool new_forks) {
  std::vector<RmapTarget> out;
  const uint64_t addr = item.address & ~(kPageSize - 1);
  for (size_t m = 0; m < k.mm_count(); ++m) {
    AddressSpace& mm = k.mm(MmId{static_cast<uint16_t>(m)});
    if ((mm.id() == item.mm) == new_forks) continue;
    for (const Vma& v : mm.vmas())
      if (item.anon_vma && v.anon_vma == item.anon_vma && addr >= v.start && addr < v.end) out.push_back({&mm, v, addr});
  }
  std::stable_sort(out.begin(), out.end(), [](const RmapTarget& a, const RmapTarget& b) { return a.vma.seq < b.vma.seq; });
  return out;
}

// rmap_walk_ksm()'s order: every rmap_item of the stable node (newest first) for VMAs in the
// item's own mm, then all of them again for forks ("again: ... if (!search_new_forks++) goto
// again"). The VMAs of each are looked up only when the walk gets there, under the item's lock.
struct KsmWalkStep {
  const KsmRmapItem* item;
  bool new_forks;
};
std::vector<KsmWalkStep> ksm_walk_order(const std::vector<KsmRmapItem>& items) {
  std::vector<KsmWalkStep> out;
  for (const bool new_forks : {false, true})
    for (const KsmRmapItem& item : items) out.push_back({&item, new_forks});
  return out;
}

// The lock rmap_walk_anon()/rmap_walk_file() hold around the whole walk, keyed by the page's
// owner.
SimLock& anon_file_rmap_lock(Kernel& k, const Frame& fr) {
  if (fr.kind == FrameKind::File) return k.file(fr.owner).i_mmap_rwsem;
  return k.anon_vma_lock(fr.owner);
}

}  // namespace

std::vector<RmapTarget> rmap_vmas(Kernel& k, Pfn pfn) {
  const Frame fr = k.mem().frame(pfn);
  if (!fr.ksm) return anon_file_vmas(k, fr);
  std::vector<RmapTarget> out;
  if (fr.owner == 0) return out;
  const std::vector<KsmRmapItem> items = k.ksm().node(fr.owner).hlist;
  for (const KsmWalkStep& s : ksm_walk_order(items))
    for (const RmapTarget& t : ksm_item_vmas(k, *s.item, s.new_forks)) out.push_back(t);
  return out;
}

Task<> rmap_walk(Kernel& k, Pfn page, RmapOne rmap_one, std::function<bool()> done) {
  const Frame fr = k.mem().frame(page);  // a copy: what the page was when the walk began
  if (!fr.ksm) {
    const bool file = fr.kind == FrameKind::File;
    SimLock& l = anon_file_rmap_lock(k, fr);
    co_await lock(k, l, LockMode::Read, file ? "i_mmap_lock_read" : "anon_vma_lock_read");
    for (const RmapTarget& t : anon_file_vmas(k, fr)) {
      co_await rmap_one(t);
      if (done && done()) break;
    }
    unlock(k, l, LockMode::Read, file ? "i_mmap_unlock_read" : "anon_vma_unlock_read");
    co_return;
  }
  if (fr.owner == 0) co_return;  // page_stable_node() is NULL: "if (!stable_node) return;"
  // The items are read once: the caller's page lock keeps stable_tree_append() out.
  const std::vector<KsmRmapItem> items = k.ksm().node(fr.owner).hlist;
  for (const KsmWalkStep& s : ksm_walk_order(items)) {
    SimLock& l = k.anon_vma_lock(s.item->anon_vma);
    co_await lock(k, l, LockMode::Read, "anon_vma_lock_read");
    bool stop = false;
    for (const RmapTarget& t : ksm_item_vmas(k, *s.item, s.new_forks)) {
      co_await rmap_one(t);
      stop = done && done();
      if (stop) break;
    }
    unlock(k, l, LockMode::Read, "anon_vma_unlock_read");
    if (stop) co_return;
  }
}

void check_anon_rmap(Kernel& k) {
  const NoTouches quiet;  // an invariant check is not part of any step's footprint
  // Only a VMA with the page's anon_vma can be visited: index the VMAs by anon_vma once, rather
  // than asking rmap_visits() of every VMA of every mm for every page (this runs after every
  // step of a checked run, and that product was a tenth of the run).
  std::vector<std::pair<uint32_t, const Vma*>> by_anon_vma;
  for (size_t m = 0; m < k.mm_count(); ++m)
    for (const Vma& v : k.mm(MmId{static_cast<uint16_t>(m)}).vmas())
      if (v.anon_vma) by_anon_vma.emplace_back(v.anon_vma, &v);
  std::sort(by_anon_vma.begin(), by_anon_vma.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (uint32_t i = 0; k.mem().valid(Pfn{i}); ++i) {
    const Frame& f = k.mem().frame(Pfn{i});
    if (!f.allocated || f.ksm || (f.kind != FrameKind::Anon && f.kind != FrameKind::DevicePrivate) || !k.mem().mapcount(Pfn{i})) continue;
    // Only that some VMA may map it: which entry maps it changes inside a step's critical
    // sections (a PTE cleared under the PTL before page_remove_rmap(), a PMD mid-split).
    // rmap_walk()'s own test, without building its sorted list.
    bool found = false;
    auto it = std::lower_bound(by_anon_vma.begin(), by_anon_vma.end(), f.owner, [](const auto& e, uint32_t a) { return e.first < a; });
    for (; it != by_anon_vma.end() && it->first == f.owner && !found; ++it) found = rmap_visits(f, *it->second);
    TLBSIM_CHECK(found,
                 "rmap_walk() finds no VMA for the mapped anonymous pfn " << i << " (anon_vma " << f.owner << ", index " << f.aux << ")");
  }
}

}  // namespace tlbsim::kernel
