// SPDX-License-Identifier: MIT
#pragma once
/// Physical memory: frames with allocation state, owner, a generation bumped on every allocation
/// (so reuse is visible), reference and map counts (struct page's _refcount/_mapcount), and a
/// content version per frame so lost writes can be found later. Page-table pages are frames too:
/// their 512 entries (a TableBody, model/table_body.h) stay readable after the frame is freed,
/// until it is reallocated, exactly as a hardware walker holding a stale pointer would see them.
#include <algorithm>
#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

#include "model/check.h"
#include "model/event.h"
#include "model/table_body.h"
#include "model/touch.h"
#include "model/types.h"

namespace tlbsim {

/// DevicePrivate: a MEMORY_DEVICE_PRIVATE ZONE_DEVICE page (lib/test_hmm.c's dmirror memory).
/// Its rmap is anonymous like the page it replaced; it is never on the LRU, and only a
/// device-private swap entry maps it (the CPU and the IOMMU cannot address it).
enum class FrameKind : uint8_t { Anon, File, Table, Kernel, DevicePrivate };
enum class ReuseOrder : uint8_t { Lifo, Fifo };
/// A scenario's spelling of each ReuseOrder, in enum order.
inline constexpr const char* kReuseOrderNames[] = {"lifo", "fifo"};

/// Bits of Frame::aux: a page index of any 64-bit address (2^64 >> PAGE_SHIFT).
inline constexpr unsigned kFrameIndexBits = 64 - kPageShift;

struct PhysMemConfig {
  uint32_t max_frames = 1u << 22;       ///< 16 GiB of 4 KiB frames
  ReuseOrder reuse = ReuseOrder::Lifo;  ///< LIFO makes a use-after-free visible soonest
};

/// struct page's fields the model uses, in 24 bytes: the flags and the page index share one word,
/// as they share struct page's flags and index words, and page_private() of a swap-cache page is
/// kept beside the frames (PhysMem::swap_cache()), since few pages are ever in the swap cache.
struct Frame {
  uint32_t generation = 0;  ///< bumped on each allocation
  /// File id, anon_vma id, KSM stable node id (a KSM page's page->mapping; 0 while NULL) or mm id
  /// (for tables), caller-defined.
  uint32_t owner = 0;
  /// 32 bits: a file page can be mapped by every VMA of every mm (up to 4096 mms, and as many
  /// VMAs as a 64 MiB file holds), past 16 bits.
  uint32_t refcount = 0;
  uint32_t mapcount = 0;
  /// Page index within the owner (page->index, a pgoff_t: an anonymous page's is its address >>
  /// PAGE_SHIFT, past 32 bits above 16 TiB; a file page's is below 2^32 + 2^24, the loader's
  /// largest pgoff and file); table body index for tables. 52 bits hold any page index of a
  /// 64-bit address (PhysMem::alloc() checks it).
  uint64_t aux : kFrameIndexBits = 0;
  FrameKind kind : 3 = FrameKind::Anon;
  bool allocated : 1 = false;
  /// Off the LRU (PG_lru clear) for migration or reclaim: isolate_lru_page() sets it, a
  /// putback or the free clears it. Every other allocated page-cache or anonymous frame counts
  /// as on the LRU (lru_cache_add() is not modelled).
  bool isolated : 1 = false;
  /// PageKsm(): a stable KSM page (set when KSM makes it the page others merge into). do_wp_page()
  /// never reuses one, whatever its counts; a new allocation clears it.
  bool ksm : 1 = false;
  /// PG_locked, where the model takes it (kernel/page.h trylock_page()): migrate_vma's collect
  /// to migrate_vma_finalize(), __unmap_and_move() and shrink_folio_list() from their trylock
  /// to the end. Other paths do not wait for it (docs/kernel-notes.md section 18). A new
  /// allocation clears it; freeing a locked page is an invariant violation.
  bool locked : 1 = false;
  /// PageSwapCache(): the page is in a swap slot's swap cache, whose slot
  /// PhysMem::swap_cache() gives (page_private()). A new allocation clears it.
  bool swapcache : 1 = false;
};
static_assert(sizeof(Frame) == 24, "frame metadata is 24 bytes a page (docs/workloads.md)");

class PhysMem {
 public:
  using TableBody = tlbsim::TableBody;

