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

#include "model/block_vector.h"
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

/// struct page's fields the kernel paths read and write directly, in 16 bytes: the flags and the
/// page index share one word, as they share struct page's flags and index words. The reference
/// and map counts and the content version are PhysMem's (refcount(), mapcount(), content()),
/// kept beside these in the frame's 24-byte slot; page_private() of a swap-cache page is kept
/// beside the frames (PhysMem::swap_cache()), since few pages are ever in the swap cache.
struct Frame {
  uint32_t generation = 0;  ///< bumped on each allocation
  /// File id, anon_vma id, KSM stable node id (a KSM page's page->mapping; 0 while NULL) or mm id
  /// (for tables), caller-defined.
  uint32_t owner = 0;
  /// Page index within the owner (page->index, a pgoff_t: an anonymous page's is its address >>
  /// PAGE_SHIFT, past 32 bits above 16 TiB; a file page's is below 2^32 + 2^24, the loader's
  /// largest pgoff and file); table body index for tables. 52 bits hold any page index of a
  /// 64-bit address (PhysMem::alloc() checks it).
  uint64_t aux : kFrameIndexBits = 0;
  FrameKind kind : 3 = FrameKind::Anon;
  /// Set by PhysMem::alloc(), cleared by free() and nowhere else: PhysMem reads a frame's count
  /// word as counts or as a free-list link by it.
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
static_assert(sizeof(Frame) == 16, "the frame fields paths use are 16 bytes of a 24-byte slot (docs/workloads.md)");

class PhysMem {
 public:
  using TableBody = tlbsim::TableBody;

  PhysMem(PhysMemConfig cfg, EventBus& bus) : m_cfg(cfg), m_bus(bus) {}
  /// Table bodies point into this PhysMem's chunk pool: a copy would share them.
  PhysMem(const PhysMem&) = delete;
  PhysMem& operator=(const PhysMem&) = delete;
  const PhysMemConfig& config() const { return m_cfg; }
  /// Bytes a frame's state takes (its Slot below); state_bytes() adds the spare slots of the
  /// last block.
  static constexpr size_t kSlotBytes = 24;

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
    return m_frames[pfn.value()].f;
  }
  Frame& frame_mut(Pfn pfn) {
    touch::frame(true, pfn);
    return m_frames[pfn.value()].f;
  }
  bool valid(Pfn pfn) const { return pfn.value() < m_frames.size(); }
  bool is_live_table(Pfn pfn) const {
    touch::frame(false, pfn);
    return valid(pfn) && m_frames[pfn.value()].f.allocated && m_frames[pfn.value()].f.kind == FrameKind::Table;
  }

