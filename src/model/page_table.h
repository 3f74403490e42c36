// SPDX-License-Identifier: MIT
#pragma once
/// A 4-level x86-64-style page table (PGD, PUD, PMD, PTE; 512 entries each) whose table pages
/// are frames in PhysMem. This is the kernel's software view (pgd_offset .. pte_offset_map):
/// stores emit PteStore events; hardware walkers live in walker.h.
#include <algorithm>
#include <cstdint>

#include "model/phys_mem.h"
#include "model/pte.h"

namespace tlbsim {

/// Level numbers as in the events: 1 = PTE, 2 = PMD, 3 = PUD, 4 = PGD.
constexpr unsigned level_shift(unsigned level) { return kPageShift + 9 * (level - 1); }
constexpr unsigned table_index(uint64_t va, unsigned level) { return (va >> level_shift(level)) & 511; }

/// Where one entry lives: the table frame and the slot in it.
struct PteRef {
  Pfn table = kNoPfn;
  uint16_t index = 0;
  uint8_t level = 0;
  bool valid() const { return table != kNoPfn; }
};

/// KERNEL_PGD_BOUNDARY (pgd_index(PAGE_OFFSET)): the first PGD slot of the kernel half.
constexpr unsigned kKernelPgdBoundary = table_index(kPageOffset, 4);
/// The canonical (sign-extended) address where kernel-half PGD slot `i` begins.
constexpr Vaddr kernel_pgd_slot_addr(unsigned i) { return Vaddr{~((uint64_t{1} << 48) - 1) | (uint64_t{i} << level_shift(4))}; }

class PageTable {
 public:
  /// `kernel`: init_mm's tables, whose upper entries are kernel table entries (no _PAGE_USER).
  PageTable(PhysMem& mem, MmId mm, bool kernel = false);
  PageTable(const PageTable&) = delete;
  PageTable& operator=(const PageTable&) = delete;

  Pfn pgd() const { return m_pgd; }
  MmId mm() const { return m_mm; }

  /// pgd_ctor()'s clone_pgd_range(): copy init_mm's kernel-half PGD entries into this mm's PGD.
  /// The tables below them are init_mm's, shared, and never this mm's to free. x86 preallocates
  /// the kernel half's PUD tables at boot (preallocate_vmalloc_pages()), so the PGD entries a
  /// new mm copies never change afterwards.
  void clone_kernel_pgds(const PageTable& init_mm);

  /// The entry at `level` covering `va`, or an invalid ref if an upper table is missing (or a
  /// huge PMD stops the descent above `level`).
  PteRef lookup(Vaddr va, unsigned level) const;
  /// For an address no PMD table maps (lookup(va, 2) invalid): the end of the none upper entry
  /// over it, its PUD entry's 1 GiB or its PGD entry's 512 GiB, where a walk that skips none
  /// entries (zap_pud_range(), copy_pud_range()) goes on.
  uint64_t none_entry_end(Vaddr va) const;
  /// As lookup, but allocates missing intermediate tables (__pte_alloc, __pmd_alloc, __pud_alloc)
  /// and populates the upper entries, emitting their stores.
  PteRef alloc(Vaddr va, unsigned level, const char* func);

  Pte get(PteRef r) const { return Pte{m_mem.entry(r.table, r.index)}; }
  /// set_pte_at()/ptep_get_and_clear()/pmd_clear(): one store, one PteStore event. Inline:
  /// the store is the innermost step of every path that walks a range.
  Pte set(PteRef r, Vaddr va, Pte v, const char* func) {
    if (r.level >= 2) m_cursor_region = ~uint64_t{0};
    return store(m_mem.entry_mut(r.table, r.index), r, va, v, func);
  }

  /// pte_offset_map(): one PTE table's entries, held by a path that walks the table under its
  /// PTL, as the kernel keeps the pointer pte_offset_map_lock() returned.
  struct PteMap {
    Pfn table = kNoPfn;
    TableBody* body = nullptr;
    /// The table frame's generation, and PhysMem::table_frees() when it was last seen live.
    uint32_t gen = 0;
    mutable uint64_t live_at = 0;
    PteRef ref(uint64_t va) const { return PteRef{table, static_cast<uint16_t>(table_index(va, 1)), 1}; }
  };
  PteMap map(Pfn pte_table) {
    return PteMap{pte_table, m_mem.table_body(pte_table), m_mem.frame(pte_table).generation, m_mem.table_frees()};
  }
  /// The saved pointer outlives nothing: a table freed while mapped (a missing PTL or a
  /// use after free_pte_range()) would otherwise read or corrupt a recycled table body. A table
  /// can only stop being live through a free, so the full check runs only after one; it also
  /// catches the frame having been freed and reallocated as another table (its generation).
  Pte get(const PteMap& m, uint64_t va) const {
    if (m.live_at != m_mem.table_frees()) recheck_live(m);
    touch::table_slot(false, m.table, table_index(va, 1));
    return Pte{(*m.body)[table_index(va, 1)]};
  }
  Pte set(const PteMap& m, uint64_t va, Pte v, const char* func) {
    if (m.live_at != m_mem.table_frees()) recheck_live(m);
    touch::table_slot(true, m.table, table_index(va, 1));
    return store(m_mem.body_slot(*m.body, table_index(va, 1)), m.ref(va), Vaddr{va}, v, func);
  }