  PhysMem(PhysMemConfig cfg, EventBus& bus) : m_cfg(cfg), m_bus(bus) {}
  /// Table bodies point into this PhysMem's chunk pool: a copy would share them.
  PhysMem(const PhysMem&) = delete;
  PhysMem& operator=(const PhysMem&) = delete;
  const PhysMemConfig& config() const { return m_cfg; }

  /// alloc_pages(): take a frame off the free list, bump its generation, refcount = 1.
  Pfn alloc(FrameKind kind, uint32_t owner, uint64_t index, const char* func);
  /// A physically contiguous run for a huge page (alloc_pages(order 9) / alloc_contig_range()):
  /// `n` fresh frames taken past the end of memory, never from the free list, so contiguity
  /// needs no search. Frame i gets page index first_index + i and refcount 1 (each frame is
  /// counted on its own, as if every subpage were a small page). Not for page tables.
  Pfn alloc_contig(FrameKind kind, uint32_t owner, uint64_t first_index, uint32_t n, const char* func);
  /// __free_pages(): the frame goes back to the allocator. Table contents stay in place.
  void free(Pfn pfn, const char* func);

  /// Frame metadata. Every accessor below records what it touched (model/touch.h): a read of
  /// the frame, a write of it, or the slots of a table page.
  const Frame& frame(Pfn pfn) const {
    touch::frame(false, pfn);
    return m_frames[pfn.value()];
  }
  Frame& frame_mut(Pfn pfn) {
    touch::frame(true, pfn);
    return m_frames[pfn.value()];
  }
  bool valid(Pfn pfn) const { return pfn.value() < m_frames.size(); }
  bool is_live_table(Pfn pfn) const {
    touch::frame(false, pfn);
    return valid(pfn) && m_frames[pfn.value()].allocated && m_frames[pfn.value()].kind == FrameKind::Table;
  }

  /// page_private() of a page in the swap cache (Frame::swapcache): the swap slot whose cache
  /// holds it; nullopt for a page in none. Recorded as a read of the frame.
  std::optional<uint64_t> swap_cache(Pfn pfn) const;
  /// add_to_swap_cache()'s set_page_private() and SetPageSwapCache(): recorded as a write.
  void set_swap_cache(Pfn pfn, uint64_t slot);
  /// __delete_from_swap_cache()'s ClearPageSwapCache(): recorded as a write.
  void clear_swap_cache(Pfn pfn);

  /// Entries of a live page-table page, to read only: recorded as a read of every slot.
  const TableBody& table_read(Pfn pfn) const {
    TLBSIM_CHECK(is_live_table(pfn), "pfn " << pfn.value() << " is not a live page table");
    touch::table_page(false, pfn);
    return m_bodies[m_frames[pfn.value()].aux];
  }
  /// One entry of a live page-table page: recorded as a read of that slot.
  uint64_t entry(Pfn pfn, unsigned index) const {
    TLBSIM_CHECK(is_live_table(pfn), "pfn " << pfn.value() << " is not a live page table");
    touch::table_slot(false, pfn, index);
    return m_bodies[m_frames[pfn.value()].aux][index];
  }
  /// Store one entry of a live page-table page: recorded as a write of that slot. Returns the slot.
  uint64_t& entry_mut(Pfn pfn, unsigned index) {
    TLBSIM_CHECK(is_live_table(pfn), "pfn " << pfn.value() << " is not a live page table");
    touch::table_slot(true, pfn, index);
    return m_chunks.slot(m_bodies[m_frames[pfn.value()].aux], index);
  }
  /// The body of a live page-table page, unrecorded: for PageTable::PteMap, which records each
  /// slot it reads or writes itself (and stores through body_slot()).
  TableBody* table_body(Pfn pfn) {
    TLBSIM_CHECK(is_live_table(pfn), "pfn " << pfn.value() << " is not a live page table");
    return &m_bodies[m_frames[pfn.value()].aux];
  }
  /// Entry `index` of a body table_body() gave, for a store, unrecorded.
  uint64_t& body_slot(TableBody& body, unsigned index) { return m_chunks.slot(body, index); }
  /// What a hardware walker reads at a frame it believes is a table: the table body if the frame
  /// is, or was until freed and not yet reused, a table; nullptr when the frame now holds data.
  /// Records a read of the frame (its kind decides); the caller records the slots it reads.
  const TableBody* walker_view(Pfn pfn) const;

