// SPDX-License-Identifier: MIT
#include "model/access_event.h"

#include "model/touch.h"

namespace tlbsim {

void touch_access(MmId mm, Vaddr va, bool write, Pfn pfn) {
  touch::read(Touch::Obj::PtRange, mm.value(), va.value(), va.value() + 1);
  // Below the PGD, a kernel address's entries are init_mm's, and the kernel's stores to them are
  // named by init_mm: the detector reads them through every mm's shared PGD entries.
  if (is_kernel_half(va.value()) && mm != kInitMm) touch::read(Touch::Obj::PtRange, kInitMm.value(), va.value(), va.value() + 1);
  touch::frame(write, pfn);
}

void emit_access(EventBus& bus, const TranslatedAccess& a) {
  touch_access(a.mm, a.va, a.write, a.pfn);
  if (!bus.active()) return;
  Event e{.kind = EventKind::Access,
          .flags = uint8_t((a.write ? kEvWrite : 0) | (a.via.kind != HolderKind::None ? kEvCached : 0)),
          .level = a.walk_level,
          .holder = a.via,
          .mm = a.mm,
          .tag = a.tag,
          .func = a.func};
  e.va = a.va.value();
  e.pfn = a.pfn;
  e.aux = a.aux;
  if (a.note) e.note = a.note;
  bus.emit(std::move(e));
}

}  // namespace tlbsim
