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
    Kernel,     ///< unrecorded kernel bookkeeping (tlb_flush_pending, rmap, VMAs): every kernel step
    PtRange,    ///< the detector's view: entries of mm `key` covering [lo, hi) at any level
    Table,      ///< slots [lo, hi) of the page-table page in frame `key` (what a walker reads)
    Frame,      ///< physical frames [lo, hi) (key 0): allocation state, generation, kind, counts, contents
    Allocator,  ///< the page allocator's free lists (reuse order)
    Cache,      ///< translation caches of one side: key = cache_touch_key(holder)
    Lock,       ///< a lock, by a stable (FNV-1a) hash of its name
    Notifier,   ///< mmu_notifier state of mm `key` (invalidate counts, secondary MMU sequences)
    Binding,    ///< an IOMMU's PASID table (iommu_sva_bind_device / mm release): key = IOMMU index
    Mm,         ///< fields [lo, hi) of mm `key` (AddressSpace::Field: tlb_flush_pending, VMA tree, ...)
    File,       ///< page-cache slots [lo, hi) of file `key` (page and dirty bit by index)
    Queue,      ///< an IOMMU's invalidation command queue: key = IOMMU index
    Cached,     ///< the detector's view: translations of mm `key` for [lo, hi) cached anywhere
  } obj = Obj::Kernel;
  bool write = false;
  uint64_t key = 0;
  uint64_t lo = 0, hi = ~uint64_t{0};
};
inline constexpr uint64_t kAnyKey = ~uint64_t{0};
inline constexpr size_t kTouchObjects = 13;

/// Cache object of a holder: CPU-side caches are per CPU (its TLB and paging-structure cache
/// together); device-side caches (IOTLB, IOMMU walk cache, ATC, shadow MMU) form one object,
/// because one invalidation command or notifier reaches several of them.
inline constexpr uint64_t kCpuCacheSide = 0, kDeviceCacheSide = uint64_t{1} << 32;
inline constexpr uint64_t kAnyCacheIndex = 0xffffffffu;
inline uint64_t cache_touch_key(Holder h) {
  switch (h.kind) {
    case HolderKind::CpuTlb:
    case HolderKind::CpuWalkCache: return kCpuCacheSide | h.index;
    case HolderKind::None: return kAnyKey;
    default: return kDeviceCacheSide;
  }
}

namespace detail {
// Constant-initialised, so the test on every accessor is one thread-local load.
inline thread_local std::vector<Touch>* t_touches = nullptr;
}  // namespace detail

namespace touch {
inline bool recording() { return detail::t_touches != nullptr; }
inline void record(Touch::Obj o, bool write, uint64_t key, uint64_t lo = 0, uint64_t hi = ~uint64_t{0}) {
  if (std::vector<Touch>* s = detail::t_touches) s->push_back(Touch{.obj = o, .write = write, .key = key, .lo = lo, .hi = hi});
}
inline void read(Touch::Obj o, uint64_t key, uint64_t lo = 0, uint64_t hi = ~uint64_t{0}) { record(o, false, key, lo, hi); }
inline void write(Touch::Obj o, uint64_t key, uint64_t lo = 0, uint64_t hi = ~uint64_t{0}) { record(o, true, key, lo, hi); }
/// One slot of a page-table page, or all of them.
inline void table_slot(bool w, Pfn table, uint64_t index) { record(Touch::Obj::Table, w, table.value(), index, index + 1); }
inline void table_page(bool w, Pfn table) { record(Touch::Obj::Table, w, table.value(), 0, 512); }
inline void frame(bool w, Pfn p, uint64_t n = 1) {
  if (p != kNoPfn) record(Touch::Obj::Frame, w, 0, p.value(), p.value() + n);
}
inline void cache(Holder h) { record(Touch::Obj::Cache, true, cache_touch_key(h)); }
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

}  // namespace tlbsim
