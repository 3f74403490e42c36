// SPDX-License-Identifier: MIT
// SimLock (model/lock.h): what a trylock takes and what it records for the explorer's
// dependency relation (docs/explore.md): a success like a blocking acquire, a failure as the
// read or write that keeps it ordered against the step that could make it succeed.
#include <catch2/catch.hpp>

#include <algorithm>

#include "model/lock.h"

namespace tlbsim {
namespace {

bool records(const std::vector<Touch>& ts, bool write, uint64_t key) {
  return std::any_of(ts.begin(), ts.end(), [&](const Touch& t) { return t.obj == Touch::Obj::Lock && t.write == write && t.key == key; });
}

}  // namespace

TEST_CASE("a trylock of a free lock takes it and records what a blocking acquire records", "[model][lock]") {
  SimLock l("mm.mmap_lock");
  std::vector<Touch> ts;
  {
    TouchScope scope(ts);
    CHECK(l.try_acquire(1, LockMode::Write));
  }
  CHECK(l.writer() == 1);
  CHECK(records(ts, true, SimLock::touch_key(l.name())));
  l.release(1, LockMode::Write);
  ts.clear();
  {
    TouchScope scope(ts);
    CHECK(l.try_acquire(2, LockMode::Read));
  }
  CHECK(l.readers() == 1);
  CHECK(records(ts, false, SimLock::touch_key(l.name())));
  CHECK_FALSE(records(ts, true, SimLock::touch_key(l.name())));
}

TEST_CASE("a trylock that fails on a writer changes nothing and records a read of the lock", "[model][lock]") {
  // Only the writer's release (a write) can make it succeed.
  SimLock l("mm.mmap_lock");
  l.acquire(1, LockMode::Write);
  const LockMode m = GENERATE(LockMode::Read, LockMode::Write);
  std::vector<Touch> ts;
  {
    TouchScope scope(ts);
    CHECK_FALSE(l.try_acquire(2, m));
  }
  CHECK(l.writer() == 1);
  CHECK(l.readers() == 0);
  CHECK(records(ts, false, SimLock::touch_key(l.name())));
  CHECK_FALSE(records(ts, true, SimLock::touch_key(l.name())));
}

TEST_CASE("a write trylock that fails on readers records a write, ordering it against their reads", "[model][lock]") {
  // Readers take and drop the lock as reads, which commute with reads: recorded as a read, the
  // failed attempt would look independent of the last reader's release that decides it.
  SimLock l("mm.mmap_lock");
  l.acquire(1, LockMode::Read);
  std::vector<Touch> ts;
  {
    TouchScope scope(ts);
    CHECK_FALSE(l.try_acquire(2, LockMode::Write));
    CHECK(l.try_acquire(3, LockMode::Read));
  }
  CHECK(l.readers() == 2);
  CHECK(l.writer() == -1);
  CHECK(records(ts, true, SimLock::touch_key(l.name())));
}

}  // namespace tlbsim
