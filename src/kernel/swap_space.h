// SPDX-License-Identifier: MIT
#pragma once
/// The swap device and its swap cache (mm/swapfile.c, mm/swap_state.c), as far as TLB coherence
/// needs them. A slot keeps the content version of the page written to it (swap_writepage()),
/// swap_map's count of the swap PTEs that refer to it, and the page of the swap cache, if any:
/// the page being swapped out, or the one a slot was read back into while other swap PTEs still
/// refer to it. The slots are the swapper address space's page cache: each accessor records
/// what it touched as file 0's slot (model/touch.h).
#include <cstdint>
#include <map>

#include "model/touch.h"
#include "model/types.h"

namespace tlbsim::kernel {

struct SwapSlot {
  uint32_t content = 0;  ///< the content version swap_writepage() wrote
  bool written = false;  ///< swap_writepage() ran
  uint32_t count = 0;    ///< swap PTEs that refer to the slot (swap_map, without SWAP_HAS_CACHE)
  Pfn cache = kNoPfn;    ///< the swap cache's page for the slot
  bool used() const { return count > 0 || cache != kNoPfn; }
};

class SwapSpace {
 public:
  /// The touch key of the swap cache: file ids start at 1.
  static constexpr uint64_t kTouchKey = 0;

  SwapSlot slot(uint64_t s) const {
    touch::read(Touch::Obj::File, kTouchKey, s, s + 1);
    auto it = m_slots.find(s);
    return it == m_slots.end() ? SwapSlot{} : it->second;
  }
  /// A slot nothing uses any more is freed (swap_entry_free()).
  void set(uint64_t s, const SwapSlot& v) {
    touch::write(Touch::Obj::File, kTouchKey, s, s + 1);
    if (v.used())
      m_slots[s] = v;
    else
      m_slots.erase(s);
  }
  size_t slots_in_use() const { return m_slots.size(); }

 private:
  std::map<uint64_t, SwapSlot> m_slots;
};

}  // namespace tlbsim::kernel
