// SPDX-License-Identifier: MIT
// VMA overlap and coverage as the validator checks them: the pairs reported, ranges mapped
// across adjacent VMAs, and a generated scenario of 200,000 VMAs validated in O(n log n).
#include <catch2/catch.hpp>

#include <string>

#include "model/types.h"
#include "scenarios/errors.h"
#include "scenarios/loader.h"
#include "scenarios/vma_layout.h"

namespace tlbsim::scenarios {
namespace {

std::vector<VmaSpec> vmas(std::initializer_list<std::pair<uint64_t, uint64_t>> ranges) {
  std::vector<VmaSpec> out;
  for (auto [page, pages] : ranges) out.push_back(VmaSpec{.start = page * kPageSize, .pages = pages});
  return out;
}

using Pairs = std::vector<std::pair<size_t, size_t>>;

TEST_CASE("overlapping VMAs are paired later-with-earlier in file order, adjacent ones are not", "[scenarios][loader]") {
  CHECK(VmaLayout(vmas({{0, 4}, {4, 4}, {8, 1}})).overlaps().empty());
  CHECK(VmaLayout(vmas({{0, 4}, {2, 4}})).overlaps() == Pairs{{1, 0}});
  // The later VMA in the file starts lower: still reported at the later one.
  CHECK(VmaLayout(vmas({{2, 4}, {0, 4}})).overlaps() == Pairs{{1, 0}});
  // Same start: the earlier in the file is the one named.
  CHECK(VmaLayout(vmas({{5, 1}, {5, 1}})).overlaps() == Pairs{{1, 0}});
  // A VMA containing two that do not touch each other: each of them is paired with it.
  CHECK(VmaLayout(vmas({{0, 100}, {10, 1}, {30, 1}})).overlaps() == Pairs{{1, 0}, {2, 0}});
  CHECK(VmaLayout(vmas({{10, 1}, {30, 1}, {0, 100}})).overlaps() == Pairs{{2, 0}, {2, 1}});
  // A VMA wrapping past 2^64 takes no part.
  CHECK(VmaLayout({VmaSpec{.start = ~uint64_t{0} - kPageSize + 1, .pages = 2}, VmaSpec{.start = 0, .pages = 1}}).overlaps().empty());
}

TEST_CASE("a range is mapped when adjacent or overlapping VMAs cover every page of it", "[scenarios][loader]") {
  const VmaLayout l(vmas({{20, 4}, {10, 5}, {15, 5}, {12, 1}}));  // pages 10..23, then nothing
  CHECK(l.covers(10 * kPageSize, 14));
  CHECK(l.covers(12 * kPageSize, 1));
  CHECK(l.covers(23 * kPageSize, 1));
  CHECK_FALSE(l.covers(9 * kPageSize, 2));
  CHECK_FALSE(l.covers(23 * kPageSize, 2));
  CHECK_FALSE(l.covers(24 * kPageSize, 1));
  CHECK_FALSE(l.covers(0, 1));
  CHECK_FALSE(VmaLayout({}).covers(0, 1));
}

/// A scenario whose mm "proc" has `n` one-page VMAs two pages apart, in a shuffled order,
/// plus `extra` (VMA objects' text) at the end of the list; a thread reads the first and last.
std::string many_vmas(size_t n, const std::string& extra) {
  std::string text = "{\"scenarios\": [{\"name\": \"big\", \"source\": \"generated\", \"mms\": [{\"name\": \"proc\", \"vmas\": [\n";
  auto hex = [](uint64_t v) {
    static const char* d = "0123456789abcdef";
    std::string s;
    do s.insert(s.begin(), d[v & 15]);
    while (v >>= 4);
    return "\"0x" + s + "\"";
  };
  for (size_t i = 0; i < n; ++i) {
    const uint64_t slot = (i * 7919) % n;  // 7919 is prime and does not divide n: a permutation
    text += "{\"start\": " + hex(0x40000000 + slot * 2 * kPageSize) + ", \"pages\": 1},\n";
  }
  text += extra + "]}],\n \"threads\": [{\"name\": \"T1\", \"mm\": \"proc\", \"ops\": [{\"op\": \"read\", \"addr\": \"0x40000000\"}, ";
  text += "{\"op\": \"read\", \"addr\": " + hex(0x40000000 + (n - 1) * 2 * kPageSize) + "}]}]}]}\n";
  return text;
}

TEST_CASE("a generated scenario with 200,000 VMAs validates, and the one overlap in it is reported", "[scenarios][loader]") {
  constexpr size_t kVmas = 200000;
  const ScenarioFile f = parse_scenario_text(many_vmas(kVmas, "{\"start\": \"0x30000000\", \"pages\": 1}"), "big.json");
  REQUIRE(f.scenarios.size() == 1);
  CHECK(f.scenarios[0].mms.at(0).vmas.size() == kVmas + 1);
  // The last VMA covers slot 3's page and the gap after it: it overlaps the VMA at slot 3 only.
  try {
    parse_scenario_text(many_vmas(kVmas, "{\"start\": \"0x40006000\", \"pages\": 2}"), "big.json");
    FAIL("overlapping VMAs validated");
  } catch (const ScenarioError& e) {
    REQUIRE(e.diagnostics().size() == 1);
    const Diagnostic& d = e.diagnostics()[0];
    CHECK(d.pointer == "/scenarios/0/mms/0/vmas/200000");
    // Slot 3 is VMA i with i * 7919 = 3 (mod 200000).
    size_t i = 0;
    while ((i * 7919) % kVmas != 3) ++i;
    CHECK(d.message == "VMA 0x40006000+2 pages overlaps /scenarios/0/mms/0/vmas/" + std::to_string(i));
    CHECK(d.line == kVmas + 2);
  }
}

}  // namespace
}  // namespace tlbsim::scenarios
