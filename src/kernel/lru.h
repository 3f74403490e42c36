// SPDX-License-Identifier: MIT
#pragma once
/// Taking pages off the LRU for migration or reclaim, and putting them back (mm/vmscan.c,
/// mm/compaction.c, include/linux/mm.h, v6.0). An isolated page carries the isolator's
/// reference, so nothing else can free it: when every other user has let go, the isolator's
/// own put is the last one and frees it. A page already isolated (PG_lru clear) cannot be
/// isolated a second time, so two migrations, or a migration and reclaim, never work on one
/// page together. Frame::isolated is PG_lru's complement.
#include "kernel/kernel.h"

namespace tlbsim::kernel {

/// PageLRU(): an allocated anonymous or page-cache page that nobody has isolated.
bool page_lru(Kernel& k, Pfn page);
/// get_page_unless_zero(): a reference, unless the page is already free (refcount 0).
bool get_page_unless_zero(Kernel& k, Pfn page);
/// TestClearPageLRU(): clear PG_lru, true if this call cleared it; the caller holds a
/// reference (in the kernel the release path relies on that order).
bool test_clear_page_lru(Kernel& k, Pfn page);
/// A page fresh from the allocator: PG_lru is clear until its path calls folio_add_lru(), so
/// reclaim and compaction cannot isolate it while the path still holds it privately (a
/// migration target until putback_lru_page(), even once remove_migration_ptes() has mapped it;
/// a COW copy or a swapped-in page until it is mapped). The model's PhysMem::alloc() leaves a
/// page on the LRU, so every path that keeps a new page across a scheduling point calls this.
void new_page_off_lru(Kernel& k, Pfn page);
/// folio_add_lru() (lru_cache_add_inactive_or_unevictable()): a page from new_page_off_lru()
/// joins the LRU; the caller keeps its reference.
void folio_add_lru(Kernel& k, Pfn page);
/// putback_lru_page(): back on the LRU, then put_page() of the isolation reference (the last
/// put frees the page).
void putback_lru_page(Kernel& k, Pfn page, const char* func);

}  // namespace tlbsim::kernel
