// SPDX-License-Identifier: MIT
#pragma once
/// What one scheduler step touched, as the model's accessors recorded it (model/touch.h) and as
/// the events it emitted tell the detector, and when two steps are dependent (their order may
/// matter). The explorer permutes only dependent steps. See docs/explore.md for the relation and
/// why it is sound.
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "model/event.h"
#include "model/touch.h"

namespace tlbsim::scenarios {

/// The footprint of a step: what it touched and whether it ran kernel code.
struct Footprint {
  std::vector<Touch> touches;  ///< sorted by object kind (then key, range, mode), no duplicates
  /// Ran kernel code (did not begin at a hardware point, or emitted more than hardware events).
  /// Informational: dependence is decided by the touches alone.
  bool kernel = false;
  /// touches[group[o], group[o + 1]) are those of object kind o.
  std::array<uint32_t, kTouchObjects + 1> group{};
};

/// Who took the step, as the explorer needs it to name the caches a hardware access consults.
struct StepActor {
  bool device = false;  ///< a device thread (its DMA goes through ATC/IOTLB)
  uint32_t cpu = 0;     ///< CPU of a CPU thread
  /// The step began at a hardware point (StepRecord::hardware): no kernel code ran in it, so an
  /// empty step touched nothing.
  bool hardware = false;
};

/// Footprint of a step that recorded `touches` and emitted `events`. The recorded touches are the
/// machine state the step read and wrote; the events add what the detector judges by their order
/// (a window opens at a store and closes at a drop). A step is hardware-only when it began at a
/// hardware point and every event it emitted is a load/store, a fault report, a cache fill or
/// eviction, or a hardware A/D update; any other step counts as kernel code. A step that began at
/// a hardware point and touched and emitted nothing (an access op starting) touched nothing.
Footprint footprint(std::span<const Event> events, std::span<const Touch> touches, const StepActor& actor);
/// The same from the events alone (tests of the event part).
inline Footprint footprint(std::span<const Event> events, const StepActor& actor) { return footprint(events, {}, actor); }

/// The footprint of a step that could not finish (the model threw): dependent with every step.
Footprint footprint_of_everything();

/// True when the order of two steps of different threads may matter.
bool dependent(const Footprint& a, const Footprint& b);

}  // namespace tlbsim::scenarios
