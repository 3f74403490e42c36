// SPDX-License-Identifier: MIT
#pragma once
/// A seeded generator of small valid scenarios, for checking the explorer against plain
/// enumeration of every schedule (tests/scenarios/explore_differential_test.cpp).
///
/// A scenario has one mm with 1 to 4 pages of anonymous or file memory (one 512-page, 2 MiB
/// aligned file mapping when khugepaged needs one), at most one more small VMA, and 2 or 3
/// threads of 1 or 2 ops each: CPU threads, device threads (each with its own device, bound to
/// the mm) and kernel threads. Seed `n` always gives one thread the op `ops()[n % ops().size()]`
/// and its devices the decoding `decodings()[(n / ops().size()) % decodings().size()]` (and the
/// arch that decoding needs), so consecutive seeds rotate through every op and decoding; the
/// rest (companions, half of them DMA when the rotated op is not, pages, file or anonymous,
/// populate, walk caches, ATS, BTM and the devices' other hardware parameters) is drawn from
/// SplitMix64 seeded by the seed and the attempt number. On x86 a scenario may have a vmalloc area (always when an op frees it, else a
/// quarter of those with devices), and a DMA op then goes to it half the time. Exceptions to
/// the rotation: the kernel-half ops (vfree, ioremap_huge) become reclaim on arm64 and in a
/// second thread; ioremap_huge always follows a vfree in its thread, and brings a thread with
/// the kernel_pgtable_work worker when no other has it; a second worker becomes reclaim.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "scenarios/spec.h"
#include "support/enumerate.h"

namespace tlbsim::test {

/// The scenario file text (one scenario, named "gen-SEED-ATTEMPT") for `seed`. `attempt` picks
/// another draw of everything but the rotated op and decoding, for when an attempt is rejected.
/// A function of its arguments only.
std::string generate_scenario(uint64_t seed, unsigned attempt = 0);

struct GenStats {
  uint64_t seeds = 0;            ///< seeds asked for
  uint64_t generated = 0;        ///< scenario texts generated (every attempt)
  uint64_t loader_rejected = 0;  ///< attempts the loader rejected
  uint64_t too_large = 0;        ///< attempts whose enumeration under some policy exceeded the cap
  uint64_t gave_up = 0;          ///< seeds with no accepted attempt
  uint64_t schedules = 0;        ///< schedules enumerated, rejected attempts included
};

struct GeneratedScenario {
  uint64_t seed = 0;
  unsigned attempt = 0;
  std::string text;
  scenarios::ScenarioFile file;
  std::map<std::string, Enumerated> enumerated;  ///< by policy: every schedule, not capped
};

/// The first attempt of `seed` that the loader accepts and that has at most `max_schedules`
/// schedules under every policy in `policies` (with each policy's full enumeration), trying at
/// most `max_attempts` attempts; nullopt if none does.
std::optional<GeneratedScenario> pick_scenario(uint64_t seed, const std::vector<std::string>& policies, uint64_t max_schedules,
                                               GenStats& stats, unsigned max_attempts = 8);

}  // namespace tlbsim::test
