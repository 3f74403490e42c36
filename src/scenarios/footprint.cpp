// SPDX-License-Identifier: MIT
#include "scenarios/footprint.h"

#include <algorithm>
#include <bit>
#include <span>
#include <string>
#include <tuple>

#include "model/page_table.h"
#include "model/pte.h"

namespace tlbsim::scenarios {

namespace {

bool hardware_kind(const Event& e) {
  switch (e.kind) {
    case EventKind::Access:
    case EventKind::Fault:
    case EventKind::Fill:
    case EventKind::WalkFill:
    case EventKind::Evict:
    case EventKind::StaleTableWalk: return true;
    // The page walker sets Accessed/Dirty in the PTE without any kernel involvement.
    case EventKind::PteStore: return std::string_view(e.func) == "hardware A/D update";
    default: return false;
  }
}

/// Cached keys: the mm above bit 24, the holder below; a holder part of all ones is every holder,
/// kAnyLeafHolder every holder of leaf entries (every cache but the walk caches).
constexpr uint64_t kAnyHolder = 0xffffff, kAnyLeafHolder = 0xfffffe;
uint64_t cached_key(MmId mm, Holder h) { return (uint64_t{mm.value()} << 24) | (uint64_t{static_cast<uint8_t>(h.kind)} << 16) | h.index; }
bool walk_holder(uint64_t holder) {
  const auto kind = static_cast<HolderKind>(holder >> 16);
  return kind == HolderKind::CpuWalkCache || kind == HolderKind::IommuWalkCache;
}
bool holders_match(uint64_t a, uint64_t b) {
  if (a == b || a == kAnyHolder || b == kAnyHolder) return true;
  if (a == kAnyLeafHolder) return b == kAnyLeafHolder || !walk_holder(b);
  if (b == kAnyLeafHolder) return !walk_holder(a);
  return false;
}

bool keys_match(Touch::Obj o, uint64_t a, uint64_t b) {
  if (a == kAnyKey || b == kAnyKey || a == b) return true;
  if (o == Touch::Obj::Cached) return (a >> 24) == (b >> 24) && holders_match(a & kAnyHolder, b & kAnyHolder);
  return false;
}

}  // namespace

namespace {
void index_groups(Footprint& f) {
  for (size_t o = 0, i = 0; o < f.group.size(); ++o) {
    while (i < f.touches.size() && static_cast<size_t>(f.touches[i].obj) < o) ++i;
    f.group[o] = static_cast<uint32_t>(i);
  }
  f.touched = f.written = 0;
  for (const Touch& t : f.touches) {
    f.touched |= uint32_t{1} << static_cast<unsigned>(t.obj);
    if (t.write) f.written |= uint32_t{1} << static_cast<unsigned>(t.obj);
  }
}
}  // namespace

Footprint footprint_of_everything() {
  Footprint f;
  f.kernel = true;
  for (size_t o = 0; o < kTouchObjects; ++o) f.touches.push_back(Touch{.obj = static_cast<Touch::Obj>(o), .write = true, .key = kAnyKey});
  index_groups(f);
  return f;
}

void CachedEntries::apply(const Event& e) {
  switch (e.kind) {
    case EventKind::Fill:
    case EventKind::WalkFill:
    case EventKind::Drop:
    case EventKind::Evict: break;
    default: return;
  }
  const Key k{e.mm.value(), e.va, e.level, static_cast<uint8_t>(e.holder.kind), e.holder.index, e.tag};
  if (e.kind == EventKind::Drop || e.kind == EventKind::Evict) {
    m_entries.erase(k);
    return;
  }
  const bool walk = e.kind == EventKind::WalkFill;
  uint64_t hi = e.end;
  if (hi <= e.va) hi = e.va + (walk ? uint64_t{1} << level_shift(e.level) : (e.flags & kEvHuge) ? kPmdSize : kPageSize);
  m_entries.insert_or_assign(k, Entry{e.va, hi, e.pfn, (!walk && (e.flags & kEvHuge)) ? kPtrsPerTable : 1, walk});
}

Footprint StepFootprints::next(const std::vector<Event>& events, size_t begin, size_t end, std::span<const Touch> touches,
                               const StepActor& actor) {
  for (; m_seen < begin; ++m_seen) m_cached.apply(events[m_seen]);
  Footprint f = footprint(std::span<const Event>(events.data() + begin, end - begin), touches, actor, &m_cached);
  m_seen = end;
  return f;
}

Footprint footprint(std::span<const Event> events, std::span<const Touch> touches, const StepActor& actor, CachedEntries* index) {
  Footprint f;
  auto add = [&](Touch::Obj o, bool w, uint64_t key, uint64_t lo = 0, uint64_t hi = ~uint64_t{0}) {
    f.touches.push_back(Touch{.obj = o, .write = w, .key = key, .lo = lo, .hi = hi});
  };
  auto frame = [&](bool w, Pfn p, uint64_t n = 1) {
    if (p != kNoPfn) add(Touch::Obj::Frame, w, 0, p.value(), p.value() + n);
  };
  // The detector keeps, per mm and address, the translations cached anywhere: a fill or a drop
  // changes that (and opens or closes a window), a store or an access consults it.
  // Per holder: one cache's fills and drops do not change another's entries.
  auto cached = [&](bool w, const Event& e, uint64_t size) { add(Touch::Obj::Cached, w, cached_key(e.mm, e.holder), e.va, e.va + size); };
  // A store consults the entries of every holder; a PTE store (level 1) only leaf entries, since
  // walk-cache entries point at tables and only a store to an upper entry changes what they
  // should hold (detector.cpp, on_pte_store()).
  auto cached_any = [&](const Event& e, uint64_t size) {
    add(Touch::Obj::Cached, false, (uint64_t{e.mm.value()} << 24) | (e.level >= 2 ? kAnyHolder : kAnyLeafHolder), e.va, e.va + size);
  };
  // Frames a cached entry covers: a huge entry's window counts all 512.
  auto entry_frames = [&](const Event& e) -> uint64_t {
    if (e.holder.is_walk_cache()) return 1;
    return (e.flags & kEvHuge) ? kPtrsPerTable : 1;
  };
  auto entry_size = [&](const Event& e) -> uint64_t {
    if (e.end > e.va) return e.end - e.va;
    if (e.holder.is_walk_cache() && e.level >= 1) return uint64_t{1} << level_shift(e.level);
    return (e.flags & kEvHuge) ? kPmdSize : kPageSize;
  };
  // The frames an entry maps (all 512 of a PMD leaf): the detector judges a write lost by whether
  // its mm maps the frame anywhere (detector.cpp, copied_away()), which a store mapping or
  // unmapping it changes; a table pointer's table page.
  auto pte_frame = [&](uint64_t raw, unsigned level) {
    const Pte p{raw};
    if (p.present()) frame(false, p.pfn(), level == 2 && p.huge() ? kPtrsPerTable : 1);
  };
  // A walk reads one entry per level, each containing va: a point read meets every store to an
  // entry (at any level) whose span contains va.
  auto walk_read = [&](const Event& e) { add(Touch::Obj::PtRange, false, e.mm.value(), e.va, e.va + 1); };

  // A step that began at a hardware point runs only the CPU or IOMMU model: a fault suspends at
  // mmap_read_lock() before the kernel's fault handling runs. Any other step ran kernel code.
  // A step that began at a hardware point and touched and emitted nothing (a device op
  // starting) changes only its thread's position: it commutes with every step (the explorer runs
  // its thread's next step right after it, see explore.cpp).
  if (events.empty() && touches.empty() && actor.hardware && actor.returns.empty()) return f;
  f.kernel = !actor.hardware;
  // What the model's accessors recorded: the ground truth of what the step read and wrote.
  f.touches.assign(touches.begin(), touches.end());
  // An op's return is a point the detector judges every window of that op against (StepActor):
  // the step writes what is cached, every holder, where the op stored.
  for (const OpStoreSpan& sp : actor.returns) add(Touch::Obj::Cached, true, (uint64_t{sp.mm} << 24) | kAnyHolder, sp.lo, sp.hi);
  for (const Event& e : events) {
    if (index) index->apply(e);
    if (!hardware_kind(e)) f.kernel = true;
    switch (e.kind) {
      case EventKind::PteStore:
        add(Touch::Obj::PtRange, true, e.mm.value(), e.va, e.end > e.va ? e.end : e.va + 1);
        if (std::string_view(e.func) != "hardware A/D update") {
          // A store opens windows on the translations cached for its span; their class depends
          // on whether their frames, which the store need not name (a PMD clear over cached
          // leaves), are free. With the index of what is cached, it reads those frames;
          // without, every frame. An A/D update changes neither frame nor permission, and
          // opens nothing.
          const uint64_t end = e.end > e.va ? e.end : e.va + 1;
          cached_any(e, end - e.va);
          // A 2 MiB entry's window covers all 512 of its pages, and a store to any one of them
          // opens, re-judges or closes it (detector.cpp, check_leaf(), recheck_leaf()): the
          // store changes what an access or a store at any other page under the entry finds,
          // so it writes the detector's view of the whole entry, not only of its own span.
          const uint64_t leaf_holders = (uint64_t{e.mm.value()} << 24) | kAnyLeafHolder;
          if (index) {
            index->entries(e.mm, e.va, end, e.level >= 2, [&](uint64_t lo, uint64_t hi, Pfn p, uint64_t n) {
              frame(false, p, n);
              if (n > 1) add(Touch::Obj::Cached, true, leaf_holders, lo, hi);
            });
          } else {
            add(Touch::Obj::Frame, false, 0);
            add(Touch::Obj::Cached, true, leaf_holders, e.va & ~(kPmdSize - 1), (end + kPmdSize - 1) & ~(kPmdSize - 1));
          }
        }
        // The slot itself is recorded by the accessor that stored it (a Table write), which is
        // what a walk through that page, live or freed, reads.
        pte_frame(e.old_val, e.level);
        pte_frame(e.new_val, e.level);
        break;
      // The caches themselves record what a fill, drop or lookup touched (model/touch.h): the
      // events add the detector's view.
      case EventKind::Fill:
      case EventKind::WalkFill:
        walk_read(e);
        cached(true, e, entry_size(e));
        frame(false, e.pfn, entry_frames(e));
        break;
      case EventKind::Evict:
      case EventKind::Drop:
        // Closes the entry's window, after or before its frames were freed.
        cached(true, e, entry_size(e));
        frame(false, e.pfn, entry_frames(e));
        break;
      // What a flush, a notifier call or an invalidation command does to a cache, the cache
      // records; the queue, the subscriber list and a shadow MMU's sequence record themselves
      // too. The detector does not read these events.
      case EventKind::CpuFlush:
      case EventKind::Notifier:
      case EventKind::InvCmd:
      case EventKind::InvSync: break;
      case EventKind::FrameAlloc:
      case EventKind::FrameFree:
        frame(true, e.pfn);
        add(Touch::Obj::Allocator, true, 0);
        break;
      case EventKind::Access:
        // Even an access that hits a cache reads the PTE in the sense that matters: whether a
        // window is open (the PTE no longer allows it) when the access happens decides
        // `observed`, so its order against a store to that PTE must be explored.
        walk_read(e);
        cached(false, e, 1);
        frame((e.flags & kEvWrite) != 0, e.pfn);
        break;
      case EventKind::Fault: walk_read(e); break;
      case EventKind::StaleTableWalk:
        walk_read(e);
        cached(false, e, 1);
        frame(false, e.pfn);
        break;
      // Locks are recorded by SimLock itself, by mode (a read lock commutes with another).
      case EventKind::Lock:
      case EventKind::Unlock: break;
      case EventKind::Copy:
        // The detector notes when the source was copied (a later write through a stale entry is
        // a lost write): written, not only read.
        frame(true, e.pfn);
        frame(true, Pfn{e.aux});
        break;
      // What the caller is told is decided by state its step's accessors recorded reading.
      case EventKind::Call:
      case EventKind::SyscallError:
      case EventKind::Signal:
      case EventKind::FaultRejected: break;
    }
  }
  auto key = [](const Touch& t) { return std::make_tuple(t.obj, t.key, t.lo, t.hi, t.write, t.commutes); };
  std::sort(f.touches.begin(), f.touches.end(), [&](const Touch& a, const Touch& b) { return key(a) < key(b); });
  f.touches.erase(std::unique(f.touches.begin(), f.touches.end(), [&](const Touch& a, const Touch& b) { return key(a) == key(b); }),
                  f.touches.end());
  index_groups(f);
  return f;
}

namespace {

bool conflict(const Touch& x, const Touch& y) { return (x.write || y.write) && !(x.commutes && y.commutes); }
bool overlap(const Touch& x, const Touch& y) { return x.lo < y.hi && y.lo < x.hi; }

/// Some pair of xs x ys, all of one object kind, conflicts: keys that match and ranges that meet.
bool any_pair(std::span<const Touch> xs, std::span<const Touch> ys) {
  for (const Touch& x : xs)
    for (const Touch& y : ys)
      if (conflict(x, y) && keys_match(x.obj, x.key, y.key) && overlap(x, y)) return true;
  return false;
}

/// As any_pair(), for two runs of one key each, sorted by `lo`: the ys from the first whose `lo`
/// reaches x's end on cannot meet x.
bool any_pair_one_key(std::span<const Touch> xs, std::span<const Touch> ys) {
  for (const Touch& x : xs)
    for (size_t j = 0; j < ys.size() && ys[j].lo < x.hi; ++j)
      if (ys[j].hi > x.lo && conflict(x, ys[j])) return true;
  return false;
}

}  // namespace

bool dependent(const Footprint& a, const Footprint& b) {
  auto group = [](const Footprint& f, size_t o) {
    const size_t end = o + 1 < f.group.size() ? f.group[o + 1] : f.touches.size();
    return std::span<const Touch>(f.touches).subspan(f.group[o], end - f.group[o]);
  };
  auto key_less = [](const Touch& t, uint64_t k) { return t.key < k; };
  // Two reads never conflict: only kinds both touched and either wrote can.
  for (uint32_t kinds = a.touched & b.touched & (a.written | b.written); kinds != 0; kinds &= kinds - 1) {
    const auto o = static_cast<size_t>(std::countr_zero(kinds));
    const std::span<const Touch> xs = group(a, o), ys = group(b, o);
    // Cached keys match across holders (kAnyHolder, kAnyLeafHolder): every pair.
    if (static_cast<Touch::Obj>(o) == Touch::Obj::Cached) {
      if (any_pair(xs, ys)) return true;
      continue;
    }
    // Otherwise keys match when equal or when one is kAnyKey, which sorts last. The wildcards
    // meet everything; the rest meet only their own key, and a group is sorted by key, then lo.
    const size_t xw = static_cast<size_t>(std::lower_bound(xs.begin(), xs.end(), kAnyKey, key_less) - xs.begin());
    const size_t yw = static_cast<size_t>(std::lower_bound(ys.begin(), ys.end(), kAnyKey, key_less) - ys.begin());
    if (any_pair(xs.subspan(xw), ys) || any_pair(xs.first(xw), ys.subspan(yw))) return true;
    size_t i = 0, j = 0;
    while (i < xw && j < yw) {
      if (xs[i].key < ys[j].key) {
        i = static_cast<size_t>(std::lower_bound(xs.begin() + i, xs.begin() + xw, ys[j].key, key_less) - xs.begin());
      } else if (ys[j].key < xs[i].key) {
        j = static_cast<size_t>(std::lower_bound(ys.begin() + j, ys.begin() + yw, xs[i].key, key_less) - ys.begin());
      } else {
        const uint64_t k = xs[i].key;
        const size_t ie = static_cast<size_t>(std::lower_bound(xs.begin() + i, xs.begin() + xw, k + 1, key_less) - xs.begin());
        const size_t je = static_cast<size_t>(std::lower_bound(ys.begin() + j, ys.begin() + yw, k + 1, key_less) - ys.begin());
        if (any_pair_one_key(xs.subspan(i, ie - i), ys.subspan(j, je - j))) return true;
        i = ie;
        j = je;
      }
    }
  }
  return false;
}

bool dependent_by_every_pair(const Footprint& a, const Footprint& b) {
  auto end = [](const Footprint& f, size_t o) { return o + 1 < f.group.size() ? f.group[o + 1] : f.touches.size(); };
  for (size_t o = 0; o + 1 < a.group.size(); ++o)
    for (size_t i = a.group[o]; i < end(a, o); ++i)
      for (size_t j = b.group[o]; j < end(b, o); ++j) {
        const Touch& x = a.touches[i];
        const Touch& y = b.touches[j];
        if (!(x.write || y.write) || (x.commutes && y.commutes) || !keys_match(x.obj, x.key, y.key)) continue;
        if (x.lo < y.hi && y.lo < x.hi) return true;
      }
  return false;
}

}  // namespace tlbsim::scenarios
