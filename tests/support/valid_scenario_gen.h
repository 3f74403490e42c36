// SPDX-License-Identifier: MIT
#pragma once
/// A seeded generator of wide valid scenarios, for soak-testing the model (issue 16: the model
/// never dies on a scenario that validates; tests/scenarios/valid_soak_test.cpp).
///
/// Unlike the small generator (scenario_gen.h), which must stay small enough to enumerate every
/// schedule, this one goes wide: 1 to 6 threads of 1 to 4 ops each (CPU, device and kernel
/// threads, several on one CPU when CPUs are few), 1 to 3 mms with 1 to 4 VMAs each (anonymous
/// and file, private and shared, read-only, PFNMAP, 1 to a few hundred pages, some adjacent so
/// ops span two), files mapped by several mms, a 2 MiB-aligned 512-page file mapping for
/// khugepaged, 0 to 3 devices, 1 to 64 CPUs, caches of 1 to 4096 entries, walk caches, ATS and
/// BTM on and off, round-robin or random schedules. The ops are drawn to hit the same pages:
/// most ranges start in one hot window, and kernel threads (reclaim, migrate, truncate,
/// khugepaged) target the pages the CPU and device threads use.
///
/// Seed `n` always gives thread 0 the op `ops()[n % ops().size()]` and the first device the
/// decoding `decodings()[(n / ops().size()) % decodings().size()]` (and its arch), so
/// consecutive seeds rotate through every op and decoding; everything else comes from
/// SplitMix64 seeded by the seed. Every scenario it generates is meant to pass the loader.
#include <cstdint>
#include <string>

namespace tlbsim::test {

/// The scenario file text (one scenario, named "valid-SEED") for `seed`; a function of the seed
/// only.
std::string generate_valid_scenario(uint64_t seed);

}  // namespace tlbsim::test
