// SPDX-License-Identifier: MIT
// model/types.h: the address types the kernel layer's flush and notifier calls pass.
#include <catch2/catch.hpp>

#include <type_traits>
#include <unordered_map>
#include <unordered_set>

#include "model/types.h"

using namespace tlbsim;

TEST_CASE("VaRange::all() is the kernel's (0, TLB_FLUSH_ALL) and nothing else is", "[model][types]") {
  CHECK(VaRange::all().is_all());
  CHECK(VaRange::all().lo() == 0);
  CHECK(VaRange::all().hi() == ~uint64_t{0});
  CHECK_FALSE(VaRange(uint64_t{0}, kTaskSize).is_all());
  CHECK_FALSE(VaRange(kPageSize, kFlushAll).is_all());
}

TEST_CASE("VaRange::page_of() is the page holding the address, whatever its offset", "[model][types]") {
  const VaRange r = VaRange::page_of(Vaddr{0x7f0000001234});
  CHECK(r.lo() == 0x7f0000001000);
  CHECK(r.hi() == 0x7f0000002000);
  CHECK(VaRange::page_of(Vaddr{0x7f0000001000}) == r);
  CHECK(VaRange::page_of(Vaddr{0x7f0000001fff}) == r);
}

TEST_CASE("VaRange keeps the pair as given: an empty or reversed range is the callee's to handle", "[model][types]") {
  const VaRange r(uint64_t{0x3000}, uint64_t{0x2000});
  CHECK(r.start == Vaddr{0x3000});
  CHECK(r.end == Vaddr{0x2000});
}

TEST_CASE("an address is not a range, and neither converts from a bare integer", "[model][types]") {
  // A (start, len) pair cannot reach a (start, end) parameter by accident: the range is spelt out.
  STATIC_REQUIRE_FALSE(std::is_convertible_v<uint64_t, Vaddr>);
  STATIC_REQUIRE_FALSE(std::is_convertible_v<uint64_t, VaRange>);
  STATIC_REQUIRE_FALSE(std::is_convertible_v<Vaddr, VaRange>);
  STATIC_REQUIRE_FALSE(std::is_convertible_v<Vaddr, uint64_t>);
}

TEST_CASE("every strong id hashes by its value, derived ones included", "[model][types]") {
  std::unordered_set<Pfn> frames{Pfn{7}, Pfn{7}, Pfn{9}};
  CHECK(frames.size() == 2);
  CHECK(frames.count(Pfn{9}) == 1);
  std::unordered_map<MmId, int> mms{{MmId{1}, 10}, {kInitMm, 20}};
  CHECK(mms.at(kInitMm) == 20);
  CHECK(std::hash<Vaddr>{}(Vaddr{0x1000}) == std::hash<uint64_t>{}(0x1000));
  CHECK(std::hash<Pasid>{}(Pasid{5}) == std::hash<uint32_t>{}(5));
}
