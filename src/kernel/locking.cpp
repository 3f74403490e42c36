// SPDX-License-Identifier: MIT
#include "kernel/locking.h"

namespace tlbsim::kernel {

namespace {
void emit(Kernel& k, EventKind kind, const SimLock& l, const char* func) {
  if (!k.bus().active()) return;
  Event e{.kind = kind, .func = func};
  e.note = l.name();
  k.bus().emit(std::move(e));
}
int tid() {
  ThreadState* t = current_thread();
  return t ? t->id : 0;
}
}  // namespace

bool LockAwaiter::await_ready() const {
  const ThreadState* t = current_thread();
  return !t || (t->sync && m_l.can_acquire(m_mode));
}

void LockAwaiter::await_suspend(std::coroutine_handle<> h) {
  SimLock& l = m_l;
  const LockMode m = m_mode;
  wait_until(std::string(m_func) + " " + l.name(), [&l, m] { return l.can_acquire(m); }).await_suspend(h);
}

void LockAwaiter::await_resume() {
  if (ThreadState* t = current_thread()) t->ready = nullptr;
  m_l.acquire(tid(), m_mode);
  emit(m_k, EventKind::Lock, m_l, m_func);
}

void QuietLockAwaiter::await_suspend(std::coroutine_handle<> h) {
  SimLock& l = m_l;
  wait_until(std::string(m_func) + " " + l.name(), [&l] { return l.can_acquire(LockMode::Write); }).await_suspend(h);
}

void QuietLockAwaiter::await_resume() {
  if (ThreadState* t = current_thread()) t->ready = nullptr;
  m_l.acquire(tid(), LockMode::Write);
}

void quiet_unlock(SimLock& l) { l.release(tid(), LockMode::Write); }

bool TryLockAwaiter::await_ready() const {
  const ThreadState* t = current_thread();
  return !t || t->sync;
}

void TryLockAwaiter::await_suspend(std::coroutine_handle<> h) { yield_point(std::string(m_func) + " " + m_l.name()).await_suspend(h); }

bool TryLockAwaiter::await_resume() {
  if (!m_l.try_acquire(tid(), m_mode)) return false;
  emit(m_k, EventKind::Lock, m_l, m_func);
  return true;
}

void unlock(Kernel& k, SimLock& l, LockMode m, const char* func) {
  l.release(tid(), m);
  emit(k, EventKind::Unlock, l, func);
}

void mmap_write_downgrade(Kernel& k, AddressSpace& mm) {
  mm.mmap_lock.downgrade(tid());
  emit(k, EventKind::Unlock, mm.mmap_lock, "mmap_write_downgrade");
}

void trace_call(Kernel& k, const char* func, MmId mm, VaRange range) {
  if (!k.bus().active()) return;
  Event e{.kind = EventKind::Call, .mm = mm, .func = func};
  e.va = range.lo();
  e.end = range.hi();
  k.bus().emit(std::move(e));
}

}  // namespace tlbsim::kernel
