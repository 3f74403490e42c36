// SPDX-License-Identifier: MIT
#include "kernel/mmu_notifier.h"

#include <algorithm>

#include "kernel/locking.h"

namespace tlbsim::kernel {

namespace {
void emit(Kernel& k, const AddressSpace& mm, const char* func, const char* what, VaRange range) {
  EventBus& bus = k.bus();
  if (!bus.active()) return;
  Event e{.kind = EventKind::Notifier, .mm = mm.id(), .func = func};
  e.va = range.lo();
  e.end = range.hi();
  e.note = what;
  bus.emit(std::move(e));
}
}  // namespace

bool mm_has_notifiers(Kernel& k, const AddressSpace& mm) { return !k.notifiers(mm.id()).empty(); }

void mmu_notifier_invalidate_range_start(Kernel& k, AddressSpace& mm, VaRange range, const char* site) {
  if (!mm_has_notifiers(k, mm)) return;
  emit(k, mm, site, "mmu_notifier_invalidate_range_start", range);
  for (auto& s : k.notifiers(mm.id())) s->invalidate_range_start(k, mm, range);
}

Task<> mmu_notifier_invalidate_range_end(Kernel& k, AddressSpace& mm, VaRange range, const char* site) {
  if (!mm_has_notifiers(k, mm)) co_return;
  emit(k, mm, site, "mmu_notifier_invalidate_range_end", range);
  // By index, as the kernel walks its list under SRCU: a subscriber may wait for its hardware,
  // and another thread's exit_mmap() may unhook the list meanwhile (the objects stay alive).
  for (size_t i = 0; i < k.notifiers(mm.id()).size(); ++i) {
    SecondaryMmu& s = *k.notifiers(mm.id())[i];
    if (k.policy().sec_inv_from_range_end) {
      emit(k, mm, "mn_hlist_invalidate_end", "invalidate_range", range);
      co_await s.invalidate_secondary_tlbs(k, mm, range);
    }
    s.invalidate_range_end(k, mm, range);
  }
}

void mmu_notifier_invalidate_range_only_end(Kernel& k, AddressSpace& mm, VaRange range, const char* site) {
  if (!mm_has_notifiers(k, mm)) return;
  emit(k, mm, site, "mmu_notifier_invalidate_range_only_end", range);
  for (auto& s : k.notifiers(mm.id())) s->invalidate_range_end(k, mm, range);
}

Task<> mmu_notifier_invalidate_range(Kernel& k, AddressSpace& mm, VaRange range, const char* site) {
  if (!mm_has_notifiers(k, mm)) co_return;
  emit(k, mm, site, "invalidate_range", range);
  for (size_t i = 0; i < k.notifiers(mm.id()).size(); ++i) co_await k.notifiers(mm.id())[i]->invalidate_secondary_tlbs(k, mm, range);
}

Task<> mmu_notifier_arch_invalidate_secondary_tlbs(Kernel& k, AddressSpace& mm, VaRange range, const char* site) {
  if (!mm_has_notifiers(k, mm)) co_return;
  emit(k, mm, site, "arch_invalidate_secondary_tlbs", range);
  for (size_t i = 0; i < k.notifiers(mm.id()).size(); ++i) co_await k.notifiers(mm.id())[i]->invalidate_secondary_tlbs(k, mm, range);
}

Task<> mmu_notifier_register(Kernel& k, AddressSpace& mm, std::unique_ptr<SecondaryMmu> s) {
  co_await mmap_write_lock(k, mm);
  // mm_take_all_locks(): the mappings' i_mmap_rwsem first, then the anon_vmas' rwsem, each once.
  std::vector<SimLock*> held;
  auto take = [&held](SimLock& l) {
    if (std::find(held.begin(), held.end(), &l) != held.end()) return false;
    held.push_back(&l);
    return true;
  };
  std::vector<Vma> vmas;
  for (const Vma& v : mm.vmas()) vmas.push_back(v);
  for (const Vma& v : vmas)
    if (v.file && take(k.file(v.file).i_mmap_rwsem)) co_await lock(k, *held.back(), LockMode::Write, "mm_take_all_locks");
  for (const Vma& v : vmas)
    if (v.anon_vma && take(k.anon_vma_lock(v.anon_vma))) co_await lock(k, *held.back(), LockMode::Write, "mm_take_all_locks");
  k.register_notifier(mm.id(), std::move(s));
  for (auto it = held.rbegin(); it != held.rend(); ++it) unlock(k, **it, LockMode::Write, "mm_drop_all_locks");
  mmap_write_unlock(k, mm);
}

Task<> mmu_notifier_release(Kernel& k, AddressSpace& mm) {
  if (!mm_has_notifiers(k, mm)) co_return;
  emit(k, mm, "exit_mmap", "mmu_notifier_release", VaRange::all());
  for (size_t i = 0; i < k.notifiers(mm.id()).size(); ++i) co_await k.notifiers(mm.id())[i]->release(k, mm);
  // mn_hlist_release(): after every ->release(), each subscription is taken off the list, so
  // exit_mmap()'s unmap and flushes that follow call no notifier.
  k.unhook_notifiers(mm.id());
}

}  // namespace tlbsim::kernel
