// SPDX-License-Identifier: MIT
#pragma once
#include <cstdint>

namespace tlbsim::test {

/// Whether this test binary is the sanitizer build (TLBSIM_SANITIZE, scripts/test.sh's second
/// pass), which runs the model several times slower.
#ifdef TLBSIM_SANITIZED_BUILD
inline constexpr bool kSanitizedBuild = true;
#else
inline constexpr bool kSanitizedBuild = false;
#endif

/// How many generated scenarios a sample test checks: `n` in the normal build, a quarter of them
/// (rounded up) in the sanitizer build. The soundness comparison is the normal build's, which runs
/// the whole sample; the sanitizer pass looks for memory errors and undefined behaviour, which
/// show on any scenario that reaches the code. Tests whose name promises "every" file or scenario
/// are not cut: they carry the tag [heavy] and run in the normal build only (tests/CMakeLists.txt).
constexpr uint64_t sample_size(uint64_t n) { return kSanitizedBuild ? (n + 3) / 4 : n; }

}  // namespace tlbsim::test
