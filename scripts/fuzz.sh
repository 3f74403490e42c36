#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/fuzz.sh [loader|run|import] [seconds] [libFuzzer flags...]
# Builds the libFuzzer targets with clang (ASan+UBSan) in build-fuzz, seeds a corpus with one
# scenario per file from scenarios.json and tests/scenarios/**/*.json (import: the recorded
# traces of tests/trace/recorded/, cut into 4 KiB pieces at line ends), and fuzzes for `seconds`
# (default 60). The corpus grows in build-fuzz/corpus-<target>; crashes, leaks and timeouts are
# written to build-fuzz/artifacts/. Extra flags go to libFuzzer, e.g. -jobs=2 -workers=2.
# See docs/fuzzing.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${1:-loader}"
seconds="${2:-60}"
shift $(( $# < 2 ? $# : 2 ))
case "$target" in loader|run|import) ;; *) echo "usage: scripts/fuzz.sh [loader|run|import] [seconds] [libFuzzer flags...]" >&2; exit 2 ;; esac
"$root/scripts/deps.sh" fuzz
build="$root/build-fuzz"
[ -f "$build/build.ninja" ] || CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTLBSIM_FUZZ=ON -DTLBSIM_BUILD_TESTS=OFF -DTLBSIM_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" --target "fuzz_$target" fuzz_seed_split
rm -rf "$build/seeds"
if [ "$target" = import ]; then
  mkdir -p "$build/seeds"
  for t in "$root"/tests/trace/recorded/*.strace; do
    awk -v out="$build/seeds/$(basename "$t")" '{ if (n + length($0) > 4000) { k++; n = 0 } print > (out "." k); n += length($0) + 1 }' "$t"
  done
  dict=()
else
  mapfile -t inputs < <(find "$root/tests/scenarios" -name '*.json' ! -name expected.json | sort)
  "$build/fuzz/fuzz_seed_split" "$build/seeds" "$root/scenarios.json" "${inputs[@]}"
  dict=(-dict="$root/fuzz/scenario.dict")
fi
mkdir -p "$build/corpus-$target" "$build/artifacts"
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
cd "$build"
exec "$build/fuzz/fuzz_$target" "$build/corpus-$target" "$build/seeds" \
  "${dict[@]}" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
  -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$build/artifacts/$target-" "$@"
