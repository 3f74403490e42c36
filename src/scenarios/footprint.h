// SPDX-License-Identifier: MIT
#pragma once
/// What one scheduler step touched, as the model's accessors recorded it (model/touch.h) and as
/// the events it emitted tell the detector, and when two steps are dependent (their order may
/// matter). The explorer permutes only dependent steps. See docs/explore.md for the relation and
/// why it is sound.
#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <tuple>
#include <vector>

#include "model/event.h"
#include "model/touch.h"
#include "scenarios/runner.h"

namespace tlbsim::scenarios {

/// The footprint of a step: what it touched and whether it ran kernel code.
struct Footprint {
  std::vector<Touch> touches;  ///< sorted by object kind (then key, range, mode), no duplicates
  /// Ran kernel code (did not begin at a hardware point, or emitted more than hardware events).
  /// Informational: dependence is decided by the touches alone.
  bool kernel = false;
  /// touches[group[o], group[o + 1]) are those of object kind o.
  std::array<uint32_t, kTouchObjects + 1> group{};
  /// Bit o: some touch of object kind o; some write of it. Derived from touches, like group:
  /// dependent() looks at the touches of a kind only when both steps touched it and one wrote it,
  /// which rules most pairs out without reading their touches.
  uint32_t touched = 0, written = 0;
  static_assert(kTouchObjects <= 32, "a bit per object kind");
};

/// Who took the step. `hardware` and `returns` change a footprint (the caches record their own
/// touches); `device` and `cpu` say whose step it was.
struct StepActor {
  bool device = false;  ///< a device thread (its DMA goes through ATC/IOTLB)
  uint32_t cpu = 0;     ///< CPU of a CPU thread
  /// The step began at a hardware point (StepRecord::hardware): no kernel code ran in it, so an
  /// empty step touched nothing.
  bool hardware = false;
  /// An op that stored page-table entries returned in the step: where it stored
  /// (StepRecord::op_stores; empty: no such op). Only such an op can have opened a window (the
  /// detector names the store that made an entry stale), and every entry it can have opened one
  /// on lies inside these spans. Whether such a window closes, or an access goes through its
  /// entry, before or after this point is what after-return and used-after-return count, so the
  /// step is ordered against every fill, drop, eviction, access and store of a cached
  /// translation inside them.
  std::vector<OpStoreSpan> returns;
};

/// The translations cached anywhere, per mm and address, as the detector sees them: a fill adds
/// an entry, a drop or an eviction removes it. A PTE store opens windows on the entries its span
/// covers, and whether their frames are free decides the windows' class (detector.cpp,
/// open_window()): with this index a store's footprint reads those frames and no others.
class CachedEntries {
 public:
  void apply(const Event& e);
  /// Calls f(entry lo, entry hi, first frame, frames) for every leaf entry of `mm` intersecting
  /// [lo, hi), and every walk-cache entry too if `walk` (frames is 512 for a huge leaf entry
  /// only).
  template <class F>
  void entries(MmId mm, uint64_t lo, uint64_t hi, bool walk, F&& f) const {
    for (auto it = m_entries.lower_bound(Key{mm.value(), 0, 0, 0, 0, 0}); it != m_entries.end(); ++it) {
      if (std::get<0>(it->first) != mm.value()) break;
      const Entry& e = it->second;
      if (e.lo < hi && lo < e.hi && (walk || !e.walk)) f(e.lo, e.hi, e.pfn, e.frames);
    }
  }
  void clear() { m_entries.clear(); }

 private:
  /// mm, address, level, holder kind, holder index, tag: the detector's entry keys.
  using Key = std::tuple<uint16_t, uint64_t, uint8_t, uint8_t, uint16_t, uint32_t>;
  struct Entry {
    uint64_t lo, hi;
    Pfn pfn;
    uint64_t frames;
    bool walk;  ///< a walk-cache entry (points at a table)
  };
  std::map<Key, Entry> m_entries;
};

/// Footprint of a step that recorded `touches` and emitted `events`. The recorded touches are the
/// machine state the step read and wrote; the events add what the detector judges by their order
/// (a window opens at a store and closes at a drop). A step is hardware-only when it began at a
/// hardware point and every event it emitted is a load/store, a fault report, a cache fill or
/// eviction, or a hardware A/D update; any other step counts as kernel code. A step that began at
/// a hardware point and touched and emitted nothing (an access op starting) touched nothing.
/// `index`: the entries cached before the step, brought up to date through its events; without
/// it a PTE store reads every frame.
Footprint footprint(std::span<const Event> events, std::span<const Touch> touches, const StepActor& actor, CachedEntries* index = nullptr);
/// The same from the events alone (tests of the event part).
inline Footprint footprint(std::span<const Event> events, const StepActor& actor) { return footprint(events, {}, actor); }

/// The footprints of one run's steps, taken in order: keeps the CachedEntries of the events
/// before each step, so every store reads exactly the frames its windows depend on.
class StepFootprints {
 public:
  /// The step whose events are events[begin, end): `begin` at or after the last step's end.
  Footprint next(const std::vector<Event>& events, size_t begin, size_t end, std::span<const Touch> touches, const StepActor& actor);

 private:
  CachedEntries m_cached;
  size_t m_seen = 0;  ///< events applied to m_cached
};

/// The footprint of a step that could not finish (the model threw): dependent with every step.
Footprint footprint_of_everything();

/// True when the order of two steps of different threads may matter: some touch of one and some
/// touch of the other, of the same object kind, have keys that match and ranges that meet, and
/// one writes (two commuting writes do not conflict). Keys are joined by their sorted order and
/// a run of one key is cut short by its sorted `lo`, so few pairs are looked at.
bool dependent(const Footprint& a, const Footprint& b);
/// The same relation by looking at every pair of touches of the same object kind: the reference
/// dependent() is checked against on generated footprints (tests/scenarios/footprint_test.cpp).
bool dependent_by_every_pair(const Footprint& a, const Footprint& b);

}  // namespace tlbsim::scenarios
