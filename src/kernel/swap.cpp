// SPDX-License-Identifier: MIT
#include "kernel/swap.h"

#include <optional>
#include <string>

#include "kernel/page.h"
#include "model/check.h"

namespace tlbsim::kernel {

uint64_t add_to_swap(Kernel& k, Pfn page) {
  Frame& f = k.mem().frame_mut(page);
  if (const std::optional<uint64_t> cached = k.mem().swap_cache(page)) return *cached;
  // A swap PTE holds 40 bits of offset (Pte::swp_offset()).
  constexpr uint64_t kSlots = uint64_t{1} << 40;
  uint64_t slot = ((uint64_t{f.owner} << 24) | (f.aux & 0xffffffu)) & (kSlots - 1);
  while (k.swap().slot(slot).used()) slot = (slot + 1) & (kSlots - 1);
  SwapSlot s;
  s.cache = page;
  k.swap().set(slot, s);
  k.mem().set_swap_cache(page, slot);
  get_page(k, page);  // the swap cache's reference
  return slot;
}

void delete_from_swap_cache(Kernel& k, Pfn page, const char* func) {
  const std::optional<uint64_t> cached = k.mem().swap_cache(page);
  TLBSIM_CHECK(cached, "delete_from_swap_cache: pfn " << page.value() << " is in no swap cache");
  const uint64_t slot = *cached;
  SwapSlot s = k.swap().slot(slot);
  s.cache = kNoPfn;
  k.swap().set(slot, s);
  k.mem().clear_swap_cache(page);
  put_page(k, page, func);
}

void swap_duplicate(Kernel& k, uint64_t slot) {
  SwapSlot s = k.swap().slot(slot);
  ++s.count;
  k.swap().set(slot, s);
}

void swap_free(Kernel& k, uint64_t slot, const char* func) {
  SwapSlot s = k.swap().slot(slot);
  TLBSIM_CHECK(s.count > 0, "swap_free: slot " << slot << " has no swap PTE left");
  --s.count;
  k.swap().set(slot, s);
  if (s.count == 0 && s.cache != kNoPfn && !k.mem().frame(s.cache).isolated) delete_from_swap_cache(k, s.cache, func);
}

void free_swap_cache(Kernel& k, Pfn page) {
  const Frame& f = k.mem().frame(page);
  if (!f.swapcache || f.isolated || k.mem().mapcount(page)) return;
  if (k.swap().slot(*k.mem().swap_cache(page)).count == 0) delete_from_swap_cache(k, page, "free_swap_cache");
}

void swap_writepage(Kernel& k, Pfn page, uint64_t slot) {
  SwapSlot s = k.swap().slot(slot);
  s.content = k.mem().content(page);
  s.written = true;
  k.swap().set(slot, s);
  if (!k.bus().active()) return;
  Event e{.kind = EventKind::Copy, .func = "swap_writepage"};
  e.pfn = page;
  e.note = "swap slot " + hex(slot);
  k.bus().emit(std::move(e));
}

}  // namespace tlbsim::kernel