  /// page_ref_count(): 0 for a free frame. Recorded as a read of the frame.
  uint32_t refcount(Pfn pfn) const {
    touch::frame(false, pfn);
    return counts(pfn).ref;
  }
  /// page_mapcount(): the PTEs mapping the page, 0 for a free frame. Recorded as a read.
  uint32_t mapcount(Pfn pfn) const {
    touch::frame(false, pfn);
    return counts(pfn).map;
  }
  /// page_ref_inc() of an allocated frame (get_page()). Recorded as a write.
  void ref_inc(Pfn pfn);
  /// page_ref_dec_and_test(): drops a reference of an allocated frame that has one and returns
  /// the count left; the caller frees the frame at 0 (put_page()). Recorded as a write.
  uint32_t ref_dec(Pfn pfn);
  /// The rmap's count, page_add_*_rmap() and page_remove_rmap(), of an allocated frame (a
  /// decrement needs one mapping). Recorded as a write.
  void map_inc(Pfn pfn);
  void map_dec(Pfn pfn);

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
    return m_bodies[m_frames[pfn.value()].f.aux];
  }
  /// One entry of a live page-table page: recorded as a read of that slot.
  uint64_t entry(Pfn pfn, unsigned index) const {
    TLBSIM_CHECK(is_live_table(pfn), "pfn " << pfn.value() << " is not a live page table");
    touch::table_slot(false, pfn, index);
    return m_bodies[m_frames[pfn.value()].f.aux][index];
  }
  /// Store one entry of a live page-table page: recorded as a write of that slot. Returns the slot.
  uint64_t& entry_mut(Pfn pfn, unsigned index) {
    TLBSIM_CHECK(is_live_table(pfn), "pfn " << pfn.value() << " is not a live page table");
    touch::table_slot(true, pfn, index);
    return m_chunks.slot(m_bodies[m_frames[pfn.value()].f.aux], index);
  }
  /// The body of a live page-table page, unrecorded: for PageTable::PteMap, which records each
  /// slot it reads or writes itself (and stores through body_slot()).
  TableBody* table_body(Pfn pfn) {
    TLBSIM_CHECK(is_live_table(pfn), "pfn " << pfn.value() << " is not a live page table");
    return &m_bodies[m_frames[pfn.value()].f.aux];
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
    return slot(pfn).content;
  }
  void write_content(Pfn pfn) {
    touch::frame(true, pfn);
    ++slot(pfn).content;
  }
  /// swap_readpage(): the contents a swap slot kept.
  void set_content(Pfn pfn, uint32_t version) {
    touch::frame(true, pfn);
    slot(pfn).content = version;
  }
  void copy_content(Pfn from, Pfn to) {
    touch::frame(false, from);
    touch::frame(true, to);
    slot(to).content = slot(from).content;
  }

  size_t frames_in_use() const { return m_in_use; }
  size_t frames_total() const { return m_frames.size(); }
  size_t tables_in_use() const { return m_tables_in_use; }
  /// Page tables freed so far. A holder of a table's entries (PageTable::PteMap) re-checks the
  /// table is live only when this moved since it last looked.
  uint64_t table_frees() const { return m_table_frees; }
  /// Bytes of model state that grows with the pages: frame slots (the spare ones of the last
  /// block included; content versions, counts and the free list are in them), large counts,
  /// swap-cache slots, table bodies and their chunks (made ones, in use or free).
  size_t state_bytes() const;
  /// state_bytes() at its largest so far. Frames, bodies and chunks only ever grow; the large
  /// counts and the swap-cache slots also shrink, and change only in alloc(), free(), the count
  /// setters and the swap-cache setters, which sample the total before they do: the total is
  /// largest just before such a change, or now.
  size_t peak_state_bytes() const { return std::max(m_state_peak, state_bytes()); }
  /// Table-entry chunks made so far, and those of them free (for tests and benchmarks).
  size_t table_chunks() const { return m_chunks.chunks(); }
  size_t free_table_chunks() const { return m_chunks.free_chunks(); }
  void check_invariants() const;
  /// When no kernel code is running any more (every thread finished): no page is left locked,
  /// else a path lost its unlock_page() and every later trylock of that page would fail; and
  /// no allocated page is left isolated, else a path lost its putback_lru_page() or
  /// folio_add_lru() and reclaim and migration would skip the page for ever.
  void check_quiescent() const;
  EventBus& bus() { return m_bus; }

 private:
  /// A frame's 24 bytes: the fields paths use, the content version, and a word only PhysMem
  /// reads. While the frame is allocated that word holds the reference count (low 16 bits) and
  /// the map count (high 16), or kBigCounts when either is 0xffff or more and both are in
  /// m_big_counts (a file page mapped by every VMA of thousands of mms). While the frame is free
  /// both counts are 0 by definition (refcount() and mapcount() say so without reading the word)
  /// and the word links the free list: the next free pfn, kNoFrame at the end. So the allocator's
  /// free list costs no memory of its own, as the buddy allocator's lists live in free pages.
  struct Slot {
    Frame f;
    uint32_t content = 0;
    uint32_t word = 0;
  };
  static_assert(sizeof(Slot) == kSlotBytes, "frame state is 24 bytes a page (docs/workloads.md)");
  struct Counts {
    uint32_t ref = 0;
    uint32_t map = 0;
  };
  static constexpr uint32_t kNoFrame = ~uint32_t{0};
  static constexpr uint32_t kBigCounts = ~uint32_t{0};
  /// Counts below this are kept in the word, 16 bits each; a larger one sends both aside.
  static constexpr uint32_t kSmallCount = 0xffff;

  const Slot& slot(Pfn pfn) const {
    TLBSIM_CHECK(valid(pfn), "pfn " << pfn.value() << " is past the end of memory");
    return m_frames[pfn.value()];
  }
  Slot& slot(Pfn pfn) {
    TLBSIM_CHECK(valid(pfn), "pfn " << pfn.value() << " is past the end of memory");
    return m_frames[pfn.value()];
  }
  Counts counts(Pfn pfn) const {
    const Slot& s = slot(pfn);
    if (!s.f.allocated) return {};  // the word links the free list
    if (s.word == kBigCounts) return m_big_counts.at(pfn.value());
    return {.ref = s.word & kSmallCount, .map = s.word >> 16};
  }
  void set_counts(Pfn pfn, Counts c);
  /// One up or down of a count (a decrement only of a count above 0); returns the new value.
  uint32_t step_count(Pfn pfn, uint32_t Counts::*which, bool up);
  /// Puts a frame that was just made free on the free list, where alloc() takes it in the
  /// configured order.
  void push_free(uint32_t n);

  PhysMemConfig m_cfg;
  EventBus& m_bus;
  /// In blocks of 256 (6 KiB): a frame never moves, and at most 255 slots are spare.
  BlockVector<Slot, 8> m_frames;
  /// The free list through the free frames' words: alloc() takes the head; free() puts a frame at
  /// the head (ReuseOrder::Lifo) or after the tail (ReuseOrder::Fifo).
  uint32_t m_free_head = kNoFrame;
  uint32_t m_free_tail = kNoFrame;
  size_t m_free_count = 0;
  /// Both counts of the frames whose word is kBigCounts.
  std::unordered_map<uint32_t, Counts> m_big_counts;
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