  /// The first address in [va, end) whose entry is not pte_none(), or `end`: the kernel's
  /// `if (pte_none(ptent)) continue;` over a run of empty slots. `end` must not pass the table.
  uint64_t skip_none(const PteMap& m, uint64_t va, uint64_t end) const {
    if (m.live_at != m_mem.table_frees()) recheck_live(m);
    const uint64_t from = va;
    constexpr uint64_t kChunkSpan = uint64_t{TableBody::kChunkEntries} << kPageShift;
    while (va < end) {
      const unsigned i = table_index(va, 1);
      const uint64_t* chunk = m.body->chunk(i / TableBody::kChunkEntries);
      if (!chunk) {
        va = std::min((va | (kChunkSpan - 1)) + 1, end);  // a chunk never stored to: 64 none entries
        continue;
      }
      if (chunk[i % TableBody::kChunkEntries] != 0) break;
      va += kPageSize;
    }
    // The empty slots scanned and the one that stopped the scan were read.
    if (touch::recording() && from < end)
      touch::record(Touch::Obj::Table, false, m.table.value(), table_index(from, 1),
                    va < end ? table_index(va, 1) + 1u : table_index(end - kPageSize, 1) + 1u);
    return va;
  }

  /// Leaf PTE for `va` (level 1), following a huge PMD if present. Returns none if unmapped.
  Pte leaf(Vaddr va, unsigned* level_out = nullptr) const;

  /// Tables in use by this mm, for memory accounting.
  size_t tables() const { return m_tables; }
  void note_table_freed() {
    --m_tables;
    m_cursor_region = ~uint64_t{0};
  }
  void note_table_allocated() { ++m_tables; }
  /// A table unlinked from one entry and not yet linked at another: move_normal_pmd() holds it
  /// between pmd_clear() and pmd_populate(), across a point where other threads run. Still this
  /// mm's and counted in tables(), it is reachable from no entry meanwhile.
  void hold_unlinked_table() { ++m_unlinked; }
  void release_unlinked_table() { --m_unlinked; }
  PhysMem& mem() const { return m_mem; }
  /// Every entry reachable from the root references a live table of this mm.
  void check_invariants() const;

 private:
  Pte store(uint64_t& slot, PteRef r, Vaddr va, Pte v, const char* func) {
    if (touch::recording()) {
      // What the detector judges: the mappings of this mm that the entry covers.
      const uint64_t lo = va.value() & ~((uint64_t{1} << level_shift(r.level)) - 1);
      touch::write(Touch::Obj::PtRange, m_mm.value(), lo, lo + (uint64_t{1} << level_shift(r.level)));
    }
    const Pte old{slot};
    slot = v.raw();
    if (m_mem.bus().active()) emit_store(r, va, old, v, func);
    return old;
  }
  void emit_store(PteRef r, Vaddr va, Pte old, Pte v, const char* func) const;
  /// Cold: throws InvariantViolation if the mapped table was freed since map().
  void recheck_live(const PteMap& m) const;

  PhysMem& m_mem;
  MmId m_mm;
  bool m_kernel;
  Pfn m_pgd;
  size_t m_tables = 1;
  size_t m_unlinked = 0;  ///< tables held between unlink and relink (hold_unlinked_table())
  /// The PTE table of the last 2 MiB region looked up: kernel paths walk one table at a time,
  /// as the kernel's pte_offset_map() loops do. Any store above the PTE level forgets it.
  mutable uint64_t m_cursor_region = ~uint64_t{0};
  mutable Pfn m_cursor_table = kNoPfn;
  /// The upper entries the cursor's lookup read (PGD, PUD, PMD slots): a lookup served by the
  /// cursor records them again, as the walk it saves would have read them.
  mutable PteRef m_cursor_path[3];
  /// The entry at `level` from the cursor, for a PTE in the cursor's region; else invalid.
  PteRef from_cursor(Vaddr va, unsigned level) const;
  /// The entry at `level` of a walk that ended in `table` through `path`; a PTE walk becomes the
  /// cursor.
  PteRef walked_to(Vaddr va, unsigned level, Pfn table, const PteRef (&path)[3]) const;
  void record_cursor_path() const {
    if (touch::recording())
      for (const PteRef& r : m_cursor_path) touch::table_slot(false, r.table, r.index);
  }
};

}  // namespace tlbsim
