// SPDX-License-Identifier: MIT
#pragma once
/// What one scheduler step touched, derived from the events it emitted, and when two steps are
/// dependent (their order may matter). The explorer permutes only dependent steps. See
/// docs/explore.md for the relation and why it is sound.
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "model/event.h"

namespace tlbsim::scenarios {

/// One object a step read or wrote. Ranges are half-open; a wildcard key matches every key.
struct Touch {
  enum class Obj : uint8_t {
    Kernel,     ///< unevented kernel state (refcounts, tlb_flush_pending, rmap, VMAs): all kernel steps
    PtRange,    ///< page-table entries of mm `key` covering [lo, hi) at any level
    Frame,      ///< a physical frame (contents, allocation state) `key`
    Allocator,  ///< the page allocator's free lists (reuse order)
    Cache,      ///< translation caches of one side: key = holder class + index
    Lock,       ///< a lock, by a stable (FNV-1a) hash of its name
    Notifier,   ///< mmu_notifier state of mm `key` (invalidate counts, secondary MMU sequences)
  } obj = Obj::Kernel;
  bool write = false;
  uint64_t key = 0;
  uint64_t lo = 0, hi = ~uint64_t{0};
};
inline constexpr uint64_t kAnyKey = ~uint64_t{0};

/// The footprint of a step: what it touched and whether it ran kernel code.
struct Footprint {
  std::vector<Touch> touches;  ///< sorted by object kind (then key, range, mode), no duplicates
  bool kernel = false;  ///< ran kernel code (or emitted nothing): conflicts with every other kernel step
  /// touches[group[o], group[o + 1]) are those of object kind o.
  std::array<uint32_t, 8> group{};
};

/// Who took the step, as the explorer needs it to name the caches a hardware access consults.
struct StepActor {
  bool device = false;  ///< a device thread (its DMA goes through ATC/IOTLB)
  uint32_t cpu = 0;     ///< CPU of a CPU thread
  /// The step began at a hardware point (StepRecord::hardware): no kernel code ran in it, so an
  /// empty step touched nothing.
  bool hardware = false;
};

/// Footprint of a step that emitted `events`. A step is hardware-only when it began at a
/// hardware point and every event it emitted is a load/store, a fault report, a cache fill or
/// eviction, or a hardware A/D update; any other step counts as kernel code. A step that began at
/// a hardware point and emitted nothing (an access op starting) touched nothing.
Footprint footprint(std::span<const Event> events, const StepActor& actor);

/// The footprint of a step that could not finish (the model threw): dependent with every step.
Footprint footprint_of_everything();

/// True when the order of two steps of different threads may matter.
bool dependent(const Footprint& a, const Footprint& b);

}  // namespace tlbsim::scenarios
