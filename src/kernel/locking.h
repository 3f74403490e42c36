// SPDX-License-Identifier: MIT
#pragma once
/// Taking a lock is a scheduling point: the thread suspends and runs again only once the lock is
/// free, so locks constrain schedules exactly as in the kernel. Releases emit Unlock events.
#include "kernel/kernel.h"
#include "kernel/task.h"

namespace tlbsim::kernel {

/// spin_lock()/down_read()/down_write() on `l`, on behalf of the current thread.
Task<> lock(Kernel& k, SimLock& l, LockMode m, const char* func);
void unlock(Kernel& k, SimLock& l, LockMode m, const char* func);

inline Task<> mmap_read_lock(Kernel& k, AddressSpace& mm) { return lock(k, mm.mmap_lock, LockMode::Read, "mmap_read_lock"); }
inline Task<> mmap_write_lock(Kernel& k, AddressSpace& mm) { return lock(k, mm.mmap_lock, LockMode::Write, "mmap_write_lock"); }
inline void mmap_read_unlock(Kernel& k, AddressSpace& mm) { unlock(k, mm.mmap_lock, LockMode::Read, "mmap_read_unlock"); }
inline void mmap_write_unlock(Kernel& k, AddressSpace& mm) { unlock(k, mm.mmap_lock, LockMode::Write, "mmap_write_unlock"); }
/// mmap_write_downgrade(): munmap keeps a read lock for unmap_region() (dd2283f2605e).
void mmap_write_downgrade(Kernel& k, AddressSpace& mm);

/// Emit a Call event: which kernel function a thread entered (for witness stories).
void trace_call(Kernel& k, const char* func, MmId mm = kNoMm, uint64_t start = 0, uint64_t end = 0);

}  // namespace tlbsim::kernel
