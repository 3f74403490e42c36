// SPDX-License-Identifier: MIT
#include "scenarios/footprint_table.h"

#include <utility>

namespace tlbsim::scenarios {

namespace {

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h;
}

uint64_t hash_of(const Footprint& f) {
  uint64_t h = f.kernel ? 1 : 2;
  for (const Touch& t : f.touches) {
    h = mix(h, static_cast<uint64_t>(t.obj) << 2 | (t.commutes ? 2 : 0) | (t.write ? 1 : 0));
    h = mix(h, t.key);
    h = mix(h, t.lo);
    h = mix(h, t.hi);
  }
  return h;
}

bool same(const Footprint& a, const Footprint& b) {
  if (a.kernel != b.kernel || a.touches.size() != b.touches.size()) return false;
  for (size_t i = 0; i < a.touches.size(); ++i) {
    const Touch& x = a.touches[i];
    const Touch& y = b.touches[i];
    if (x.obj != y.obj || x.write != y.write || x.commutes != y.commutes || x.key != y.key || x.lo != y.lo || x.hi != y.hi) return false;
  }
  // group[] is derived from touches, so equal touches give equal groups.
  return true;
}

}  // namespace

FootprintTable::FootprintTable() { intern(Footprint{}); }

FootprintId FootprintTable::intern(Footprint f) {
  std::vector<FootprintId>& bucket = m_by_hash[hash_of(f)];
  for (FootprintId id : bucket)
    if (same(m_fps[id], f)) return id;
  const auto id = static_cast<FootprintId>(m_fps.size());
  m_fps.push_back(std::move(f));
  m_dep.emplace_back(static_cast<size_t>(id) + 1, int8_t{-1});
  bucket.push_back(id);
  return id;
}

}  // namespace tlbsim::scenarios
