#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job: install what is missing, build tlbsim if needed, and run the bundled
# scenarios.json under the old and fixed policies (arguments go to `tlbsim run`).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/deps.sh"
build="$root/build"
[ -f "$build/build.ninja" ] || cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target tlbsim >/dev/null
cd "$root"
exec "$build/src/cli/tlbsim" run "$@"
