// SPDX-License-Identifier: MIT
#pragma once
/// Locks a schedule can contend on: mmap_lock (an rwsem), page-table locks (spinlocks, one per
/// table page, as split PTE/PMD ptlocks), rmap locks (i_mmap_rwsem / anon_vma lock). The model
/// only records ownership; the scheduler blocks a thread whose next step needs a held lock.
#include <cstdint>
#include <string>

#include "model/check.h"
#include "model/touch.h"

namespace tlbsim {

enum class LockMode : uint8_t { Read, Write };

class SimLock {
 public:
  explicit SimLock(std::string name = {}) : m_name(std::move(name)), m_key(touch_key(m_name)) {}
  const std::string& name() const { return m_name; }
  bool can_acquire(LockMode m) const {
    touch::record(Touch::Obj::Lock, false, m_key);
    return m_writer < 0 && (m == LockMode::Read || m_readers == 0);
  }
  /// Taking or dropping the lock for read is recorded as a read of it, for write as a write:
  /// readers commute with each other (the count ends the same in either order), and a writer is
  /// ordered against every reader and writer, which is what can enable or disable it.
  void acquire(int thread, LockMode m) {
    touch::record(Touch::Obj::Lock, m == LockMode::Write, m_key);
    TLBSIM_CHECK(can_acquire(m), "lock " << m_name << " is not available to thread " << thread);
    if (m == LockMode::Write)
      m_writer = thread;
    else
      ++m_readers;
  }
  /// down_write_trylock()/down_read_trylock()/spin_trylock(): take the lock if it is available
  /// now, never wait. Success is recorded as acquire() records it. A failure changes nothing,
  /// but its outcome must stay ordered against every step that could have changed it: a lock
  /// held by a writer becomes available only through that writer's release (a write), so a
  /// read is enough; a write attempt that fails on readers would succeed once their count is
  /// zero, and readers take and drop the lock as reads, which commute with reads, so the failed
  /// attempt is recorded as a write.
  bool try_acquire(int thread, LockMode m) {
    if (can_acquire(m)) {
      acquire(thread, m);
      return true;
    }
    touch::record(Touch::Obj::Lock, m == LockMode::Write && m_writer < 0, m_key);
    return false;
  }
  /// downgrade_write(): the writer keeps the lock as a reader (munmap since dd2283f2605e).
  void downgrade(int thread) {
    touch::write(Touch::Obj::Lock, m_key);
    TLBSIM_CHECK(m_writer == thread, "downgrade of " << m_name << " by a non-owner");
    m_writer = -1;
    ++m_readers;
  }
  void release(int thread, LockMode m) {
    touch::record(Touch::Obj::Lock, m == LockMode::Write, m_key);
    if (m == LockMode::Write) {
      TLBSIM_CHECK(m_writer == thread, "unlock of " << m_name << " by a non-owner (thread " << thread << ")");
      m_writer = -1;
    } else {
      TLBSIM_CHECK(m_readers > 0, "read unlock of " << m_name << " with no readers");
      --m_readers;
    }
  }
  bool held() const { return m_writer >= 0 || m_readers > 0; }
  int writer() const { return m_writer; }
  int readers() const { return m_readers; }
  /// The lock's object in a footprint: a 64-bit FNV-1a hash of its name, the same on every
  /// platform (so execution counts do not depend on std::hash). A collision only makes two
  /// locks look like one, which adds dependencies.
  static uint64_t touch_key(const std::string& name) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : name) h = (h ^ c) * 0x100000001b3ull;
    return h & ~(uint64_t{1} << 63);
  }

 private:
  std::string m_name;
  uint64_t m_key;
  int m_writer = -1;
  int m_readers = 0;
};

}  // namespace tlbsim
