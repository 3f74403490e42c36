// SPDX-License-Identifier: MIT
#pragma once
/// Touches: what one scheduler step read and wrote of the machine's state, recorded by the model's
/// accessors at the access itself (PhysMem's frames and table bodies, PageTable's entries, the
/// translation and walk caches, the IOMMU's PASID table, locks). The explorer's dependency
/// relation rests on them: a read that emits no event (a walk that starts from a walk-cache entry
/// and reads the table page it points at) is still a read, so a step that frees that page is
/// dependent on it. Recording is off (one thread-local load and a branch) unless a scheduler step
/// is running under a TouchScope; setup, invariant checks and reports record nothing.
#include <cstdint>
#include <vector>

#include "model/event.h"
#include "model/types.h"

namespace tlbsim {

/// One object a step read or wrote. Ranges are half-open; a wildcard key matches every key.
struct Touch {
  enum class Obj : uint8_t {
    Kernel,     ///< kernel-wide objects by key: the mm list, id counters, PASID allocator, KSM state, kernel_pgtable_work's list
    PtRange,    ///< the detector's view: entries of mm `key` covering [lo, hi) at any level
    Table,      ///< slots [lo, hi) of the page-table page in frame `key` (what a walker reads)
    Frame,      ///< physical frames [lo, hi) (key 0): allocation state, generation, kind, counts, contents
    Allocator,  ///< the page allocator's free lists (reuse order)
    Cache,      ///< one part of one translation cache: key = cache_touch_key(holder, part)
    Lock,       ///< a lock, by a stable (FNV-1a) hash of its name
    Notifier,   ///< the mmu_notifier subscribers of mm `key` (each keeps its own state: a Cache Sequence)
    Binding,    ///< an IOMMU's PASID table (iommu_sva_bind_device / mm release): key = IOMMU index; its cached entries: key = 2^32 + IOMMU
                ///< index, [lo, hi) = PASIDs
    Mm,         ///< fields [lo, hi) of mm `key` (AddressSpace::Field: tlb_flush_pending, VMA tree, ...)
    File,       ///< page-cache slots [lo, hi) of file `key` (page and dirty bit by index)
    Queue,      ///< an IOMMU's invalidation command queue: key = IOMMU index
    Cached,     ///< the detector's view: translations of mm `key` for [lo, hi) cached anywhere
  } obj = Obj::Kernel;
  bool write = false;
  uint64_t key = 0;
  uint64_t lo = 0, hi = ~uint64_t{0};
  /// A write that commutes with another such write of the same object: an atomic increment or
  /// decrement whose result the step does not use (inc_tlb_flush_pending()). It still conflicts
  /// with every read and plain write.
  bool commutes = false;
};
inline constexpr uint64_t kAnyKey = ~uint64_t{0};
inline constexpr size_t kTouchObjects = 13;

/// Cache touches name one cache by its holder (one CPU's TLB or walk cache, an IOTLB, an IOMMU
/// walk cache, a device's ATC, a shadow MMU) and one part of it:
/// - Entries: the entries covering addresses [lo, hi) (a lookup or an invalidation reads them,
///   a fill or a drop writes the range of the entry it adds or removes);
/// - Members: which entries set `lo` holds (a fill and a drop write it; a fill's choice of
///   victim depends on it);
/// - Recency: the LRU order of set `lo` (a hit and a fill write it). A hit and a drop of another
///   entry commute: both orders leave the same entries in the same LRU order;
/// - Sequence: a shadow MMU's invalidation count and sequence (mmu_invalidate_in_progress/seq).
/// The tag (ASID, PASID) is not part of the key: entries of different tags at one address
/// conflict, which is more than needed and never less.
enum class CachePart : uint64_t { Entries = 0, Members = 1, Recency = 2, Sequence = 3 };
inline uint64_t cache_touch_key(Holder h, CachePart part) {
  return (static_cast<uint64_t>(part) << 48) | (uint64_t{static_cast<uint8_t>(h.kind)} << 32) | h.index;
}

namespace detail {
// Constant-initialised, so the test on every accessor is one thread-local load.
constinit inline thread_local std::vector<Touch>* t_touches = nullptr;
// Out of line, so that the test stays inline in every accessor: an invariant check calls
// PhysMem::frame() for every frame after every step with recording off, and a call per
// accessor there was a tenth of a checked run's time.
[[gnu::noinline]] inline void push(std::vector<Touch>& sink, const Touch& t) { sink.push_back(t); }
}  // namespace detail

namespace touch {
inline bool recording() { return detail::t_touches != nullptr; }
inline void record(Touch::Obj o, bool write, uint64_t key, uint64_t lo = 0, uint64_t hi = ~uint64_t{0}) {
  if (std::vector<Touch>* s = detail::t_touches) detail::push(*s, Touch{.obj = o, .write = write, .key = key, .lo = lo, .hi = hi});
}
inline void read(Touch::Obj o, uint64_t key, uint64_t lo = 0, uint64_t hi = ~uint64_t{0}) { record(o, false, key, lo, hi); }
/// An update that commutes with another such update (Touch::commutes).
inline void add(Touch::Obj o, uint64_t key, uint64_t lo, uint64_t hi) {
  if (std::vector<Touch>* s = detail::t_touches)
    detail::push(*s, Touch{.obj = o, .write = true, .key = key, .lo = lo, .hi = hi, .commutes = true});
}
inline void write(Touch::Obj o, uint64_t key, uint64_t lo = 0, uint64_t hi = ~uint64_t{0}) { record(o, true, key, lo, hi); }
/// One slot of a page-table page, or all of them.
inline void table_slot(bool w, Pfn table, uint64_t index) { record(Touch::Obj::Table, w, table.value(), index, index + 1); }
inline void table_page(bool w, Pfn table) { record(Touch::Obj::Table, w, table.value(), 0, 512); }
inline void frame(bool w, Pfn p, uint64_t n = 1) {
  if (p != kNoPfn) record(Touch::Obj::Frame, w, 0, p.value(), p.value() + n);
}
/// The entries of `h` covering [lo, hi): read by a lookup or an invalidation, written by a fill or drop.
inline void cache_entries(bool w, Holder h, uint64_t lo, uint64_t hi) {
  record(Touch::Obj::Cache, w, cache_touch_key(h, CachePart::Entries), lo, hi);
}
/// Set `set` of `h`: its members (fill, drop) or its LRU order (hit, fill).
inline void cache_set(CachePart part, Holder h, uint64_t set) { record(Touch::Obj::Cache, true, cache_touch_key(h, part), set, set + 1); }
inline void cache_sequence(bool w, Holder h) { record(Touch::Obj::Cache, w, cache_touch_key(h, CachePart::Sequence)); }
}  // namespace touch

/// Records every touch made on this thread into `sink` while alive (the runner wraps each step).
class TouchScope {
 public:
  explicit TouchScope(std::vector<Touch>& sink) : m_prev(detail::t_touches) { detail::t_touches = &sink; }
  ~TouchScope() { detail::t_touches = m_prev; }
  TouchScope(const TouchScope&) = delete;
  TouchScope& operator=(const TouchScope&) = delete;

 private:
  std::vector<Touch>* m_prev;
};

/// Records nothing while alive, even inside a step's TouchScope: an invariant check reads the
/// machine's state without being part of any step's footprint.
class NoTouches {
 public:
  NoTouches() : m_prev(detail::t_touches) { detail::t_touches = nullptr; }
  ~NoTouches() { detail::t_touches = m_prev; }
  NoTouches(const NoTouches&) = delete;
  NoTouches& operator=(const NoTouches&) = delete;

 private:
  std::vector<Touch>* m_prev;
};

}  // namespace tlbsim
