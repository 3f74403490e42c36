#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole test suite: install what is missing, build everything with warnings as errors, and
# run every test not labelled slow (ctest -L slow runs the rest), then the main job's report.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/deps.sh"
build="$root/build-test"
[ -f "$build/build.ninja" ] || cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTLBSIM_WERROR=ON >/dev/null
cmake --build "$build"
cd "$build"
ctest -LE slow --output-on-failure -j "$(nproc)"
