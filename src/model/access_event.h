// SPDX-License-Identifier: MIT
#pragma once
/// What a translated access or a fault leaves for the detector and the explorer, CPU and device
/// alike: the touches a step taking it records and, when someone listens, its event.
#include <cstdint>

#include "model/event.h"
#include "model/types.h"

namespace tlbsim {

/// Whether the entries covering `va` allow the access when it happens (and, for an access, the
/// frame it lands in): a step taking an access or a fault reads them.
void touch_access(MmId mm, Vaddr va, bool write, Pfn pfn);

/// An access through a translation: a CPU load or store, a device's DMA.
struct TranslatedAccess {
  MmId mm;
  uint32_t tag = 0;  ///< ASID/PCID or PASID
  Vaddr va;
  bool write = false;
  Pfn pfn = kNoPfn;
  Holder via;  ///< the cache that served it, or none for a walk from the root
  /// Through a walk cache: the level of its entry the walk resumed from, so the detector finds
  /// that entry; 0 when a StaleTableWalk event reported that walk already.
  uint8_t walk_level = 0;
  const char* func = "";  ///< "load", "DMA write", ...
  uint32_t aux = 0;       ///< the device's id for a DMA
  const char* note = nullptr;
};

/// touch_access(), then an Access event if the bus has listeners.
void emit_access(EventBus& bus, const TranslatedAccess& a);

}  // namespace tlbsim