  /// Content version: bumped on every write, copied by migration/COW copies.
  uint32_t content(Pfn pfn) const {
    touch::frame(false, pfn);
    return m_content.at(pfn.value());
  }
  void write_content(Pfn pfn) {
    touch::frame(true, pfn);
    ++m_content.at(pfn.value());
  }
  /// swap_readpage(): the contents a swap slot kept.
  void set_content(Pfn pfn, uint32_t version) {
    touch::frame(true, pfn);
    m_content.at(pfn.value()) = version;
  }
  void copy_content(Pfn from, Pfn to) {
    touch::frame(false, from);
    touch::frame(true, to);
    m_content.at(to.value()) = m_content.at(from.value());
  }

  size_t frames_in_use() const { return m_in_use; }
  size_t frames_total() const { return m_frames.size(); }
  size_t tables_in_use() const { return m_tables_in_use; }
  /// Page tables freed so far. A holder of a table's entries (PageTable::PteMap) re-checks the
  /// table is live only when this moved since it last looked.
  uint64_t table_frees() const { return m_table_frees; }
  /// Bytes of model state that grows with the pages: frame metadata (the vector's spare capacity
  /// included), content versions, free lists, swap-cache slots, table bodies and their chunks
  /// (made ones, in use or free).
  size_t state_bytes() const;
  /// state_bytes() at its largest so far. Frames, content versions, bodies and chunks only ever
  /// grow; the free list and the swap-cache slots also shrink, and change only in alloc(),
  /// alloc_contig(), free() and the swap-cache setters, which sample the total before they do:
  /// the total is largest just before such a change, or now.
  size_t peak_state_bytes() const { return std::max(m_state_peak, state_bytes()); }
  /// Table-entry chunks made so far, and those of them free (for tests and benchmarks).
  size_t table_chunks() const { return m_chunks.chunks(); }
  size_t free_table_chunks() const { return m_chunks.free_chunks(); }
  void check_invariants() const;
  /// When no kernel code is running any more (every thread finished): no page is left locked,
  /// else a path lost its unlock_page() and every later trylock of that page would fail.
  void check_quiescent() const;
  EventBus& bus() { return m_bus; }

 private:
  PhysMemConfig m_cfg;
  EventBus& m_bus;
  std::vector<Frame> m_frames;
  std::vector<uint32_t> m_content;
  std::deque<uint32_t> m_free;
  /// The chunks of table entries the bodies below point into (declared first, destroyed last).
  TableChunkPool m_chunks;
  /// A deque, so a body never moves: a kernel path holds a table's entries across scheduling
  /// points under its PTL (pte_offset_map_lock()), as the kernel holds a pointer into the page.
  std::deque<TableBody> m_bodies;
  std::vector<uint32_t> m_free_bodies;
  /// page_private() of the frames with Frame::swapcache set.
  std::unordered_map<uint32_t, uint64_t> m_swap_private;
  size_t m_in_use = 0;
  size_t m_tables_in_use = 0;
  uint64_t m_table_frees = 0;
  size_t m_state_peak = 0;
  void sample_state() { m_state_peak = std::max(m_state_peak, state_bytes()); }
};

}  // namespace tlbsim
