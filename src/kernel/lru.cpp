// SPDX-License-Identifier: MIT
#include "kernel/lru.h"

#include "kernel/page.h"

namespace tlbsim::kernel {

bool page_lru(Kernel& k, Pfn page) {
  const Frame& f = k.mem().frame(page);
  return f.allocated && !f.isolated && (f.kind == FrameKind::Anon || f.kind == FrameKind::File);
}

bool get_page_unless_zero(Kernel& k, Pfn page) {
  if (k.mem().refcount(page) == 0) return false;  // a free frame: its count is zero
  get_page(k, page);
  return true;
}

bool test_clear_page_lru(Kernel& k, Pfn page) {
  if (!page_lru(k, page)) return false;
  k.mem().frame_mut(page).isolated = true;
  return true;
}

void new_page_off_lru(Kernel& k, Pfn page) { k.mem().frame_mut(page).isolated = true; }

void folio_add_lru(Kernel& k, Pfn page) { k.mem().frame_mut(page).isolated = false; }

void putback_lru_page(Kernel& k, Pfn page, const char* func) {
  folio_add_lru(k, page);
  put_page(k, page, func);
}

}  // namespace tlbsim::kernel
