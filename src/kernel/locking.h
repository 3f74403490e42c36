// SPDX-License-Identifier: MIT
#pragma once
/// Taking a lock is a scheduling point: the thread suspends and runs again only once the lock is
/// free, so locks constrain schedules exactly as in the kernel. Releases emit Unlock events.
#include "kernel/kernel.h"
#include "kernel/task.h"

namespace tlbsim::kernel {

/// spin_lock()/down_read()/down_write() on `l`, on behalf of the current thread: `co_await
/// lock(...)`. Under a scheduler the thread always suspends first (another thread may take the
/// lock before it); under run_sync() a free lock is taken without suspending.
class LockAwaiter {
 public:
  LockAwaiter(Kernel& k, SimLock& l, LockMode m, const char* func) : m_k(k), m_l(l), m_mode(m), m_func(func) {}
  bool await_ready() const;
  void await_suspend(std::coroutine_handle<> h);
  void await_resume();

 private:
  Kernel& m_k;
  SimLock& m_l;
  LockMode m_mode;
  const char* m_func;
};

inline LockAwaiter lock(Kernel& k, SimLock& l, LockMode m, const char* func) { return LockAwaiter(k, l, m, func); }
void unlock(Kernel& k, SimLock& l, LockMode m, const char* func);

/// A driver spinlock held across a wait that may suspend (an IOMMU driver's lock around its
/// invalidation and completion wait): `co_await quiet_lock(...)`. Taking it when free is no
/// scheduling point and emits nothing, since no other thread can tell; the model needs it only so
/// that a thread suspended inside (complete_batch()) keeps another out until quiet_unlock(). Held,
/// the thread waits for it as lock() does.
class QuietLockAwaiter {
 public:
  QuietLockAwaiter(SimLock& l, const char* func) : m_l(l), m_func(func) {}
  bool await_ready() const { return m_l.can_acquire(LockMode::Write); }
  void await_suspend(std::coroutine_handle<> h);
  void await_resume();

 private:
  SimLock& m_l;
  const char* m_func;
};
inline QuietLockAwaiter quiet_lock(SimLock& l, const char* func) { return QuietLockAwaiter(l, func); }
void quiet_unlock(SimLock& l);

/// down_write_trylock()/spin_trylock() on `l`: `if (co_await trylock(...))`. A scheduling point
/// labelled like lock() (another thread may take the lock first), but the thread is runnable
/// whatever the lock's state: the attempt fails, emitting nothing, if the lock is not available
/// when the thread runs. A success emits the same Lock event as lock().
class TryLockAwaiter {
 public:
  TryLockAwaiter(Kernel& k, SimLock& l, LockMode m, const char* func) : m_k(k), m_l(l), m_mode(m), m_func(func) {}
  bool await_ready() const;
  void await_suspend(std::coroutine_handle<> h);
  bool await_resume();

 private:
  Kernel& m_k;
  SimLock& m_l;
  LockMode m_mode;
  const char* m_func;
};

inline TryLockAwaiter trylock(Kernel& k, SimLock& l, LockMode m, const char* func) { return TryLockAwaiter(k, l, m, func); }

inline LockAwaiter mmap_read_lock(Kernel& k, AddressSpace& mm) { return lock(k, mm.mmap_lock, LockMode::Read, "mmap_read_lock"); }
inline LockAwaiter mmap_write_lock(Kernel& k, AddressSpace& mm) { return lock(k, mm.mmap_lock, LockMode::Write, "mmap_write_lock"); }
/// mmap_write_trylock() (include/linux/mmap_lock.h: down_write_trylock() of mmap_lock).
inline TryLockAwaiter mmap_write_trylock(Kernel& k, AddressSpace& mm) {
  return trylock(k, mm.mmap_lock, LockMode::Write, "mmap_write_trylock");
}
inline void mmap_read_unlock(Kernel& k, AddressSpace& mm) { unlock(k, mm.mmap_lock, LockMode::Read, "mmap_read_unlock"); }
inline void mmap_write_unlock(Kernel& k, AddressSpace& mm) { unlock(k, mm.mmap_lock, LockMode::Write, "mmap_write_unlock"); }
/// mmap_write_downgrade(): munmap keeps a read lock for unmap_region() (dd2283f2605e).
void mmap_write_downgrade(Kernel& k, AddressSpace& mm);

/// Emit a Call event: which kernel function a thread entered (for witness stories).
void trace_call(Kernel& k, const char* func, MmId mm = kNoMm, VaRange range = {});

}  // namespace tlbsim::kernel
