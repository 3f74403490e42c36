#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole test suite: install what is missing, build everything with warnings as errors, and
# run every test not labelled slow (ctest -L slow runs the rest; tests/cli/cli_test.cpp runs the
# bundled scenarios as the main job does), then clang-format and clang-tidy (scripts/lint.sh).
# The scale-out test starts a single-node Slurm cluster (tests/scripts/slurm_local.sh).
# Then the same tests again built with AddressSanitizer and UndefinedBehaviorSanitizer (in
# build-asan, tests and CLI only): a memory error, a leak or undefined behaviour fails the run.
# That pass leaves out the tests labelled heavy (checks over every bundled file, minutes each under
# the sanitizers) and runs a quarter of each generated sample; the normal pass runs them whole.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/deps.sh"
# Slurm for the scale-out test; where it cannot be installed or started, that test says SKIP.
"$root/scripts/deps.sh" slurm || echo "tlbsim: Slurm could not be installed; scripts.slurm_shards will be skipped" >&2
build="$root/build-test"
# -g1 (line tables only) instead of RelWithDebInfo's -g: the code is the same (GCC's debug level
# does not change code generation), backtraces still give file and line, and a test file compiled
# in a quarter less CPU time (docs/fuzzing.md, "Test suite time").
[ -f "$build/build.ninja" ] || cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DTLBSIM_WERROR=ON >/dev/null
cmake --build "$build"
(cd "$build" && ctest -LE slow --output-on-failure -j "$(nproc)")
# Style and static checks (.clang-format, .clang-tidy) on the files that build compiles.
"$root/scripts/lint.sh" "$build"

asan="$root/build-asan"
# -O1 keeps the sanitizer build quick to compile while the tests still run at a useful speed; -g1
# gives the sanitizers' reports file and line, and objects less than half the size for the link.
[ -f "$asan/build.ninja" ] || cmake -S "$root" -B "$asan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DTLBSIM_WERROR=ON -DTLBSIM_SANITIZE=ON -DTLBSIM_BUILD_BENCH=OFF >/dev/null
cmake --build "$asan" --target tlbsim_tests tlbsim
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
# Tests labelled heavy (tests/CMakeLists.txt) run in the normal pass only, and the sample tests
# check a quarter of their sample here (tests/support/sample_size.h).
(cd "$asan" && ctest -LE "slow|heavy" --output-on-failure -j "$(nproc)")
