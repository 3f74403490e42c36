// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>

#include "scenarios/footprint_table.h"

using namespace tlbsim;
using namespace tlbsim::scenarios;

namespace {

Event pte_store(uint64_t va) {
  Event e{.kind = EventKind::PteStore, .level = 1, .mm = MmId{0}, .func = "zap_pte_range"};
  e.va = va;
  e.end = va + 0x1000;
  e.pfn = Pfn{7};
  return e;
}

Event device_read(uint64_t va, uint32_t pfn) {
  Event e{.kind = EventKind::Access, .holder = Holder{HolderKind::Atc, 0}, .mm = MmId{0}, .func = "load"};
  e.va = va;
  e.pfn = Pfn{pfn};
  return e;
}

Event hw_ad_update(uint64_t va) {
  Event e = pte_store(va);
  e.func = "hardware A/D update";
  return e;
}

const StepActor kDevice{.device = true};
const StepActor kCpu0{.device = false, .cpu = 0};
const StepActor kCpu1{.device = false, .cpu = 1};

}  // namespace

TEST_CASE("footprint table: equal footprints share an id, different ones do not", "[scenarios][explore]") {
  FootprintTable t;
  CHECK(t.intern(Footprint{}) == 0);
  const FootprintId a = t.intern(footprint(std::vector<Event>{pte_store(0x5000)}, kCpu0));
  const FootprintId b = t.intern(footprint(std::vector<Event>{pte_store(0x5000)}, kCpu0));
  const FootprintId c = t.intern(footprint(std::vector<Event>{pte_store(0x6000)}, kCpu0));
  CHECK(a == b);
  CHECK(a != c);
  CHECK(a != 0);
  CHECK(t.size() == 3);
  CHECK(t.at(c).touches.size() == footprint(std::vector<Event>{pte_store(0x6000)}, kCpu0).touches.size());
  CHECK(t.at(c).touches.front().lo != t.at(a).touches.front().lo);
}

TEST_CASE("footprint table: memoized dependency is dependent() in both orders", "[scenarios][explore]") {
  const std::vector<Footprint> fps{
      Footprint{},
      footprint(std::vector<Event>{pte_store(0x5000)}, kCpu0),
      footprint(std::vector<Event>{hw_ad_update(0x9000)}, kCpu1),
      footprint(std::vector<Event>{device_read(0x5000, 100)}, kDevice),
      footprint(std::vector<Event>{device_read(0x7000, 101)}, kDevice),
      footprint(std::vector<Event>{}, kCpu1),
      footprint_of_everything(),
  };
  FootprintTable t;
  std::vector<FootprintId> ids;
  for (const Footprint& f : fps) ids.push_back(t.intern(f));
  bool some_dependent = false, some_independent = false;
  // Ask twice: the second answers come from the memo.
  for (int round = 0; round < 2; ++round)
    for (size_t i = 0; i < fps.size(); ++i)
      for (size_t j = 0; j < fps.size(); ++j) {
        const bool want = dependent(fps[i], fps[j]);
        CHECK(t.dependent(ids[i], ids[j]) == want);
        (want ? some_dependent : some_independent) = true;
      }
  CHECK(some_dependent);
  CHECK(some_independent);
}
