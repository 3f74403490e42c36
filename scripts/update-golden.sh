#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Rewrite tests/golden/*.txt from the current simulated paths, then show what changed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-test"
[ -f "$build/build.ninja" ] || cmake -S "$root" -B "$build" -G Ninja -DTLBSIM_WERROR=ON >/dev/null
cmake --build "$build" --target tlbsim_tests
TLBSIM_UPDATE_GOLDEN=1 "$build/tests/tlbsim_tests" "[golden]" >/dev/null
git -C "$root" diff --stat -- tests/golden
